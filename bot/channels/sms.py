"""SMS through Twilio: a third channel on the same inbox, engine and outbox.

Served only when `TWILIO_SMS_NUMBER` is set; without it an SMS gets no reply (never a
reply over WhatsApp, which Twilio rejects for a bare number). Menus are numbered text
as on WhatsApp. A text message has no emoji (one emoji turns every segment from 160
GSM-7 characters into 70 UCS-2 ones), and a long reply is split at line ends into
messages of at most `MAX_SEGMENTS` segments, so that none is cut or refused.
"""

from __future__ import annotations

import re
from typing import Any

from bot.channels.whatsapp import SMS, WhatsAppSender, render

NAME = SMS
MAX_SEGMENTS = 10  # Twilio's advice: longer messages arrive late or not at all
# GSM 03.38 basic set and extension table: everything else makes a UCS-2 message.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u20e3\u2190-\u21ff\u25a0-\u25ff]"
)


def plain(text: str) -> str:
    """The text without emoji or the spaces they leave at a line's start."""
    return "\n".join(" ".join(EMOJI.sub("", line).split()) for line in text.split("\n"))


def segment_chars(text: str) -> int:
    """Characters per segment of a concatenated SMS with this text."""
    return 153 if set(text) <= GSM7 else 67


def split(text: str, max_segments: int = MAX_SEGMENTS) -> list[str]:
    """Parts of at most `max_segments` segments each, cut at line ends where possible."""
    limit = segment_chars(text) * max_segments
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: cut it at a space
            cut = line.rfind(" ", 0, limit) if " " in line[:limit] else limit
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


class SmsSender(WhatsAppSender):
    """The WhatsApp sender's Twilio client and error handling, from the SMS number."""

    name = NAME
    prefix = ""
    rich = False

    def send(self, address: str, message: dict[str, Any]) -> None:
        for part in split(plain(render(message))):
            self._create(address, body=part)
