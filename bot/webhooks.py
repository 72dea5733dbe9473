"""Webhooks: verify, record durably, answer. Nothing else happens in the request.

A webhook answers 2xx only after the message is in the durable inbox (guarantee 1);
redeliveries are recognised by `update_id` / `MessageSid` (guarantee 2). If the store
is down, the answer itself carries the emergency message (TwiML for WhatsApp, the
webhook-reply method for Telegram) and the message goes to the encrypted spool
(guarantee 6). A message urgent on its own words is answered the same way with its
numbers even when the store is up, since the worker may be waiting for a slow store.
The adapters only translate; the conversation happens in the worker.
"""

from __future__ import annotations

import hmac
import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels import sms, telegram, whatsapp
from bot.conversation import inbound_to_dict
from bot.runtime import Runtime
from bot.store.port import StoreUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
# A message's statuses as Twilio documents them (Messaging webhooks, MessageStatus).
TWILIO_STATUSES = frozenset({"accepted", "scheduled", "canceled", "queued", "sending", "sent",
                             "failed", "delivered", "undelivered", "receiving", "received",
                             "read", "partially_delivered"})  # fmt: skip


def runtime() -> Runtime:
    return current_app.extensions["bot"]


EMPTY_TWIML = str(MessagingResponse())  # most answers: built once, not per request


def _twiml(text: str | None = None) -> Response:
    if not text:
        return Response(EMPTY_TWIML, mimetype="application/xml")
    reply = MessagingResponse()
    reply.message(text)
    return Response(str(reply), mimetype="application/xml")


def _twilio_url() -> str:
    base = runtime().config.public_base_url
    if base:
        query = request.query_string.decode()
        return f"{base}{request.path}" + (f"?{query}" if query else "")
    return request.url


def _twilio_signed() -> bool:
    token = runtime().config.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(token) and whatsapp.valid_signature(token, _twilio_url(), request.form, signature)


@bp.post("/whatsapp")
def whatsapp_inbound() -> Response | tuple[Response, int]:
    if not _twilio_signed():
        return jsonify(error="invalid signature"), 403
    try:
        parsed = whatsapp.parse(request.form)
    except whatsapp.BadRequest as exc:
        return jsonify(error=str(exc)), 400
    rt = runtime()
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


@bp.post("/whatsapp/status")
def whatsapp_status() -> Response | tuple[Response, int]:
    if not _twilio_signed():
        return jsonify(error="invalid signature"), 403
    status = (request.form.get("MessageStatus") or "").lower()
    if not status:
        return jsonify(error="MessageStatus is required"), 400
    if status not in TWILIO_STATUSES:  # the audit names Twilio's statuses, nothing else
        return jsonify(error="unknown MessageStatus"), 400
    code = request.form.get("ErrorCode") or ""
    if code and not code.isdigit():
        return jsonify(error="ErrorCode is a number"), 400
    from bot.store.records import AuditEntry, Commit

    detail = f"error={code[:8]}" if code else ""
    try:  # metadata only: no number, no text
        runtime().store.commit(
            Commit(
                "twilio",
                audit=[AuditEntry(time.time(), "twilio", f"delivery.{status}", None, detail)],
            ),
            time.time(),
        )
    except StoreUnavailable:
        log.error("store unavailable: delivery status not recorded")
    return jsonify(ok=True)


@bp.post("/telegram")
def telegram_inbound() -> Response | tuple[Response, int]:
    rt = runtime()
    secret = rt.config.telegram_webhook_secret or ""
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
        return jsonify(error="invalid secret token"), 403
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than any update: not Telegram
        data = None
    if not isinstance(data, dict):
        return jsonify(error="expected a Telegram update (a JSON object)"), 400
    try:
        parsed = telegram.parse(data)
    except telegram.BadUpdate as exc:
        return jsonify(error=f"malformed update: {exc}"), 400
    if parsed is None:
        return jsonify(ok=True, ignored=True)
    direct = rt.telegram_direct(parsed)
    if parsed.inbound is None:  # a group to leave, a spinner to stop: nothing to record
        return jsonify(direct) if direct else jsonify(ok=True, ignored=True)
    inbound = {**inbound_to_dict(parsed.inbound), "seq": parsed.update_id}
    urgent = rt.urgent_inline(parsed.inbound, inbound)
    if rt.accept_inbound(telegram.NAME, parsed.address, inbound, parsed.dedup_key):
        if direct:  # stop the button's spinner, in the webhook reply itself
            return jsonify(direct)
        if urgent:  # the numbers now, whatever the worker is waiting for
            return jsonify(method="sendMessage", chat_id=int(parsed.address), text=urgent.text)
        return jsonify(ok=True)
    text = urgent.text if urgent else rt.engine.emergency(parsed.inbound.lang_hint)[0].text
    return jsonify(method="sendMessage", chat_id=int(parsed.address), text=text)
