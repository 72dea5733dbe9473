"""What the conversation remembers about risk: codes, never words.

The session keeps the indicator codes seen so far in this conversation, so that risk
adds up over turns ("tengo 15 años", then "no me deja salir" is a child at risk), and
whether a caseworker was offered, refused, or is waiting for an answer. It lives in the
session, which the store encrypts and expires; the only text it ever holds is the
message(s) waiting for the person's consent, dropped once they answer or move on.
"""

from __future__ import annotations

from typing import Any

from bot.engine.types import Session
from bot.risk.codes import (
    ALL_CODES,
    HIGH,
    MINOR,
    NONE,
    NORMAL,
    RISK_CODES,
    UNACCOMPANIED_MINOR,
    level_for,
    severity,
)

IN_SERVICE = "in_service"
MAX_HELD = 3  # messages held while consent is pending; the triggering one first


class RiskState:
    """A typed view of `session.data["risk"]` and `session.data["case"]`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.data: dict[str, Any] = session.data.setdefault("risk", {})

    # ------------------------------------------------------------------ codes
    @property
    def seen(self) -> set[str]:
        return {c for c in self.data.get("seen") or [] if c in ALL_CODES}

    def add(
        self,
        codes: list[str] | tuple[str, ...],
        latent: tuple[str, ...] = (),
        conditional: dict[str, tuple[str, ...]] | None = None,
    ) -> set[str]:
        """Add codes; return the ones that are new in this conversation.

        `latent` codes (a child mentioned in a message with no risk signal) count in the
        conversation: "my daughter is 16" and, later, "a man took her" is a child at
        risk (presumption of minority). Alone they stay `normal`: information, no case.
        `conditional` codes count once what they require has been seen, in any message:
        "im 16", later "i am alone here", is an unaccompanied child.
        """
        waiting = dict(self.data.get("conditional") or {})
        waiting.update({c: list(req) for c, req in (conditional or {}).items() if c in ALL_CODES})
        known = self.seen | set(codes)  # the writer's own words, not a child mentioned now
        met = {c for c, req in waiting.items() if set(req) <= known}
        codes = (*codes, *latent, *sorted(met))
        left = {c: req for c, req in waiting.items() if c not in met}
        if left:
            self.data["conditional"] = left  # codes only: e.g. alone, waiting for an age
        else:
            self.data.pop("conditional", None)
        new = set(codes) - self.seen
        if new:
            self.data["seen"] = sorted(self.seen | new)
        return new

    @property
    def level(self) -> str:
        """The level over every code seen so far, by DESIGN.md's rules, with one
        reading from DOMAIN.md "Children": a child with no risk signal (no trafficking
        or urgency code: only their age, no papers, a request for help) gets child
        information and is not escalated, so that level is `normal`."""
        seen = self.seen
        if MINOR in seen and not seen & RISK_CODES:
            return NORMAL
        return level_for(seen)

    @property
    def minor(self) -> bool:
        return bool(self.seen & {MINOR, UNACCOMPANIED_MINOR})

    def assessment(self, triggers: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """The cumulative assessment, with this turn's triggering words."""
        return {
            "level": self.level,
            "indicators": sorted(self.seen),
            "triggers": dict(triggers or {}),
        }

    # ------------------------------------------------------------- the writer
    @property
    def helper(self) -> bool:
        """The writer speaks for someone else (sticky for the conversation)."""
        return bool(self.data.get("helper"))

    def mark_helper(self) -> None:
        self.data["helper"] = True

    # --------------------------------------------------------- consent offer
    @property
    def pending(self) -> dict[str, Any] | None:
        return self.data.get("pending")

    def hold(self, text: str | None, triggers: dict[str, list[str]] | None = None) -> None:
        """Ask consent: hold the message(s) until the answer, remember the offer."""
        held = list((self.pending or {}).get("texts") or [])
        if text:
            held = [*held, text][:MAX_HELD]
        self.data["pending"] = {
            "texts": held,
            "assessment": self.assessment(triggers),
            "reasked": bool((self.pending or {}).get("reasked")),
        }
        self.data["offered"] = self.level

    def mark_reasked(self) -> None:
        if self.pending is not None:
            self.pending["reasked"] = True

    def drop_pending(self) -> dict[str, Any]:
        return self.data.pop("pending", None) or {}

    def may_offer(self) -> bool:
        """A caseworker is offered once per level: again only when the level rises."""
        if self.level != HIGH:
            return False
        for key in ("offered", "refused"):
            previous = self.data.get(key)
            if previous and severity(previous) <= severity(HIGH):
                return False
        return True

    def refuse(self) -> None:
        self.data["refused"] = self.level if self.level != NONE else HIGH

    # ------------------------------------------------------------------- case
    @property
    def case(self) -> dict[str, Any]:
        """What the conversation may know of the person's open case (no words)."""
        return self.session.data.get("case") or {}

    @property
    def case_open(self) -> bool:
        return bool(self.case.get("open"))

    @property
    def relayed(self) -> bool:
        return self.case_open and self.case.get("scope") == IN_SERVICE
