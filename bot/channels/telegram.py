"""Telegram adapter: Bot API updates <-> channel-neutral messages.

Real python-telegram-bot objects parse the update (`Update.de_json`) and send replies
(`Bot.send_message` with an inline keyboard); `TELEGRAM_API_BASE_URL` points the real
client at a local server in tests. Options become inline buttons whose callback data
is the engine's stable payload; a "share location" request becomes a reply keyboard.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.delivery import PermanentError, RateLimiter, TransientError
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
MEDIA_FIELDS = (
    "voice",
    "audio",
    "photo",
    "video",
    "video_note",
    "sticker",
    "document",
    "animation",
)


@dataclass(frozen=True)
class Parsed:
    address: str  # the chat id, as text
    inbound: Inbound
    dedup_key: str
    callback_query_id: str | None = None

    @property
    def update_id(self) -> int:
        """Telegram's own order of updates (the dedup key is "tg:<update_id>")."""
        return int(self.dedup_key.rpartition(":")[2])


def make_bot(token: str, api_base_url: str) -> Bot:
    base = api_base_url.rstrip("/")
    request = HTTPXRequest(connect_timeout=5, read_timeout=10, write_timeout=10, pool_timeout=5)
    return Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=request)


def parse(data: dict[str, Any], bot: Bot) -> Parsed | None:
    """An update we act on, or None for those we ignore (edits, channel posts...)."""
    update = Update.de_json(data, bot)
    if update is None or update.update_id is None:
        return None
    dedup = f"tg:{update.update_id}"
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message else None
        if chat is None or not query.data or not CHAT_ID.match(str(chat.id)):
            return None
        lang = query.from_user.language_code if query.from_user else None
        return Parsed(str(chat.id), Inbound(payload=query.data, lang_hint=lang), dedup, query.id)
    message = update.message
    if message is None or message.chat is None:
        return None  # edited messages, channel posts, polls...: nothing to answer
    if not CHAT_ID.match(str(message.chat.id)):
        return None  # not an id the Bot API could send to: validated where it enters
    lang = message.from_user.language_code if message.from_user else None
    address = str(message.chat.id)
    if message.location is not None:
        inbound = Inbound(
            kind="location",
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            lang_hint=lang,
        )
    elif message.text is not None:
        inbound = Inbound(text=message.text, lang_hint=lang)
    else:
        kind = next((f for f in MEDIA_FIELDS if getattr(message, f, None)), "media")
        inbound = Inbound(kind="media", media_type=kind, lang_hint=lang)
    return Parsed(address, inbound, dedup)


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


def numbered(message: dict[str, Any]) -> str:
    """Buttons also as numbered text, so a person can type the number as on WhatsApp."""
    text = message["text"]
    labels = [label for label, _ in message.get("buttons") or []]
    if message.get("request_location") and labels:
        text += "\n\n" + "\n".join(f"{i}. {label}" for i, label in enumerate(labels, 1))
    return text


class TelegramSender:
    """Sends through the real Bot on a private event loop (the worker is synchronous)."""

    name = NAME

    def __init__(self, bot: Bot, limiter: RateLimiter | None = None) -> None:
        self.bot = bot
        self.limiter = limiter or RateLimiter(per_second=25, per_recipient_per_second=1)
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()

    def _run(self, coro: Any) -> Any:
        with self._lock:
            return self._loop.run_until_complete(coro)

    def send(self, address: str, message: dict[str, Any]) -> None:
        try:
            self._run(
                self.bot.send_message(
                    chat_id=chat_id(address), text=numbered(message), reply_markup=keyboard(message)
                )
            )
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            raise TransientError("telegram: retry after", seconds) from exc
        except (Forbidden, BadRequest) as exc:
            raise PermanentError(f"telegram: {exc.__class__.__name__}") from exc
        except (NetworkError, TelegramError) as exc:  # timeouts and 5xx
            raise TransientError(f"telegram: {exc.__class__.__name__}") from exc

    def close(self) -> None:
        self._loop.close()
