"""The conversation service: one inbound message in, replies out, state stored.

It turns a channel address into an opaque user (by keyed hash), runs the engine on the
stored session, and commits the new session together with what the events ask for
(cases, consented case messages, consent records, audit) in one store transaction.
If the store cannot be reached, the person still gets the emergency numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from dataclasses import fields as dataclass_fields

from bot.cases import events as ev
from bot.engine.engine import Engine
from bot.engine.types import Button, Event, Inbound, Outbound, Result, Session
from bot.risk.codes import severity
from bot.store.crypto import Crypto
from bot.store.port import Store, StoreUnavailable
from bot.store.records import (
    IN_SERVICE,
    AuditEntry,
    Case,
    CaseMessage,
    Commit,
    Consent,
    InboxItem,
    OutboxItem,
    new_id,
    partition_of,
)

log = logging.getLogger(__name__)

UrgentHook = Callable[[Case], None]
PURGE_EVERY = 3600.0  # seconds between sweeps of expired rows (SQLite; Redis expires keys)


def case_summary(case: Case | None) -> dict | None:
    """What the conversation may know about the person's open case: no words."""
    if case is None or case.state != "open":
        return None
    return {"open": True, "level": case.level, "scope": case.consent_scope}


class ConversationService:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        crypto: Crypto,
        clock: Callable[[], float] = time.time,
        on_urgent: Iterable[UrgentHook] = (),
    ) -> None:
        self.engine = engine
        self.store = store
        self.crypto = crypto
        self.clock = clock
        self.on_urgent = list(on_urgent)
        self._last_purge = 0.0

    def user_for(self, channel: str, address: str, create: bool = True) -> str | None:
        hashes = self.crypto.lookup_hashes(f"{channel}:{address}")
        return self.store.resolve_user(hashes, self.clock(), create=create)

    def partition(self, channel: str, address: str) -> int:
        return partition_of(self.crypto.lookup_hashes(f"{channel}:{address}")[0])

    def handle(self, channel: str, address: str, inbound: Inbound) -> list[Outbound]:
        """Synchronous path (terminal): the replies are returned, not queued."""
        try:
            return self._run(channel, address, inbound, None)
        except StoreUnavailable:
            log.error("store unavailable; answered with the static emergency message")
            return self.engine.emergency(inbound.lang_hint)

    def process(self, item: InboxItem) -> list[Outbound]:
        """Worker path: the replies go to the outbox in the same commit that
        acknowledges the inbox item, so a crash at any point repeats or loses nothing."""
        return self._run(item.channel, item.address, inbound_from_dict(item.inbound), item)

    def _run(
        self, channel: str, address: str, inbound: Inbound, item: InboxItem | None
    ) -> list[Outbound]:
        now = self.clock()
        if now - self._last_purge > PURGE_EVERY:
            self._last_purge = now
            self.store.purge_expired(now)
        user = self.user_for(channel, address)
        assert user is not None
        session = Session.from_dict(self.store.load_session(user, now))
        case = self.store.open_case_of(user, now)
        summary = case_summary(case)
        if summary:
            session.data["case"] = summary
        else:
            session.data.pop("case", None)
        result = self.engine.handle(session, inbound)
        queued = self._queued(channel, address, result.messages, item, now)
        if any(e.name == ev.SESSION_DELETE for e in result.events):
            deletion = self.store.delete_user(user, now)
            audit = []
            if deletion.kept_safety_record:
                audit = [AuditEntry(now, "person", "person.delete", deletion.case_id)]
            self.store.commit(Commit(user, audit=audit, outbox=queued, inbox_done=item), now)
            return result.messages
        self.store.put_contact(user, channel, address, now)
        change, alerts = self._changes(user, channel, case, result, now)
        change.outbox, change.inbox_done = queued, item
        self.store.commit(change, now)
        for opened in alerts:
            for hook in self.on_urgent:
                try:
                    hook(opened)
                except Exception:  # an alert channel failing must not lose the reply
                    log.exception("urgent alert hook failed")
        return result.messages

    def _queued(
        self,
        channel: str,
        address: str,
        messages: list[Outbound],
        item: InboxItem | None,
        now: float,
    ) -> list[OutboxItem]:
        if item is None:
            return []
        return [
            OutboxItem("", item.partition, channel, address, outbound_to_dict(m), now)
            for m in messages
        ]

    # ---------------------------------------------------------------- events
    def _changes(
        self, user: str, channel: str, case: Case | None, result: Result, now: float
    ) -> tuple[Commit, list[Case]]:
        stored = result.session.to_dict()
        stored["data"].pop("case", None)  # derived from the store on every turn
        change = Commit(user, session=stored)
        alerts: list[Case] = []
        for event in result.events:
            case = self._apply(event, user, channel, case, result.session, change, alerts, now)
        if case is not None and case not in change.cases:
            if any(
                e.name in (ev.CASE_OPEN, ev.CASE_ASSESSED, ev.CHOICE, ev.CONSENT)
                for e in result.events
            ):
                change.cases.append(case)
        return change, alerts

    def _apply(
        self,
        event: Event,
        user: str,
        channel: str,
        case: Case | None,
        session: Session,
        change: Commit,
        alerts: list[Case],
        now: float,
    ) -> Case | None:
        data = event.data
        if event.name == ev.CASE_OPEN:
            was_urgent = case is not None and case.level == "urgent"
            if case is None:
                case = Case(
                    id=new_id("c"),
                    user=user,
                    level=data["level"],
                    indicators=sorted(data.get("indicators") or []),
                    triggers=dict(data.get("triggers") or {}),
                    lang=data.get("lang") or session.lang or "es",
                    channel=channel,
                    region=data.get("region"),
                    opened_at=now,
                    updated_at=now,
                    expires_at=now,
                )
                change.audit.append(AuditEntry(now, "bot", "case.open", case.id, case.level))
            else:
                self._merge(case, data, now)
            case.requested_human = case.requested_human or bool(data.get("requested_human"))
            if data.get("consent") == IN_SERVICE:
                case.consent_scope, case.consent_at = IN_SERVICE, now
                change.consents.append(
                    Consent(user, case.id, IN_SERVICE, True, now, data.get("how") or "asked")
                )
                if data.get("text"):
                    change.case_messages.append(CaseMessage(case.id, now, "in", data["text"]))
            if case.level == "urgent" and not was_urgent:
                alerts.append(case)
                change.audit.append(AuditEntry(now, "bot", "alert.urgent", case.id))
            change.cases.append(case)
        elif event.name == ev.CASE_ASSESSED and case is not None:
            before = case.level
            self._merge(case, data, now)
            if case.level == "urgent" and before != "urgent":
                alerts.append(case)
        elif event.name == ev.CASE_MESSAGE and case is not None:
            if case.consent_scope == IN_SERVICE:  # checked here too: never trust the caller
                change.case_messages.append(CaseMessage(case.id, now, "in", data["text"]))
                case.updated_at = now
                if case not in change.cases:
                    change.cases.append(case)
        elif event.name == ev.CONSENT:
            detail = ""
            if data.get("level"):
                detail = f"level={data['level']} codes={','.join(data.get('indicators') or [])}"
            change.consents.append(
                Consent(
                    user,
                    case.id if case else None,
                    data.get("scope", IN_SERVICE),
                    bool(data.get("granted")),
                    now,
                    data.get("how", "asked"),
                    detail,
                )
            )
            if (
                case is not None
                and not data.get("granted")
                and data.get("scope", IN_SERVICE) == IN_SERVICE
            ):
                case.consent_scope = None
                case.choices.append({"choice": f"consent_{data.get('how', 'refused')}", "at": now})
        elif event.name == ev.CHOICE and case is not None:
            case.choices.append({"choice": data.get("choice"), "at": now})
        return case

    @staticmethod
    def _merge(case: Case, data: dict, now: float) -> None:
        level = data.get("level") or case.level
        if level != "none" and severity(level) < severity(case.level):  # more severe
            case.level = level
        case.indicators = sorted(set(case.indicators) | set(data.get("indicators") or []))
        for code, words in (data.get("triggers") or {}).items():
            merged = case.triggers.setdefault(code, [])
            merged.extend(w for w in words if w not in merged)
        case.updated_at = now


def inbound_to_dict(inbound: Inbound) -> dict:
    return {k: v for k, v in asdict(inbound).items() if v not in (None, "")}


def inbound_from_dict(raw: dict) -> Inbound:
    fields = {f.name for f in dataclass_fields(Inbound)}
    return Inbound(**{k: v for k, v in raw.items() if k in fields})


def outbound_to_dict(message: Outbound, kind: str = "bot") -> dict:
    return {
        "text": message.text,
        "buttons": [[b.label, b.payload] for b in message.buttons],
        "request_location": message.request_location,
        "kind": kind,
    }


def outbound_from_dict(raw: dict) -> Outbound:
    return Outbound(
        raw["text"],
        tuple(Button(label, payload) for label, payload in raw.get("buttons") or []),
        bool(raw.get("request_location")),
    )
