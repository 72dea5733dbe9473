"""Fetching a voice note or photo from the platform, for the caseworker.

Only the worker calls this, and only for a case with in-service consent (the engine
emits `case.media` nowhere else): the webhook never downloads anything. Telegram files
come through the real Bot (`getFile`, then the file URL); Twilio media URLs with the
account's credentials, and only from Twilio's own API host. Anything too large, of
another type, or unreachable gives None: the case then says a file could not be
fetched, and nothing else is lost.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from urllib.parse import urlsplit

import httpx
from telegram import Bot

log = logging.getLogger(__name__)
MAX_BYTES = 5 * 1024 * 1024
KINDS = ("audio/", "image/")  # the types fetched, kept and served to the console


def _kind_ok(mime: str | None) -> bool:
    return bool(mime) and str(mime).lower().startswith(KINDS)


class MediaFetcher:
    def __init__(
        self,
        telegram_bot: Bot | None = None,
        twilio_auth: tuple[str, str] | None = None,
        twilio_base_url: str = "https://api.twilio.com",
    ) -> None:
        self.bot = telegram_bot
        self.twilio_auth = twilio_auth
        self.twilio_host = urlsplit(twilio_base_url).netloc
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def fetch(self, channel: str, ref: str, mime: str | None) -> tuple[str, bytes] | None:
        """(type, bytes) of the media, or None."""
        if not _kind_ok(mime):
            return None
        try:
            if channel == "telegram" and self.bot is not None:
                data = self._telegram(ref)
            elif channel in ("whatsapp", "sms") and self.twilio_auth is not None:
                data = self._twilio(ref)
            else:
                return None
        except Exception as exc:  # the platform is down or refuses: the case says so
            log.warning("media fetch failed on %s: %s", channel, exc.__class__.__name__)
            return None
        if data is None or len(data) > MAX_BYTES:
            return None
        return str(mime), data

    def _telegram(self, file_id: str) -> bytes | None:
        async def download() -> bytes | None:
            file = await self.bot.get_file(file_id)
            if file.file_size and file.file_size > MAX_BYTES:
                return None
            return bytes(await file.download_as_bytearray())

        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(download())

    def _twilio(self, url: str) -> bytes | None:
        if urlsplit(url).netloc != self.twilio_host:
            return None  # only Twilio's own media, never a URL anyone could put in a form
        with httpx.Client(timeout=10, follow_redirects=True) as client:
            with client.stream("GET", url, auth=self.twilio_auth) as response:
                response.raise_for_status()
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BYTES:
                        return None
                    chunks.append(chunk)
        return b"".join(chunks)
