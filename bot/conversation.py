"""The conversation service: one inbound message in, replies out, state stored.

It turns a channel address into an opaque user (by keyed hash), runs the engine on the
stored session, and commits the new session together with what the events ask for
(cases, consented case messages, consent records, audit) in one store transaction.
If the store cannot be reached, the person still gets the emergency numbers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields

from bot.cases import events as ev
from bot.channels.delivery import CLEAR
from bot.engine.engine import Engine
from bot.engine.types import Button, Event, Inbound, Outbound, Result, Session
from bot.risk.codes import severity
from bot.store.crypto import Crypto
from bot.store.port import Store, StoreUnavailable
from bot.store.records import (
    IN_SERVICE,
    URGENT_PRIORITY,
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
EventHook = Callable[[list[Event]], None]
MediaFetch = Callable[[str, str, "str | None"], "tuple[str, bytes] | None"]  # channel, ref, type
# Session data: the person's message numbers in the chat, to clear it on a quick exit.
REFS = "_refs"
CLEARABLE = 48 * 3600.0  # Telegram deletes messages younger than 48 hours
MAX_REFS = 100
MAX_CLEAR = 300  # message numbers deleted at most (three deleteMessages calls)
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
        on_events: Iterable[EventHook] = (),
        fetch_media: MediaFetch | None = None,
    ) -> None:
        self.engine = engine
        # A voice note's or photo's bytes from the platform (bot.channels.media), called
        # only for a case's consented messages; None: files are noted, not fetched.
        self.fetch_media = fetch_media
        self.store = store
        self.crypto = crypto
        self.clock = clock
        self.on_urgent = list(on_urgent)
        self.on_events = list(on_events)  # e.g. `chat --events`: codes only, after commit
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

    def process(self, item: InboxItem, fence: tuple[str, str] | None = None) -> list[Outbound]:
        """Worker path: the replies go to the outbox in the same commit that
        acknowledges the inbox item, so a crash at any point repeats or loses nothing.
        `fence`: the commit happens only while the worker still holds the partition."""
        return self._run(item.channel, item.address, inbound_from_dict(item.inbound), item, fence)

    def _run(
        self,
        channel: str,
        address: str,
        inbound: Inbound,
        item: InboxItem | None,
        fence: tuple[str, str] | None = None,
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
        refs = chat_refs(session.data.pop(REFS, None), inbound, now)
        result = self.engine.handle(session, inbound)
        messages = result.messages
        if item is not None and item.inbound.get(ANSWERED_INLINE):
            messages = without_inline(messages, item.inbound[ANSWERED_INLINE])
        queued = self._queued(channel, address, messages, item, now)
        if refs and clears_chat(result.events) and item is not None:
            # Everything in the chat up to this message, both ways; the neutral answer
            # that follows stays (it is queued before, but numbered after, this one).
            clear = {"kind": CLEAR, "refs": to_clear(refs), "text": "", "buttons": []}
            queued.append(OutboxItem("", item.partition, channel, address, clear, now))
        elif refs:
            result.session.data[REFS] = refs
        if any(e.name == ev.SESSION_DELETE for e in result.events):
            deletion = self.store.delete_user(user, now)
            audit = []
            if deletion.kept_safety_record:
                audit = [AuditEntry(now, "person", "person.delete", deletion.case_id)]
            self.store.commit(
                Commit(user, audit=audit, outbox=queued, inbox_done=item, fence=fence), now
            )
            self._tell(result.events)
            return result.messages
        change, alerts = self._changes(user, channel, case, result, now)
        change.contact = (channel, address)
        if alerts or any(e.name == ev.CASE_OPEN and e.data.get("level") == "urgent"
                         for e in result.events):  # fmt: skip
            for queued_item in queued:  # the numbers go before ordinary replies
                queued_item.message["priority"] = URGENT_PRIORITY
        change.outbox, change.inbox_done, change.fence = queued, item, fence
        self.store.commit(change, now)
        for opened in alerts:
            for hook in self.on_urgent:
                try:
                    hook(opened)
                except Exception:  # an alert channel failing must not lose the reply
                    log.exception("urgent alert hook failed")
        self._tell(result.events)
        return result.messages

    def _tell(self, events: list[Event]) -> None:
        for hook in self.on_events:
            try:
                hook(events)
            except Exception:  # an observer failing must not lose the reply
                log.exception("event hook failed")

    def set_aside(self, item: InboxItem, reason: str) -> None:
        """An inbox item that cannot be processed: the person still gets the emergency
        numbers, the item leaves the queue as a metadata-only dead letter."""
        hint = item.inbound.get("lang_hint") if isinstance(item.inbound, dict) else None
        replies = self.engine.emergency(hint if isinstance(hint, str) else None)
        queued = self._queued(item.channel, item.address, replies, item, self.clock())
        self.store.commit(Commit("", outbox=queued, inbox_done=item), self.clock())
        self.store.record_dead_letter(item.channel, item.partition, 0, f"inbox: {reason}",
                                      self.clock())  # fmt: skip

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
        turn = _Turn(user, channel, result.session, Commit(user, session=stored), now, case,
                     fetch_media=self.fetch_media)  # fmt: skip
        for event in result.events:
            handler = EVENT_HANDLERS.get(event.name)
            if handler is not None:
                handler(turn, event.data)
        if turn.case is not None and turn.changed and turn.case not in turn.change.cases:
            turn.change.cases.append(turn.case)
        return turn.change, turn.alerts


@dataclass
class _Turn:
    """What one inbound message changes in the store, built event by event."""

    user: str
    channel: str
    session: Session
    change: Commit
    now: float
    case: Case | None
    alerts: list[Case] = field(default_factory=list)
    changed: bool = False  # the case must be written back
    fetch_media: MediaFetch | None = None

    def audit(self, action: str, detail: str = "") -> None:
        case_id = self.case.id if self.case else None
        self.change.audit.append(AuditEntry(self.now, "bot", action, case_id, detail))

    def choose(self, choice: str, at: float | None = None, **extra: object) -> None:
        if self.case is not None:
            self.case.choices.append({"choice": choice, "at": at or self.now, **extra})
            self.case.updated_at = self.now
            self.changed = True

    def merge(self, data: dict) -> None:
        """Raise the level and add codes; a rise is shown in the case and audited."""
        assert self.case is not None
        before = self.case.level
        level = data.get("level") or before
        if level != "none" and severity(level) < severity(before):  # more severe
            self.case.level = level
            self.choose("level_raised", **{"from": before, "to": level})
            self.audit("case.level", f"{before}->{level}")
        codes = set(self.case.indicators) | set(data.get("indicators") or [])
        self.case.indicators = sorted(codes)
        for code, words in (data.get("triggers") or {}).items():
            merged = self.case.triggers.setdefault(code, [])
            merged.extend(w for w in words if w not in merged)
        self.case.updated_at = self.now
        self.changed = True
        if self.case.level == "urgent" and before != "urgent":
            self.alerts.append(self.case)
            self.audit("alert.urgent")


def _on_case_open(turn: _Turn, data: dict) -> None:
    now = turn.now
    if turn.case is None:
        turn.case = Case(
            id=new_id("c"),
            user=turn.user,
            level=data["level"],
            indicators=sorted(data.get("indicators") or []),
            triggers=dict(data.get("triggers") or {}),
            lang=data.get("lang") or turn.session.lang or "es",
            channel=turn.channel,
            region=data.get("region"),
            opened_at=now,
            updated_at=now,
            expires_at=now,
        )
        turn.audit("case.open", turn.case.level)
        for choice, at in data.get("choices") or []:  # what they chose before the case
            turn.choose(str(choice), float(at))
        if turn.case.level == "urgent":
            turn.alerts.append(turn.case)
            turn.audit("alert.urgent")
    else:
        turn.merge(data)
    case = turn.case
    case.requested_human = case.requested_human or bool(data.get("requested_human"))
    if data.get("consent") == IN_SERVICE:
        case.consent_scope, case.consent_at = IN_SERVICE, now
        turn.change.consents.append(
            Consent(turn.user, case.id, IN_SERVICE, True, now, data.get("how") or "asked")
        )
        for text in data.get("texts") or []:
            turn.change.case_messages.append(CaseMessage(case.id, now, "in", text))
    turn.changed = True


def _on_case_assessed(turn: _Turn, data: dict) -> None:
    if turn.case is not None:
        turn.merge(data)


def _on_case_message(turn: _Turn, data: dict) -> None:
    case = turn.case
    if case is not None and case.consent_scope == IN_SERVICE:  # never trust the caller
        turn.change.case_messages.append(CaseMessage(case.id, turn.now, "in", data["text"]))
        case.updated_at = turn.now
        turn.changed = True


def _on_case_media(turn: _Turn, data: dict) -> None:
    """A voice note or photo for the caseworker: fetched now, stored encrypted with the
    case (and gone with it); if it cannot be fetched, the case says so."""
    case, kind, fetch = turn.case, data.get("type"), turn.fetch_media
    if case is None or case.consent_scope != IN_SERVICE or kind not in ev.MEDIA_KINDS:
        return  # never trust the caller
    got = fetch(turn.channel, str(data.get("ref") or ""), data.get("mime")) if fetch else None
    if got is None:
        text = "(La persona envió un audio o una foto que no se pudo descargar.)"
        message = CaseMessage(case.id, turn.now, "in", text)
    else:
        mime, raw = got
        body = json.dumps({"mime": mime, "data": base64.b64encode(raw).decode()})
        message = CaseMessage(case.id, turn.now, "in", body, kind=kind)
    turn.change.case_messages.append(message)
    case.updated_at = turn.now
    turn.changed = True


def _on_consent(turn: _Turn, data: dict) -> None:
    detail = ""
    if data.get("level"):
        detail = f"level={data['level']} codes={','.join(data.get('indicators') or [])}"
    scope = data.get("scope", IN_SERVICE)
    case = turn.case
    turn.change.consents.append(
        Consent(
            turn.user,
            case.id if case else None,
            scope,
            bool(data.get("granted")),
            turn.now,
            data.get("how", "asked"),
            detail,
        )
    )
    if case is not None:
        turn.changed = True
        if not data.get("granted") and scope == IN_SERVICE:
            case.consent_scope = None
            turn.choose(f"consent_{data.get('how', 'refused')}")


def _on_choice(turn: _Turn, data: dict) -> None:
    turn.choose(str(data.get("choice")))


def _on_stop(turn: _Turn, data: dict) -> None:
    """Stop means stop: the console refuses an operator's message until they write."""
    turn.choose("stopped")
    if turn.case is not None:
        turn.audit("person.stop")


def _on_resume(turn: _Turn, data: dict) -> None:
    turn.choose("resumed")


EVENT_HANDLERS: dict[str, Callable[[_Turn, dict], None]] = {
    ev.CASE_OPEN: _on_case_open,
    ev.CASE_ASSESSED: _on_case_assessed,
    ev.CASE_MESSAGE: _on_case_message,
    ev.CASE_MEDIA: _on_case_media,
    ev.CONSENT: _on_consent,
    ev.CHOICE: _on_choice,
    ev.SESSION_STOP: _on_stop,
    ev.SESSION_RESUME: _on_resume,
}


def stopped(case: Case) -> bool:
    """The person asked not to be written to and has not written since."""
    for choice in reversed(case.choices):
        if choice.get("choice") in ("stopped", "resumed"):
            return choice["choice"] == "stopped"
    return False


# An inbound record's mark that the webhook already answered it with a message (the
# urgent numbers): the digest of that text, so the worker does not send it twice.
ANSWERED_INLINE = "answered_inline"


def inline_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def without_inline(messages: list[Outbound], digest: str) -> list[Outbound]:
    """The replies less the one the webhook already gave (the first with that text)."""
    for i, message in enumerate(messages):
        if inline_digest(message.text) == digest:
            return [*messages[:i], *messages[i + 1 :]]
    return messages


def chat_refs(kept: object, inbound: Inbound, now: float) -> list[list[float]]:
    """The platform numbers of the person's messages still deletable ([[ref, at], ...],
    48 hours, the last MAX_REFS), with this one. Numbers only, never words."""
    refs = [
        [int(r[0]), float(r[1])]
        for r in (kept if isinstance(kept, list) else [])
        if isinstance(r, list) and len(r) == 2 and now - float(r[1]) < CLEARABLE
    ]
    if inbound.ref:
        refs.append([inbound.ref, now])
    return refs[-MAX_REFS:]


def clears_chat(events: list[Event]) -> bool:
    """A quick exit or "delete my data": the chat is cleared where the platform allows."""
    return any(
        (e.name == ev.SESSION_STOP and e.data.get("exit")) or e.name == ev.SESSION_DELETE
        for e in events
    )


def to_clear(refs: list[list[float]]) -> list[int]:
    """Every number from the first kept message to the last: in a private chat the
    bot's replies are numbered between the person's messages."""
    last = int(max(r[0] for r in refs))
    first = max(int(min(r[0] for r in refs)), last - MAX_CLEAR + 1)
    return list(range(first, last + 1))


def inbound_to_dict(inbound: Inbound) -> dict:
    """Its fields (all plain values), without the empty ones; not `asdict`, which
    deep-copies and costs a tenth of a webhook."""
    return {
        name: value
        for name in INBOUND_FIELDS
        if (value := getattr(inbound, name)) is not None and value != ""
    }


INBOUND_FIELDS = tuple(f.name for f in dataclass_fields(Inbound))


def inbound_from_dict(raw: dict) -> Inbound:
    return Inbound(**{k: v for k, v in raw.items() if k in INBOUND_FIELDS})


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
