"""Webhooks: verify, record durably, answer. Nothing else happens in the request.

A webhook answers 2xx only after the message is in the durable inbox (guarantee 1);
redeliveries are recognised by `update_id` / `MessageSid` (guarantee 2). If the store
is down, the answer itself carries the emergency message (TwiML for WhatsApp, the
webhook-reply method for Telegram) and the message goes to the encrypted spool
(guarantee 6). A message urgent on its own words is answered the same way with its
numbers even when the store is up, since the worker may be waiting for a slow store.
The adapters only translate; the conversation happens in the worker.

The three routes are served beside Flask, not through it (`Webhooks`, a WSGI layer in
front of the app): Flask's request context, URL matching, hooks and response machinery
were two fifths of a webhook's CPU (py-spy, issue 15), and a webhook needs none of them
(no session, login or CSRF: it is authenticated by its signature). Everything else
(/healthz, /readyz, the console) goes on to Flask. Answers are the same as Flask's: JSON
errors with their status, 413 before any parse, 405 for other methods.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from bot.channels import sms, telegram, whatsapp
from bot.conversation import inbound_to_dict
from bot.runtime import Runtime
from bot.store.port import StoreUnavailable

log = logging.getLogger(__name__)
PREFIX = "/webhooks"
# A message's statuses as Twilio documents them (Messaging webhooks, MessageStatus).
TWILIO_STATUSES = frozenset({"accepted", "scheduled", "canceled", "queued", "sending", "sent",
                             "failed", "delivered", "undelivered", "receiving", "received",
                             "read", "partially_delivered"})  # fmt: skip

# (status, content type, body)
Answer = tuple[int, str, bytes]
JSON, XML = "application/json", "application/xml"


def _json(code: int = 200, **fields: Any) -> Answer:
    return code, JSON, json.dumps(fields, separators=(",", ":")).encode()


def _error(status: int, message: str) -> Answer:
    return _json(status, error=message)


def _http_error(code: int) -> Answer:
    """An HTTP error in the body Flask's handler gives (bot/web.py `http_error`)."""
    return _json(code, error=HTTP_STATUS_CODES.get(code, "Error"), status=code)


# The most frequent answers, built once, not per request.
OK = _json(ok=True)
IGNORED = _json(ok=True, ignored=True)
EMPTY_TWIML = str(MessagingResponse())
EMPTY_TWIML_ANSWER: Answer = (200, XML, EMPTY_TWIML.encode())


def _twiml(text: str | None = None) -> Answer:
    if not text:
        return EMPTY_TWIML_ANSWER
    reply = MessagingResponse()
    reply.message(text)
    return 200, XML, str(reply).encode()


def _twilio_url(rt: Runtime, request: Request) -> str:
    base = rt.config.public_base_url
    if base:
        query = request.query_string.decode()
        return f"{base}{request.path}" + (f"?{query}" if query else "")
    return request.url


def _twilio_signed(rt: Runtime, request: Request) -> bool:
    token = rt.config.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    url = _twilio_url(rt, request)
    return bool(token) and whatsapp.valid_signature(token, url, request.form, signature)


def whatsapp_inbound(rt: Runtime, request: Request) -> Answer:
    if not _twilio_signed(rt, request):
        return _error(403, "invalid signature")
    try:
        parsed = whatsapp.parse(request.form)
    except whatsapp.BadRequest as exc:
        return _error(400, str(exc))
    if parsed is None:  # a delivery status sent to the message URL
        return _twiml()
    if parsed.channel == sms.NAME and not rt.config.twilio_sms_number:
        # Never answered over WhatsApp (Twilio refuses it, the person gets nothing),
        # and nothing is kept: SMS is not a channel here.
        log.info("twilio: an SMS arrived and TWILIO_SMS_NUMBER is not set; not answered")
        return _twiml()
    # The order of receipt: one person's concurrent deliveries are processed in it.
    inbound = {**inbound_to_dict(parsed.inbound), "seq": time.time()}
    urgent = rt.urgent_inline(parsed.inbound, inbound)
    if rt.accept_inbound(parsed.channel, parsed.address, inbound, parsed.dedup_key):
        return _twiml(urgent.text if urgent else None)
    # Spooled: the urgent numbers if the words asked for them, else the emergency message.
    return _twiml(urgent.text if urgent else rt.engine.emergency("es")[0].text)


def whatsapp_status(rt: Runtime, request: Request) -> Answer:
    if not _twilio_signed(rt, request):
        return _error(403, "invalid signature")
    status = (request.form.get("MessageStatus") or "").lower()
    if not status:
        return _error(400, "MessageStatus is required")
    if status not in TWILIO_STATUSES:  # the audit names Twilio's statuses, nothing else
        return _error(400, "unknown MessageStatus")
    code = request.form.get("ErrorCode") or ""
    if code and not code.isdigit():
        return _error(400, "ErrorCode is a number")
    from bot.store.records import AuditEntry, Commit

    detail = f"error={code[:8]}" if code else ""
    try:  # metadata only: no number, no text
        rt.store.commit(
            Commit(
                "twilio",
                audit=[AuditEntry(time.time(), "twilio", f"delivery.{status}", None, detail)],
            ),
            time.time(),
        )
    except StoreUnavailable:
        log.error("store unavailable: delivery status not recorded")
    return OK


def _send(address: str, text: str) -> Answer:
    return _json(method="sendMessage", chat_id=int(address), text=text)


def telegram_inbound(rt: Runtime, request: Request) -> Answer:
    secret = rt.config.telegram_webhook_secret or ""
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
        return _error(403, "invalid secret token")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than any update: not Telegram
        data = None
    if not isinstance(data, dict):
        return _error(400, "expected a Telegram update (a JSON object)")
    try:
        parsed = telegram.parse(data)
    except telegram.BadUpdate as exc:
        return _error(400, f"malformed update: {exc}")
    if parsed is None:
        return IGNORED
    direct = rt.telegram_direct(parsed)
    if parsed.inbound is None:  # a group to leave, a spinner to stop: nothing to record
        return _json(**direct) if direct else IGNORED
    inbound = {**inbound_to_dict(parsed.inbound), "seq": parsed.update_id}
    urgent = rt.urgent_inline(parsed.inbound, inbound)
    if rt.accept_inbound(telegram.NAME, parsed.address, inbound, parsed.dedup_key):
        if direct:  # stop the button's spinner, in the webhook reply itself
            return _json(**direct)
        if urgent:  # the numbers now, whatever the worker is waiting for
            return _send(parsed.address, urgent.text)
        return OK
    text = urgent.text if urgent else rt.engine.emergency(parsed.inbound.lang_hint)[0].text
    return _send(parsed.address, text)


ROUTES: dict[str, Callable[[Runtime, Request], Answer]] = {
    f"{PREFIX}/telegram": telegram_inbound,
    f"{PREFIX}/whatsapp": whatsapp_inbound,
    f"{PREFIX}/whatsapp/status": whatsapp_status,
}
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


class Webhooks:
    """WSGI: the webhook routes answered here, every other path handed to `app`."""

    def __init__(self, app: WSGIApp, runtime: Runtime, max_body: int) -> None:
        self.app, self.runtime, self.max_body = app, runtime, max_body

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        handler = ROUTES.get(environ.get("PATH_INFO", ""))
        if handler is None:
            return self.app(environ, start_response)
        status, ctype, body = self.answer(handler, environ)
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        if status == 405:
            headers.append(("Allow", "POST"))
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, '')}", headers)
        return [body]

    def answer(self, handler: Callable[[Runtime, Request], Answer], environ: dict) -> Answer:
        if environ.get("REQUEST_METHOD") != "POST":
            return _http_error(405)
        # 413 before anything else: no signature check or parse on a huge body.
        if not self.bounded(environ):
            return _http_error(413)
        request = Request(environ)
        request.max_content_length = self.max_body
        try:
            return handler(self.runtime, request)
        except HTTPException as exc:  # a body over the limit without a length, say
            return _http_error(exc.code or 400)
        except Exception:
            log.exception("unexpected error in a webhook")  # the body is never logged
            return _error(500, "internal error")

    def bounded(self, environ: dict) -> bool:
        """False for a body over the limit. A chunked body (no Content-Length) is read
        here up to one byte past the limit: werkzeug would cut it at the limit without
        a word, and a cut form is a different message."""
        length = environ.get("CONTENT_LENGTH")
        if length:
            try:
                return int(length) <= self.max_body
            except ValueError:
                return False
        if not environ.get("wsgi.input_terminated"):
            return True  # no length and no end marker: WSGI says there is no body
        data = environ["wsgi.input"].read(self.max_body + 1)
        if len(data) > self.max_body:
            return False
        environ.update({"wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data)),
                        "wsgi.input_terminated": False})  # fmt: skip
        return True
