"""Telegram adapter: Bot API updates <-> channel-neutral messages.

Updates are read as plain JSON for the few fields the bot uses (python-telegram-bot's
`Update.de_json` rejects a whole update for one missing field it does not need, and
costs a fifth of a webhook request); replies are python-telegram-bot's keyboard objects
posted to `sendMessage` over a pooled client (`TelegramSender` says why), and the real
`Bot` does the rest (long polling, files, webhooks); `TELEGRAM_API_BASE_URL` points
both at a local server in tests. Options become inline buttons whose callback data
is the engine's stable payload; a "share location" request becomes a reply keyboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    TelegramObject,
)
from telegram.request import HTTPXRequest

from bot.channels.delivery import CLEAR, CONCURRENCY, PermanentError, RateLimiter, TransientError
from bot.channels.poster import Poster
from bot.config import TELEGRAM_CHANNEL_NAME as CHANNEL_NAME
from bot.config import TELEGRAM_CHAT_ID as CHAT_ID
from bot.engine.types import Inbound


def chat_id(address: str) -> int | str:
    """The chat_id for an address; PermanentError for one the Bot API cannot take."""
    text = str(address).strip()
    if CHAT_ID.match(text):
        return int(text)
    if CHANNEL_NAME.match(text):
        return text
    raise PermanentError("telegram: not a chat id or @channel name")


NAME = "telegram"
MAX_CALLBACK_BYTES = 64
MAX_DELETE = 100  # message ids per deleteMessages call
# A message's content field -> the media kind the engine answers to (a document is
# not "audio"). Anything else a message can carry (dice, polls, games) is "other".
MEDIA_KINDS = {
    "photo": "photo",
    "voice": "audio",
    "audio": "audio",
    "video": "video",
    "video_note": "video",
    "animation": "video",
    "sticker": "sticker",
    "document": "document",
    "contact": "contact",
}
GROUPS = ("group", "supergroup")  # left at once; a channel is only ignored
# my_chat_member statuses that mean the bot is (still) in the chat.
PRESENT = ("member", "administrator", "restricted", "creator")


class BadUpdate(ValueError):
    """An update without what the bot needs to answer it (a chat id, a query id)."""


@dataclass(frozen=True)
class Parsed:
    """What the bot does with one update: record `inbound` for `address`; or only stop
    a button's spinner (`callback_query_id`, no inbound); or leave a group (`leave`)."""

    address: str  # the chat id, as text
    inbound: Inbound | None
    dedup_key: str
    callback_query_id: str | None = None
    leave: bool = False

    @property
    def update_id(self) -> int:
        """Telegram's own order of updates (the dedup key is "tg:<update_id>")."""
        return int(self.dedup_key.rpartition(":")[2])


def make_bot(token: str, api_base_url: str) -> Bot:
    """The real Bot on this API root, for long polling, files and webhooks: one request
    at a time (python-telegram-bot's default pool); replies go through `TelegramSender`."""
    base = api_base_url.rstrip("/")
    request = HTTPXRequest(
        connection_pool_size=1,
        connect_timeout=5, read_timeout=10, write_timeout=10, pool_timeout=5,
    )  # fmt: skip
    return Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=request)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _chat(holder: dict[str, Any]) -> tuple[str, str]:
    """The chat id (as text) and type; BadUpdate when there is no usable id. A chat
    without a type (very old updates) is private when its id is positive, as the Bot
    API numbers them."""
    chat = _obj(holder.get("chat"))
    raw = chat.get("id")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not CHAT_ID.match(str(raw)):
        raise BadUpdate("chat.id is missing or not a chat id")
    kind = chat.get("type")
    if not isinstance(kind, str):
        kind = "private" if int(raw) > 0 else "group"
    return str(raw), kind


def _lang(holder: dict[str, Any]) -> str | None:
    code = _obj(holder.get("from")).get("language_code")
    return code if isinstance(code, str) and code else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ref(message: dict[str, Any]) -> int | None:
    ref = message.get("message_id")
    return ref if isinstance(ref, int) and not isinstance(ref, bool) and ref > 0 else None


def _message(message: dict[str, Any], lang: str | None) -> Inbound:
    """Text, caption, location or media: the fields the bot uses, nothing else."""
    return replace(_content(message, lang), ref=_ref(message))


def _content(message: dict[str, Any], lang: str | None) -> Inbound:
    place = _obj(message.get("location")) or _obj(_obj(message.get("venue")).get("location"))
    lat, lon = _number(place.get("latitude")), _number(place.get("longitude"))
    if lat is not None and lon is not None:
        return Inbound(kind="location", latitude=lat, longitude=lon, lang_hint=lang)
    field = next((key for key in MEDIA_KINDS if message.get(key)), None)
    media = MEDIA_KINDS[field] if field else None
    ref, mime = _file(message.get(field)) if field else (None, None)
    text = message.get("text")
    if not isinstance(text, str):
        text = message.get("caption")  # a captioned photo: its words are a message
    if isinstance(text, str) and text.strip():
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")  # lone halves
        return Inbound(text=text, media_type=media, lang_hint=lang, media_ref=ref, media_mime=mime)
    return Inbound(kind="media", media_type=media or "other", lang_hint=lang,
                   media_ref=ref, media_mime=mime)  # fmt: skip


def _file(value: Any) -> tuple[str | None, str | None]:
    """A media field's file_id and type; a photo is the largest of its sizes."""
    if isinstance(value, list):
        value = value[-1] if value else None
        mime = "image/jpeg"
    else:
        mime = None
    item = _obj(value)
    file_id = item.get("file_id")
    given = item.get("mime_type")
    mime = given if isinstance(given, str) and "/" in given else mime
    return (file_id if isinstance(file_id, str) and file_id else None), mime


def parse(data: dict[str, Any]) -> Parsed | None:
    """What to do with an update, or None for those that need nothing (edits, polls,
    inline queries, a person blocking the bot).

    Only the fields the bot uses are read; a field it does not use may be missing or
    new without the update being rejected (BadUpdate only when what it needs is). Only
    private chats are served: in a group, supergroup or channel the bot answers
    nothing and keeps nothing, and it leaves a group or supergroup.
    """
    update_id = data.get("update_id")
    # Needed to record a message once; leaving a group or stopping a spinner does without.
    known = isinstance(update_id, int) and not isinstance(update_id, bool)
    if update_id is not None and not known:
        raise BadUpdate("update_id is not a number")
    dedup = f"tg:{update_id if known else 0}"

    def recorded(address: str, inbound: Inbound, query_id: str | None = None) -> Parsed:
        if not known:
            raise BadUpdate("update_id is missing")
        return Parsed(address, inbound, dedup, query_id)

    if "callback_query" in data:
        query = _obj(data["callback_query"])
        query_id = query.get("id")
        if not isinstance(query_id, str) or not query_id:
            raise BadUpdate("callback_query.id is missing")
        payload = query.get("data")
        if not isinstance(payload, str) or not payload:
            # A game button: nothing to record, but the spinner stops.
            return Parsed("", None, dedup, query_id)
        message = _obj(query.get("message"))
        if message:
            address, kind = _chat(message)
        else:  # a button under an inline message: the answer goes to the person's own chat
            address, kind = str(_obj(query.get("from")).get("id", "")), "private"
            if not CHAT_ID.match(address) or int(address) <= 0:
                return Parsed("", None, dedup, query_id)
        if kind != "private":
            return Parsed(address, None, dedup, query_id, leave=kind in GROUPS)
        inbound = Inbound(payload=payload, lang_hint=_lang(query), ref=_ref(message))
        return recorded(address, inbound, query_id)
    member = _obj(data.get("my_chat_member")) or _obj(data.get("chat_member"))
    if member:
        address, kind = _chat(member)
        status = _obj(member.get("new_chat_member")).get("status")
        joined = kind in GROUPS and status in PRESENT
        return Parsed(address, None, dedup, leave=True) if joined else None
    if "channel_post" in data:
        return None  # a channel the bot administers: it never posts there
    if "message" not in data:
        return None  # edited messages, polls, inline queries...: nothing to answer
    message = _obj(data["message"])
    address, kind = _chat(message)
    if kind != "private":
        return Parsed(address, None, dedup, leave=kind in GROUPS)
    return recorded(address, _message(message, _lang(message)))


def keyboard(message: dict[str, Any]) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    buttons = [
        [InlineKeyboardButton(label[:64], callback_data=payload)]
        for label, payload in message.get("buttons") or []
        if len(payload.encode()) <= MAX_CALLBACK_BYTES
    ]
    if message.get("request_location"):
        # Telegram cannot mix a location request into an inline keyboard: the options
        # stay typeable by number; the location button sits in the reply keyboard.
        return ReplyKeyboardMarkup(
            [[KeyboardButton("📍", request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    return InlineKeyboardMarkup(buttons) if buttons else None


def _encoded(value: Any) -> str:
    """A parameter as python-telegram-bot encodes it: numbers as text, objects as JSON."""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, TelegramObject):
        return value.to_json()
    return json.dumps(value)


def numbered(message: dict[str, Any]) -> str:
    """Buttons also as numbered text, so a person can type the number as on WhatsApp."""
    text = message["text"]
    labels = [label for label, _ in message.get("buttons") or []]
    if message.get("request_location") and labels:
        text += "\n\n" + "\n".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
    return text


class TelegramSender:
    """Sends to the Bot API `sendMessage` and `deleteMessages` methods, with the
    parameters python-telegram-bot would send (its own keyboard objects, encoded as it
    encodes them: a form, objects as JSON), over the pooled client the sender's threads
    share (bot/channels/poster.py).

    Why not `Bot.send_message`: its client is asynchronous and bound to one event loop,
    so every send crossed to a loop thread and back, and the library's own work cost
    about 4 ms of CPU per message where a pooled post costs a fourth of that; under `bot
    run` that CPU is the worker's too. Errors map as the library maps them: 429 waits
    `retry_after`, 400 and 403 are permanent, the rest transient."""

    name = NAME

    def __init__(
        self, bot: Bot, limiter: RateLimiter | None = None, connections: int = CONCURRENCY
    ) -> None:
        self.bot = bot
        self.limiter = limiter or RateLimiter(per_second=25, per_recipient_per_second=1)
        self._poster = Poster(NAME, bot.base_url, connections)

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        form = {
            k: v if isinstance(v, str) else _encoded(v) for k, v in params.items() if v is not None
        }
        answer = self._poster.post(f"/{method}", form)
        body = answer.body if isinstance(answer.body, dict) else None
        if body is None:  # an answer, but not the Bot API's
            raise TransientError(f"telegram: HTTP {answer.status}, not the Bot API")
        if body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code", answer.status)
        if code == 429:
            wait = ((body.get("parameters") or {}).get("retry_after")) or 1
            raise TransientError("telegram: retry after", float(wait))
        if code in (400, 403):
            raise PermanentError(f"telegram: {'BadRequest' if code == 400 else 'Forbidden'}")
        raise TransientError(f"telegram: error {code}")

    def send(self, address: str, message: dict[str, Any]) -> None:
        if message.get("kind") == CLEAR:
            self._clear(chat_id(address), list(message.get("refs") or []))
            return
        self._call(
            "sendMessage",
            {
                "chat_id": chat_id(address),
                "text": numbered(message),
                "reply_markup": keyboard(message),
            },
        )

    def _clear(self, chat: int | str, refs: list[int]) -> None:
        """Delete these messages, both ways, in a private chat (Bot API `deleteMessages`:
        up to 100 at a time; those older than 48 hours or already gone are skipped)."""
        for start in range(0, len(refs), MAX_DELETE):
            self._call(
                "deleteMessages", {"chat_id": chat, "message_ids": refs[start : start + MAX_DELETE]}
            )

    def close(self) -> None:
        self._poster.close()
