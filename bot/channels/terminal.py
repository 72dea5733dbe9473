"""The terminal channel: a conversation on stdin/stdout, driving the production engine.

It plays the part of errbot's test backend: tests, demos and protection staff
reviewing a flow all talk to the same engine that serves WhatsApp and Telegram.
Buttons print as numbered options; the person types the number or the label.
`/location LAT,LON` shares a location and `/media` sends a voice note or photo.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Protocol, TextIO

from bot.cases.events import public
from bot.engine.engine import Engine
from bot.engine.types import Event, Inbound, Outbound, Session

LOCATION = re.compile(r"^/location\s+(-?\d{1,3}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$", re.I)
LOCATION_HINT = "(usage: /location LAT,LON, for example /location -12.05,-77.04)"

EventSink = Callable[[Session, list[Event]], None]


class Service(Protocol):
    def handle(self, channel: str, address: str, inbound: Inbound) -> list[Outbound]: ...


def parse_line(line: str) -> Inbound | None:
    """Turn one typed line into an Inbound; None for a malformed /location."""
    stripped = line.strip()
    lowered = stripped.lower()
    if lowered.startswith("/location"):
        match = LOCATION.match(stripped)
        if not match:
            return None
        lat, lon = float(match.group(1)), float(match.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        return Inbound.location(lat, lon)
    if lowered.split(" ")[0] in ("/media", "/voice", "/photo", "/sticker"):
        kind = lowered.split(" ")[0].lstrip("/")
        return Inbound.media("voice" if kind == "media" else kind)
    return Inbound(text=line)


def event_printer(out: TextIO) -> Callable[[list[Event]], None]:
    """`chat --events`: one JSON line per engine event, codes and levels only."""

    def show(events: list[Event]) -> None:
        for event in events:
            out.write(json.dumps(public(event.name, event.data), ensure_ascii=False) + "\n")
        out.flush()

    return show


def render(message: Outbound) -> str:
    """A message as plain text, buttons as numbered options (as on WhatsApp)."""
    lines = [message.text]
    lines += [f"  {i}. {button.label}" for i, button in enumerate(message.buttons, 1)]
    if message.request_location:
        lines.append("  (/location LAT,LON)")
    return "\n".join(lines)


class TerminalChat:
    """One person's conversation in the terminal.

    With a `service`, state lives in the store exactly as for WhatsApp or Telegram
    (each run is a new person: a random terminal address). Without one, the session is
    kept in memory: the tests' in-memory channel.
    """

    def __init__(
        self,
        engine: Engine,
        lang: str | None = None,
        sink: EventSink | None = None,
        service: Service | None = None,
    ):
        self.engine = engine
        self.lang = lang
        self.session = Session(lang=lang)
        self.sink = sink
        self.service = service
        self.address = f"local-{secrets.token_hex(6)}"

    def send(self, inbound: Inbound) -> list[Outbound]:
        if self.service is not None:
            return self.service.handle(
                "terminal", self.address, replace(inbound, lang_hint=self.lang)
            )
        result = self.engine.handle(self.session, inbound)
        self.session = result.session
        if self.sink and result.events:
            self.sink(self.session, result.events)
        return result.messages

    def say(self, line: str) -> list[str]:
        """Send a typed line; return the replies as the terminal shows them."""
        inbound = parse_line(line)
        if inbound is None:
            return [LOCATION_HINT]
        return [render(m) for m in self.send(inbound)]


def run(
    chat: TerminalChat,
    lines: Iterable[str],
    out: TextIO,
    interactive: bool,
) -> int:
    if interactive:
        out.write("Escribe «hola» para empezar; Ctrl-D para salir.\n> ")
        out.flush()
    for line in lines:
        for reply in chat.say(line.rstrip("\r\n")):
            out.write(reply + "\n\n")
        if interactive:
            out.write("> ")
        out.flush()
    if interactive:
        out.write("\n")
    return 0
