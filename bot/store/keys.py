"""Redis key names: the one place where they are spelled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "bot:"

    def identity(self, lookup_hash: str) -> str:
        return f"{self.prefix}id:{lookup_hash}"

    def identities_of(self, user: str) -> str:
        """The lookup hashes linked to a user, so deletion needs no key scan."""
        return f"{self.prefix}ids:{user}"

    def contact(self, user: str) -> str:
        return f"{self.prefix}contact:{user}"

    def session(self, user: str) -> str:
        return f"{self.prefix}session:{user}"

    def seen(self, key: str) -> str:
        return f"{self.prefix}seen:{key}"

    def counter(self, key: str) -> str:
        return f"{self.prefix}count:{key}"

    def case(self, case_id: str) -> str:
        return f"{self.prefix}case:{case_id}"

    def cases(self) -> str:
        """Sorted set of case ids by opening time (the queue index)."""
        return f"{self.prefix}cases"

    def user_cases(self, user: str) -> str:
        return f"{self.prefix}usercases:{user}"

    def case_messages(self, case_id: str) -> str:
        return f"{self.prefix}casemsgs:{case_id}"

    def consents(self, user: str) -> str:
        return f"{self.prefix}consents:{user}"

    def stats(self) -> str:
        """Sorted set of closed-case counts by closing time (no ids, no words)."""
        return f"{self.prefix}stats"

    def audit(self) -> str:
        return f"{self.prefix}audit"

    def inbox(self, partition: int) -> str:
        """Stream of inbound messages of one partition (consumer group: workers)."""
        return f"{self.prefix}inbox:{partition}"

    def outbox(self, partition: int) -> str:
        """Stream of replies of one partition (consumer group: senders)."""
        return f"{self.prefix}outbox:{partition}"

    def outbox_meta(self, entry_id: str) -> str:
        return f"{self.prefix}outbox:meta:{entry_id}"

    def dead_letters(self) -> str:
        return f"{self.prefix}deadletters"

    def lease(self, name: str) -> str:
        return f"{self.prefix}lease:{name}"

    def operator(self, username: str) -> str:
        return f"{self.prefix}operator:{username}"

    def operators(self) -> str:
        return f"{self.prefix}operators"
