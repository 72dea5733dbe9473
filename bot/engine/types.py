"""Channel-neutral message and session types.

Channel adapters translate platform payloads into `Inbound` and render `Outbound`;
the store persists `Session.to_dict()`. Nothing here knows about Telegram, Twilio,
Flask or Redis, so every other part of the system can depend on these types.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

InboundKind = Literal["text", "location", "media"]
LANGS: tuple[str, ...] = ("es", "en", "pt", "fr")
SOURCE_LANG = "es"


@dataclass(frozen=True)
class Button:
    """An option the person can pick. `payload` is stable across languages and states."""

    label: str
    payload: str


@dataclass(frozen=True)
class Inbound:
    """One message from a person, already stripped of platform details.

    `payload` is set when the person pressed a button (Telegram callback data, a
    WhatsApp quick reply). `lang_hint` carries a platform language (Telegram's
    `language_code`) used only to preselect the language on first contact. `ref` is
    the platform's number for this message in its chat (Telegram `message_id`), kept
    only so that the chat can be cleared on a quick exit; the engine never reads it.
    """

    kind: InboundKind = "text"
    text: str = ""
    payload: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    media_type: str | None = None
    lang_hint: str | None = None
    ref: int | None = None
    # A voice note's or photo's handle on the platform (Telegram file_id, Twilio media
    # URL) and type: fetched by the worker only within a case's in-service consent.
    media_ref: str | None = None
    media_mime: str | None = None
    # Set only by the service itself (the console asking a question through the bot),
    # never by a channel adapter: a `go:` payload is honoured only when it is set.
    internal: bool = False

    @classmethod
    def location(cls, latitude: float, longitude: float) -> Inbound:
        return cls(kind="location", latitude=latitude, longitude=longitude)

    @classmethod
    def media(cls, media_type: str = "media") -> Inbound:
        return cls(kind="media", media_type=media_type)


@dataclass(frozen=True)
class Outbound:
    """One message to a person. Channels without buttons render them as numbered text."""

    text: str
    buttons: tuple[Button, ...] = ()
    request_location: bool = False


@dataclass(frozen=True)
class Event:
    """Something the rest of the system must act on (open a case, delete data...).

    Events carry codes and ids, never the person's free text: whoever consumes them
    (store, console, alerts) cannot leak what it never received.
    """

    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Session:
    """Conversation state for one person. Small, JSON-serialisable, no personal data.

    `options` are the payloads of the buttons last shown, so that a typed number
    ("2") means the same thing on every channel. `data` holds flow flags (e.g. a
    recorded refusal, the region chosen) that handlers own.
    """

    lang: str | None = None
    node: str | None = None
    page: int = 0
    options: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    welcomed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "node": self.node,
            "page": self.page,
            "options": list(self.options),
            "stack": list(self.stack),
            "data": copy.deepcopy(self.data),
            "welcomed": self.welcomed,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Session:
        if not raw:
            return cls()
        lang = raw.get("lang")
        return cls(
            lang=lang if lang in LANGS else None,
            node=raw.get("node"),
            page=int(raw.get("page") or 0),
            options=[str(p) for p in raw.get("options") or []],
            stack=[str(n) for n in raw.get("stack") or []],
            data=dict(raw.get("data") or {}),
            welcomed=bool(raw.get("welcomed")),
        )

    def clone(self) -> Session:
        return Session.from_dict(self.to_dict())


@dataclass
class Result:
    """What one inbound message caused: the new session, the replies, the events."""

    session: Session
    messages: list[Outbound]
    events: list[Event] = field(default_factory=list)
