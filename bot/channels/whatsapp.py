"""WhatsApp through Twilio: signed form posts <-> channel-neutral messages.

Inbound requests are checked with the real `twilio` RequestValidator against
PUBLIC_BASE_URL + path. Replies go through the real Twilio REST client, pointed at
TWILIO_API_BASE_URL in tests. WhatsApp has no inline buttons here: options become
numbered text, which the engine understands on every channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.delivery import PermanentError, RateLimiter, TransientError
from bot.engine.types import Inbound

NAME = "whatsapp"
WINDOW = 24 * 3600.0  # WhatsApp's customer-service window after the person's last message


def within_window(last_inbound: float | None, now: float) -> bool:
    """Free-form messages may be sent only within 24 h of the person's last message;
    outside it, only an approved template (whose wording must reveal nothing)."""
    return last_inbound is not None and now - last_inbound < WINDOW


class BadRequest(ValueError):
    """A form without the fields every Twilio message carries."""


@dataclass(frozen=True)
class Parsed:
    address: str  # "whatsapp:+51..."
    inbound: Inbound
    dedup_key: str


def valid_signature(auth_token: str, url: str, form: Mapping[str, str], signature: str) -> bool:
    return bool(signature) and RequestValidator(auth_token).validate(url, dict(form), signature)


def parse(form: Mapping[str, str]) -> Parsed:
    sid, sender = form.get("MessageSid") or form.get("SmsSid"), form.get("From")
    if not sid or not sender:
        raise BadRequest("MessageSid and From are required")
    dedup = f"wa:{sid}"
    lat, lon = form.get("Latitude"), form.get("Longitude")
    if lat and lon:
        try:
            return Parsed(sender, Inbound.location(float(lat), float(lon)), dedup)
        except ValueError as exc:
            raise BadRequest("Latitude/Longitude are not numbers") from exc
    if form.get("ButtonPayload"):
        return Parsed(sender, Inbound(payload=form["ButtonPayload"]), dedup)
    try:
        media = int(form.get("NumMedia") or 0)
    except ValueError:
        media = 0
    body = form.get("Body") or ""
    if media and not body.strip():
        kind = (form.get("MediaContentType0") or "media").split("/")[0]
        return Parsed(sender, Inbound.media("voice" if kind == "audio" else kind), dedup)
    return Parsed(sender, Inbound(text=body), dedup)


def render(message: dict[str, Any]) -> str:
    lines = [message["text"]]
    buttons = message.get("buttons") or []
    if buttons:
        lines.append("")
        lines += [f"{i}. {label}" for i, (label, _) in enumerate(buttons, 1)]
    if message.get("request_location"):
        lines.append("📍")
    return "\n".join(lines)


class WhatsAppSender:
    name = NAME

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str = "https://api.twilio.com",
        limiter: RateLimiter | None = None,
    ) -> None:
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=10))
        self.client.api.base_url = api_base_url.rstrip("/")
        self.from_ = (
            from_number if from_number.startswith("whatsapp:") else f"whatsapp:{from_number}"
        )
        self.limiter = limiter or RateLimiter(per_second=10, per_recipient_per_second=1)

    def send(self, address: str, message: dict[str, Any]) -> None:
        """A message with `content_sid` goes as that approved template (outside the
        24-hour window); anything else as free text with numbered options."""
        try:
            if message.get("content_sid"):
                self.client.messages.create(
                    from_=self.from_, to=address, content_sid=message["content_sid"]
                )
            else:
                self.client.messages.create(from_=self.from_, to=address, body=render(message))
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientError(f"twilio: HTTP {exc.status}") from exc
            raise PermanentError(f"twilio: HTTP {exc.status} code {exc.code}") from exc
        except Exception as exc:  # connection errors and timeouts from the HTTP client
            raise TransientError(f"twilio: {exc.__class__.__name__}") from exc
