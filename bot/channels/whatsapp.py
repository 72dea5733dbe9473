"""WhatsApp through Twilio: signed form posts <-> channel-neutral messages.

Inbound requests are checked with the real `twilio` RequestValidator against
PUBLIC_BASE_URL + path. Replies are posted to Twilio's REST API as its client posts
them, over a pooled connection (bot/channels/poster.py says why); the menus' Content
resources go through the real client. Both point at TWILIO_API_BASE_URL in tests. A
menu of up to three options goes as quick-reply buttons and one of up to ten as a list
(Content API); anything else, or when the content cannot be made, as numbered text.
Whichever way the person answers (a tap, a label, a number) the engine reads the same
payload.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from bot.channels.delivery import CLEAR, CONCURRENCY, PermanentError, RateLimiter, TransientError
from bot.channels.poster import Poster
from bot.engine.types import Inbound

log = logging.getLogger(__name__)
NAME = "whatsapp"
MAX_CONTENTS = 512  # menus remembered per process
SMS = "sms"  # the same Twilio account and webhook; a third channel only with TWILIO_SMS_NUMBER
WINDOW = 24 * 3600.0  # WhatsApp's customer-service window after the person's last message
# "+51987654321", "whatsapp:+51987654321", and WhatsApp's business-scoped user ids
# ("whatsapp:US.1234", seen in Twilio's own test payloads): a short address of these
# characters. A 5,000-digit "number" (the review's) is not one, signed or not.
ADDRESS = re.compile(r"(whatsapp:)?[+A-Za-z0-9._-]{3,40}")


def within_window(last_inbound: float | None, now: float) -> bool:
    """Free-form messages may be sent only within 24 h of the person's last message;
    outside it, only an approved template (whose wording must reveal nothing)."""
    return last_inbound is not None and now - last_inbound < WINDOW


class BadRequest(ValueError):
    """A form without the fields every Twilio message carries."""


@dataclass(frozen=True)
class Parsed:
    address: str  # "whatsapp:+51..." or, for SMS, "+51..."
    inbound: Inbound
    dedup_key: str
    channel: str = NAME  # "whatsapp" or "sms": the reply goes back the way it came


@functools.lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


def valid_signature(auth_token: str, url: str, form: Mapping[str, str], signature: str) -> bool:
    """Twilio's X-Twilio-Signature, checked with Twilio's own RequestValidator. A genuine
    request was signed for the URL we name (PUBLIC_BASE_URL): one HMAC settles it. Only
    a request that does not match gets the library's full check, which also tries the
    URL with and without its port (two more HMACs that a genuine one never needs)."""
    if not signature:
        return False
    validator = _validator(auth_token)
    if hmac.compare_digest(validator.compute_signature(url, form).encode(), signature.encode()):
        return True
    return validator.validate(url, form, signature)


def media_kind(content_type: str) -> str:
    """A MIME type -> the media kind the engine answers to."""
    family, _, sub = content_type.lower().partition("/")
    if family == "image":
        return "photo"
    if family in ("audio", "video"):
        return family
    if "vcard" in sub:
        return "contact"
    return "document"


def parse(form: Mapping[str, str]) -> Parsed | None:
    """A person's message, or None for a delivery status posted to the message URL.

    Only the fields the bot uses are read. A `From` without the `whatsapp:` prefix is
    an SMS: the caller decides whether SMS is served (it is never answered over
    WhatsApp). A media message's `Body` is its caption: words to read like any other.
    """
    sid = form.get("MessageSid") or form.get("SmsMessageSid")
    sender = (form.get("From") or "").strip()
    if not sid or not sender:
        raise BadRequest("MessageSid (or SmsMessageSid) and From are required")
    if not ADDRESS.fullmatch(sender):
        raise BadRequest("From is not a phone number or WhatsApp user id")
    status = (form.get("SmsStatus") or form.get("MessageStatus") or "received").lower()
    if status not in ("received", "receiving"):
        return None  # a status callback (sent, delivered, read, failed): nothing to answer
    channel = NAME if sender.startswith("whatsapp:") else SMS
    dedup = f"wa:{sid}"
    lat, lon = form.get("Latitude"), form.get("Longitude")
    if lat and lon:
        try:
            return Parsed(sender, Inbound.location(float(lat), float(lon)), dedup, channel)
        except ValueError as exc:
            raise BadRequest("Latitude/Longitude are not numbers") from exc
    chosen = form.get("ButtonPayload") or form.get("ListId")  # a quick reply, a list item
    if chosen:
        return Parsed(sender, Inbound(payload=chosen), dedup, channel)
    try:
        media = int(form.get("NumMedia") or 0)
    except ValueError:
        media = 0
    mime = (form.get("MediaContentType0") or None) if media else None
    kind = media_kind(mime or "") if media else None
    url = (form.get("MediaUrl0") or None) if media else None
    body = form.get("Body") or ""
    if kind and not body.strip():
        inbound = Inbound(kind="media", media_type=kind, media_ref=url, media_mime=mime)
        return Parsed(sender, inbound, dedup, channel)
    inbound = Inbound(text=body, media_type=kind, media_ref=url, media_mime=mime)
    return Parsed(sender, inbound, dedup, channel)


# Interactive menus (Twilio Content API, inside the 24-hour window only): up to three
# options as quick-reply buttons, up to ten as a list; longer labels or menus, a
# location request, or any failure to build the content fall back to numbered text.
QUICK_REPLY = ("twilio/quick-reply", 3, 20)  # type, options, characters per label
LIST_PICKER = ("twilio/list-picker", 10, 24)
LIST_BUTTON = "☰"  # the list's opening button: a sign, since the sender knows no language


def content_types(message: dict[str, Any]) -> dict[str, Any] | None:
    """The Content API types for a menu, or None when it goes as numbered text. The
    option's id is the engine's payload: it comes back as ButtonPayload or ListId, and
    the person may still type a label or a number."""
    buttons = message.get("buttons") or []
    if not buttons or message.get("request_location") or message.get("content_sid"):
        return None

    def fits(most: int, chars: int) -> bool:
        return len(buttons) <= most and all(len(label) <= chars for label, _ in buttons)

    body, fallback = message["text"], {"twilio/text": {"body": render(message)}}
    if fits(*QUICK_REPLY[1:]):
        actions = [{"title": label, "id": payload} for label, payload in buttons]
        return {QUICK_REPLY[0]: {"body": body, "actions": actions}, **fallback}
    if fits(*LIST_PICKER[1:]):
        items = [{"item": label, "id": payload, "description": ""} for label, payload in buttons]
        return {LIST_PICKER[0]: {"body": body, "button": LIST_BUTTON, "items": items}, **fallback}
    return None


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
    prefix = "whatsapp:"
    rich = True  # interactive menus; SMS has none

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str = "https://api.twilio.com",
        limiter: RateLimiter | None = None,
    ) -> None:
        # The twilio client makes the menus' Content resources (once per menu and
        # process); the messages themselves go through the pooled poster.
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=10))
        self.client.api.base_url = api_base_url.rstrip("/")
        self.client.content.base_url = api_base_url.rstrip("/")
        basic = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._messages = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._poster = Poster(NAME, api_base_url, CONCURRENCY,
                              {"Authorization": f"Basic {basic}", "Accept-Charset": "utf-8"})  # fmt: skip
        self._contents: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        bare = from_number.removeprefix("whatsapp:")
        self.from_ = f"{self.prefix}{bare}"
        self.limiter = limiter or RateLimiter(per_second=10, per_recipient_per_second=1)

    def send(self, address: str, message: dict[str, Any]) -> None:
        """A message with `content_sid` goes as that approved template (outside the
        24-hour window); anything else as free text with numbered options."""
        if message.get("kind") == CLEAR:
            return  # WhatsApp cannot delete a person's messages; the bot says so
        if message.get("content_sid"):
            self._create(address, content_sid=message["content_sid"])
            return
        types = content_types(message) if self.rich else None
        sid = self._content(types) if types else None
        if sid:
            self._create(address, content_sid=sid)
        else:
            self._create(address, body=render(message))

    def _content(self, types: dict[str, Any]) -> str | None:
        """The Content resource for these menu types, created once per process (the
        same menu has the same content); None if Twilio cannot make it now."""
        key = hashlib.sha256(json.dumps(types, sort_keys=True).encode()).hexdigest()
        with self._lock:
            if key in self._contents:
                self._contents.move_to_end(key)
                return self._contents[key]
        request = ContentList.ContentCreateRequest(
            {"friendly_name": f"menu_{key[:16]}", "language": "es", "types": types}
        )
        try:
            sid = self.client.content.v1.contents.create(request).sid
        except Exception as exc:  # any failure: the numbered text still goes
            log.warning("twilio: interactive menu unavailable (%s); numbered text sent",
                        exc.__class__.__name__)  # fmt: skip
            return None
        with self._lock:
            self._contents[key] = sid
            while len(self._contents) > MAX_CONTENTS:
                self._contents.popitem(last=False)
        return sid

    def _create(self, address: str, **content: str) -> None:
        """POST Messages.json, the request `client.messages.create` makes (From, To, and
        Body or ContentSid, with the account's basic authorisation), over the pooled
        client (bot/channels/poster.py says why). Twilio answers 201 with the message;
        429 and 5xx are worth a retry, any other error is not."""
        fields = {"From": self.from_, "To": address}
        fields.update(
            {"ContentSid" if k == "content_sid" else "Body": v for k, v in content.items()}
        )
        answer = self._poster.post(self._messages, fields)
        if 200 <= answer.status < 300:
            return
        if answer.status == 429 or answer.status >= 500:
            raise TransientError(f"twilio: HTTP {answer.status}")
        code = answer.body.get("code") if isinstance(answer.body, dict) else None
        raise PermanentError(f"twilio: HTTP {answer.status} code {code}")
