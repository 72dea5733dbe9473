"""Scripted multi-turn conversations (tests/data/conversations/*.jsonl) on the real stack.

Each conversation runs through the production engine, the conversation service and a
real SQLite store, as a person writing on a channel would; after the turns that carry
an `expect`, the state the store holds (session, case, consent records) and the replies
of that turn are checked. The format is in tests/data/conversations/FORMAT.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.bootstrap import build_engine
from bot.cases.state import IN_SERVICE, RiskState
from bot.config import new_data_key
from bot.conversation import ConversationService
from bot.engine.normalize import fold
from bot.engine.types import Event, Inbound, Session
from bot.hours import LIMA
from bot.risk.codes import ALL_CODES, LEVELS, severity
from bot.store.crypto import Crypto
from bot.store.sqlite import SQLiteStore

DATA = Path(__file__).parent / "data" / "conversations"
ALWAYS_OPEN = "mon-sun 00:00-23:59"
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=LIMA).timestamp()
NUMBERS = re.compile(r"(?<![\d-])(1884|1818|1810|113|105|100)(?![\d-])")
KEYS = {
    "level", "min_level", "indicators", "case", "case_level", "consent", "stopped",
    "has", "lacks", "first_number", "events",
}  # fmt: skip


def load(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            row.setdefault("file", path.name)
            row.setdefault("line", n)
            rows.append(row)
    return rows


def all_conversations() -> list[dict[str, Any]]:
    return [row for path in sorted(DATA.glob("*.jsonl")) for row in load(path)]


def check_format(conv: dict[str, Any]) -> list[str]:
    """Problems in a conversation's own data (a label must never be edited to fit)."""
    problems = []
    if conv.get("lang") not in ("es", "en", "pt", "fr"):
        problems.append(f"lang {conv.get('lang')!r}")
    for i, turn in enumerate(conv.get("turns") or []):
        expect = turn.get("expect") or {}
        if set(expect) - KEYS:
            problems.append(f"turn {i}: unknown keys {sorted(set(expect) - KEYS)}")
        for key in ("level", "min_level", "case_level"):
            if key in expect and expect[key] not in LEVELS:
                problems.append(f"turn {i}: {key} {expect[key]!r}")
        if set(expect.get("indicators") or []) - set(ALL_CODES):
            problems.append(f"turn {i}: unknown codes {expect['indicators']}")
    if not conv.get("turns"):
        problems.append("no turns")
    return problems


@dataclass
class Runner:
    """One person on the real stack: engine + conversation service + SQLite."""

    tmp: Path
    lang: str
    now: float = MONDAY_10
    hours: str = ALWAYS_OPEN
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        crypto = Crypto([new_data_key()])
        self.store = SQLiteStore(self.tmp / "conversation.sqlite3", crypto)
        engine = build_engine(
            operator_hours=self.hours,
            clock=lambda: datetime.fromtimestamp(self.now, UTC),
            on_call=False,
        )
        self.service = ConversationService(
            engine, self.store, crypto, clock=lambda: self.now, on_events=[self.events.extend]
        )
        self.address = "person-1"

    def say(self, text: str) -> list[str]:
        self.now += 30
        self.events.clear()
        replies = self.service.handle(
            "terminal", self.address, Inbound(text=text, lang_hint=self.lang)
        )
        return [m.text + "".join(f"\n{b.label}" for b in m.buttons) for m in replies]

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ state
    @property
    def user(self) -> str | None:
        """None once the person deleted their data."""
        return self.service.user_for("terminal", self.address, create=False)

    def session(self) -> Session:
        user = self.user
        return Session.from_dict(self.store.load_session(user, self.now) if user else None)

    def state(self) -> dict[str, Any]:
        if self.user is None:
            return {"level": "none", "seen": set(), "case": None, "consent": "none",
                    "stopped": False}  # fmt: skip
        session = self.session()
        risk = RiskState(session)
        case = self.store.open_case_of(self.user, self.now)
        consent = "none"
        if risk.pending:
            consent = "pending"
        elif case is not None and case.consent_scope == IN_SERVICE:
            consent = "yes"
        else:
            in_service = [c for c in self.store.consents(self.user, self.now)
                          if c.scope == IN_SERVICE]  # fmt: skip
            if in_service:
                consent = "yes" if in_service[-1].granted else "no"
        return {
            "level": risk.level,
            "seen": risk.seen,
            "case": case,
            "consent": consent,
            "stopped": bool(session.data.get("stopped")),
        }


def first_number(replies: list[str]) -> str | None:
    found = NUMBERS.search("\n".join(replies))
    return found.group(1) if found else None


def check_turn(runner: Runner, replies: list[str], expect: dict[str, Any]) -> list[str]:
    """Every way this turn differs from what its `expect` says."""
    state = runner.state()
    out: list[str] = []
    text = fold("\n".join(replies))
    if "level" in expect and state["level"] != expect["level"]:
        out.append(f"level {state['level']} != {expect['level']}")
    if "min_level" in expect and severity(state["level"]) > severity(expect["min_level"]):
        out.append(f"level {state['level']} below {expect['min_level']}")
    missing = set(expect.get("indicators") or []) - state["seen"]
    if missing:
        out.append(f"codes {sorted(state['seen'])} lack {sorted(missing)}")
    case = state["case"]
    if "case" in expect and ("open" if case else "none") != expect["case"]:
        out.append(f"case {'open' if case else 'none'} != {expect['case']}")
    if "case_level" in expect and (case.level if case else None) != expect["case_level"]:
        out.append(f"case level {case.level if case else None} != {expect['case_level']}")
    if "consent" in expect and state["consent"] != expect["consent"]:
        out.append(f"consent {state['consent']} != {expect['consent']}")
    if "stopped" in expect and state["stopped"] != expect["stopped"]:
        out.append(f"stopped {state['stopped']} != {expect['stopped']}")
    for wanted in expect.get("has") or []:
        options = wanted if isinstance(wanted, list) else [wanted]
        if not any(fold(o) in text for o in options):
            out.append(f"replies lack {wanted!r}")
    for unwanted in expect.get("lacks") or []:
        if fold(unwanted) in text:
            out.append(f"replies have {unwanted!r}")
    if "first_number" in expect and first_number(replies) != expect["first_number"]:
        out.append(f"first number {first_number(replies)} != {expect['first_number']}")
    names = {e.name for e in runner.events}
    for name in expect.get("events") or []:
        if name not in names:
            out.append(f"no {name} event (got {sorted(names)})")
    return out


def run(conv: dict[str, Any], tmp: Path) -> list[str]:
    """Play a conversation; return every failed expectation, with its turn."""
    runner = Runner(tmp, conv["lang"])
    failures: list[str] = []
    try:
        for opening in conv.get("setup", ["hola", "1"]):  # language known, welcome seen
            runner.say(opening)
        for i, turn in enumerate(conv["turns"]):
            replies = runner.say(turn["say"])
            if not replies:
                failures.append(f"turn {i} {turn['say']!r}: no reply")
            for problem in check_turn(runner, replies, turn.get("expect") or {}):
                failures.append(f"turn {i} {turn['say']!r}: {problem}")
    finally:
        runner.close()
    return failures
