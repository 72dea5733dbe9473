"""Telegram and WhatsApp end to end, on both storage adapters.

Real HTTP requests go into the app (served by a real WSGI server); the real
python-telegram-bot and twilio clients deliver the replies to local fake servers.
"""

from __future__ import annotations

import json

import pytest

from bot.worker import Sender, Worker

from channel_stack import (
    TG_SECRET,
    TG_TOKEN,
    TW_NUMBER,
    TW_SID,
    TW_TOKEN,
    Stack,
    expected_replies,
    text_update,
    wa_form,
)
from fakes.servers import messages


def test_signed_whatsapp_message_gets_its_reply(stack: Stack) -> None:
    import base64

    response = stack.wa(wa_form("SM1", "whatsapp:+51911111111", "hola"))
    assert response.status_code == 200 and "<Response" in response.text
    stack.drain()
    [sent] = stack.twilio.received
    assert sent["To"] == "whatsapp:+51911111111" and sent["From"] == f"whatsapp:{TW_NUMBER}"
    assert "Elige tu idioma" in sent["Body"] and "1. Español" in sent["Body"]
    assert sent["path"] == f"/2010-04-01/Accounts/{TW_SID}/Messages.json"
    # the account's credentials, as the twilio library sends them (basic auth)
    credentials = base64.b64encode(f"{TW_SID}:{TW_TOKEN}".encode()).decode()
    assert sent["authorization"] == f"Basic {credentials}"


@pytest.mark.parametrize("signature", ["", "forged"])
def test_bad_or_missing_twilio_signature_is_403(stack: Stack, signature: str) -> None:
    headers = {"X-Twilio-Signature": signature} if signature else {}
    response = stack.http.post(f"{stack.base}/webhooks/whatsapp", data=wa_form("SM2", "whatsapp:+51", "hola"),
                               headers=headers)  # fmt: skip
    assert response.status_code == 403
    stack.drain()
    assert stack.twilio.received == []


def test_twilio_signatures_follow_the_library_rules_whatever_the_shortcut() -> None:
    """One HMAC for a request signed for our URL; the library's full check (the URL with
    and without its port) for anything else; a forged or stale one is refused."""
    from twilio.request_validator import RequestValidator

    from bot.channels.whatsapp import valid_signature

    url = "https://bot.example.org/webhooks/whatsapp"
    form = wa_form("SM3", "whatsapp:+51911111111", "hola")
    sign = RequestValidator(TW_TOKEN).compute_signature
    assert valid_signature(TW_TOKEN, url, form, sign(url, form))
    assert valid_signature(TW_TOKEN, url, form, sign(url.replace(".org/", ".org:443/"), form))
    assert not valid_signature(TW_TOKEN, url, form, sign(url, {**form, "Body": "otra cosa"}))
    assert not valid_signature("another-token", url, form, sign(url, form))
    assert not valid_signature(TW_TOKEN, url, form, "")
    assert not valid_signature(TW_TOKEN, url, form, "é" + sign(url, form))


def test_telegram_update_gets_an_inline_keyboard(stack: Stack) -> None:
    assert stack.tg(text_update(10, 555, "hola")).status_code == 200
    stack.drain()
    # language_code "es" skips the language menu; what the service is for comes only
    # after the safety check (a neutral first bubble for a notification preview)
    welcome, check = messages(stack.telegram)
    assert welcome["chat_id"] == check["chat_id"] == "555" and check["token"] == TG_TOKEN
    assert welcome["text"].startswith("Hola, gracias por escribir")
    keyboard = json.loads(check["reply_markup"])["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard][:2] == ["Sí, puedo escribir", "Ahora no"]
    assert keyboard[0][0]["callback_data"] == "opt:safety_check:0"


def test_wrong_telegram_secret_is_403(stack: Stack) -> None:
    assert stack.tg(text_update(11, 555, "hola"), secret="nope").status_code == 403
    assert stack.tg(text_update(12, 555, "hola"), secret="").status_code == 403
    stack.drain()
    assert messages(stack.telegram) == []


def test_redeliveries_produce_one_reply(stack: Stack) -> None:
    for _ in range(3):
        assert stack.tg(text_update(20, 777, "hola")).status_code == 200
        assert stack.wa(wa_form("SM20", "whatsapp:+51922222222", "hola")).status_code == 200
    stack.drain()
    assert len(messages(stack.telegram)) == 2  # the neutral welcome and the safety check
    assert len(stack.twilio.received) == 1  # the language menu


def test_twenty_quick_messages_are_answered_in_order(stack: Stack) -> None:
    topics = ["mis derechos", "líneas de ayuda", "periodo de reflexión", "quiero denunciar", "menú"]
    texts = ["hola", "1"] + [topics[i % len(topics)] for i in range(18)]
    for i, text in enumerate(texts):
        assert stack.tg(text_update(100 + i, 888, text)).status_code == 200
    stack.drain(workers=3)
    expected = expected_replies(stack.runtime.engine, texts)
    assert [m["text"] for m in messages(stack.telegram)] == expected


def test_callback_button_press(stack: Stack) -> None:
    stack.tg(text_update(30, 999, "hola"))
    update = {
        "update_id": 31,
        "callback_query": {
            "id": "cb1", "chat_instance": "x", "data": "opt:safety_check:0",
            "from": {"id": 999, "is_bot": False, "first_name": "X", "language_code": "es"},
            "message": {"message_id": 5, "date": 1_700_000_000, "chat": {"id": 999, "type": "private"}},
        },
    }  # fmt: skip
    response = stack.tg(update)
    assert response.json() == {"method": "answerCallbackQuery", "callback_query_id": "cb1"}
    stack.drain()
    assert "¿En qué te puedo ayudar?" in messages(stack.telegram)[-1]["text"]


def test_location_pin_and_media(stack: Stack) -> None:
    sender = "whatsapp:+51933333333"
    for i, body in enumerate(["hola", "1", "1", "9", "1"]):
        stack.wa(wa_form(f"SM4{i}", sender, body))
    stack.wa({**wa_form("SM49", sender, ""), "Latitude": "-3.57", "Longitude": "-80.45"})
    stack.wa({**wa_form("SM50", sender, ""), "NumMedia": "1", "MediaContentType0": "audio/ogg"})
    stack.drain()
    bodies = [m["Body"] for m in stack.twilio.received]
    assert any("Tumbes" in b.splitlines()[0] for b in bodies)
    assert "no puedo escuchar audios" in bodies[-2] or "no puedo escuchar audios" in bodies[-1]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"[]", {"Content-Type": "application/json"}, 400),
        (b'{"update_id": "x"}', {"Content-Type": "application/json"}, 400),
        (b"x" * 70_000, {"Content-Type": "application/json"}, 413),
    ],
)
def test_malformed_telegram_bodies(stack: Stack, body: bytes, headers: dict, status: int) -> None:
    response = stack.http.post(f"{stack.base}/webhooks/telegram", content=body,
                               headers={**headers, "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})  # fmt: skip
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("kind", ["edited_message", "channel_post"])
def test_unknown_update_types_are_ignored(stack: Stack, kind: str) -> None:
    update = text_update(40, 123, "hola")
    update[kind] = update.pop("message")
    response = stack.tg(update)
    assert response.status_code == 200 and response.json()["ignored"] is True
    stack.drain()
    assert messages(stack.telegram) == []


def test_stale_callback_data_gets_a_helpful_reply(stack: Stack) -> None:
    stack.tg(text_update(50, 321, "hola"))
    stack.drain()
    before = len(messages(stack.telegram))
    update = {
        "update_id": 51,
        "callback_query": {
            "id": "cb2", "chat_instance": "x", "data": "opt:node.that.is.gone:7",
            "from": {"id": 321, "is_bot": False, "first_name": "X"},
            "message": {"message_id": 5, "date": 1_700_000_000, "chat": {"id": 321, "type": "private"}},
        },
    }  # fmt: skip
    assert stack.tg(update).status_code == 200
    stack.drain()
    assert any("No entendí" in m["text"] for m in messages(stack.telegram)[before:])


def test_malformed_and_oversized_twilio_forms(stack: Stack) -> None:
    assert stack.wa({"Body": "hola"}).status_code == 400  # signed, but no MessageSid/From
    assert (
        stack.wa(
            {**wa_form("SM60", "whatsapp:+51", ""), "Latitude": "x", "Longitude": "y"}
        ).status_code
        == 400
    )
    big = stack.http.post(f"{stack.base}/webhooks/whatsapp", data={"Body": "x" * 70_000})
    assert big.status_code == 413


def test_status_callback_records_metadata_only(stack: Stack) -> None:
    form = {
        "MessageSid": "SM70",
        "MessageStatus": "failed",
        "ErrorCode": "63016",
        "To": "whatsapp:+51944444444",
    }
    assert stack.wa(form, path="/webhooks/whatsapp/status").status_code == 200
    [entry] = stack.runtime.store.audit_log(__import__("time").time())
    assert entry.action == "delivery.failed" and entry.detail == "error=63016"
    assert "+51944444444" not in repr(entry)


def test_signed_twilio_fields_the_bot_never_sees_are_refused(stack: Stack) -> None:
    """The review (with the auth token): a made-up status became an audit action, and a
    5,000-digit sender got a reply. Signed or not, they are 400 and record nothing."""
    status = {"MessageSid": "SM71", "MessageStatus": "<script>x</script>", "To": "whatsapp:+1"}
    assert stack.wa(status, path="/webhooks/whatsapp/status").status_code == 400
    odd_code = {"MessageSid": "SM72", "MessageStatus": "failed", "ErrorCode": "x" * 300}
    assert stack.wa(odd_code, path="/webhooks/whatsapp/status").status_code == 400
    assert stack.runtime.store.audit_log(__import__("time").time()) == []
    huge = {"MessageSid": "SM73", "From": "whatsapp:+" + "5" * 5000, "Body": "hola"}
    assert stack.wa(huge).status_code == 400
    stack.drain()
    assert not stack.twilio.received


def test_transient_failures_are_retried_permanent_ones_dead_lettered(stack: Stack) -> None:
    stack.telegram.failures.extend([500])
    stack.tg(text_update(80, 4242, "hola"))
    sender = Sender(stack.runtime.store, stack.runtime.senders)
    Worker(stack.runtime.store, stack.runtime.service).run_once()
    sender.run_once()
    assert sender.stats["retried"] == 1 and messages(stack.telegram) == []
    stack.twilio.failures.extend([400])
    stack.wa(wa_form("SM80", "whatsapp:+51955555555", "hola"))
    Worker(stack.runtime.store, stack.runtime.service).run_once()
    sender.run_once()
    [dead] = stack.runtime.store.dead_letters(__import__("time").time())
    assert dead.channel == "whatsapp" and "400" in dead.reason


def test_health(stack: Stack) -> None:
    """/healthz never waits for the store: it says what the last store call found."""
    assert stack.http.get(f"{stack.base}/healthz").json() == {"status": "ok", "store": "unknown"}
    assert stack.http.get(f"{stack.base}/readyz").status_code == 200
    assert stack.http.get(f"{stack.base}/healthz").json() == {"status": "ok", "store": "ok"}


def test_template_outside_the_whatsapp_window(stack: Stack) -> None:
    """An approved template goes by its content SID, with no free text at all."""
    sender = stack.runtime.senders["whatsapp"]
    sender.send("whatsapp:+51966666666", {"text": "secreto", "content_sid": "HX" + "0" * 32})
    [sent] = stack.twilio.received
    assert (
        sent["ContentSid"] == "HX" + "0" * 32 and "Body" not in sent and "secreto" not in str(sent)
    )


# ------------------------------------------------------- safety in a real conversation
def _say(stack: Stack, chat_id: int, first_update: int, texts: list[str]) -> list[list[str]]:
    """Send each text through the Telegram webhook; return the replies to each one, as
    Telegram shows them: the webhook's own answer (urgent numbers) first."""
    replies: list[list[str]] = []
    for i, text in enumerate(texts):
        before = len(messages(stack.telegram))
        response = stack.tg(text_update(first_update + i, chat_id, text))
        assert response.status_code == 200
        inline = [response.json()["text"]] if response.json().get("method") == "sendMessage" else []
        stack.drain()
        replies.append(inline + [m["text"] for m in messages(stack.telegram)[before:]])
    return replies


@pytest.mark.parametrize(
    "text", ["me quiero morir", "estoy embarazada y sangro", "auxilio me están pegando"]
)
def test_urgent_words_get_their_numbers_in_the_webhook_answer_once(stack: Stack, text: str) -> None:
    """Fault 6 with a store that accepted the message and then stalls (SQLite locked
    right after the inbox write): the numbers are already in the webhook's answer, before
    any worker runs, and the worker does not send them a second time."""
    expected = expected_replies(stack.runtime.engine, ["hola", "1", text])
    _say(stack, 6100, 610, ["hola", "1"])
    sent_before = len(messages(stack.telegram))
    response = stack.tg(text_update(612, 6100, text))
    assert response.json()["method"] == "sendMessage"  # no worker has run yet
    lead = response.json()["text"]
    assert "113" in lead or "105" in lead
    stack.drain()
    later = [m["text"] for m in messages(stack.telegram)[sent_before:]]
    assert lead not in later and later  # once, and the rest of the turn still comes
    replies = [m["text"] for m in messages(stack.telegram)[:sent_before]] + [lead, *later]
    assert replies == expected

    form = wa_form("SM612", "whatsapp:+51966100000", text)
    answer = stack.wa(form)
    assert "<Message>" in answer.text and ("113" in answer.text or "105" in answer.text)
    stack.drain()
    bodies = [r["Body"] for r in stack.twilio.received]
    assert bodies and all(b.strip() not in answer.text for b in bodies)


def test_ordinary_words_are_answered_by_the_worker_only(stack: Stack) -> None:
    response = stack.tg(text_update(620, 6200, "mis derechos"))
    assert response.json() == {"ok": True}
    assert "<Message>" not in stack.wa(wa_form("SM620", "whatsapp:+51966200000", "hola")).text


def _open_case(stack: Stack, chat_id: int):
    import time

    user = stack.runtime.service.user_for("telegram", str(chat_id), create=False)
    return stack.runtime.store.open_case_of(user, time.time())


def test_a_stray_y_is_not_consent_and_bleeding_gets_113_first(stack: Stack) -> None:
    replies = _say(stack, 4001, 500, ["hola", "1", "no me dejan salir"])
    assert "¿Quieres que una persona" in replies[2][-1] and _open_case(stack, 4001) is None
    [answer] = _say(stack, 4001, 510, ["estoy embarazada y sangro"])
    last = "\n".join(answer)
    assert last.index("113") < last.index("105")
    assert "4 horas" not in last and "15 minutos" in last
    case = _open_case(stack, 4001)
    assert case.level == "urgent" and "medical_emergency" in case.indicators


def test_an_age_then_exploitation_is_a_child_at_risk(stack: Stack) -> None:
    replies = _say(stack, 4002, 600, ["hola", "1", "tengo 15 años"])
    assert "1810" in "\n".join(replies[2]) and _open_case(stack, 4002) is None  # not escalated
    [later] = _say(stack, 4002, 610, ["mi jefe no me paga y no me deja salir"])
    case = _open_case(stack, 4002)
    assert case is not None
    assert case.level == "urgent" and {"minor", "movement_restricted"} <= set(case.indicators)
    assert "protección de la niñez" in "\n".join(later)


def test_stop_is_recorded_and_lifted_when_the_person_writes_again(stack: Stack) -> None:
    from bot.conversation import stopped

    _say(stack, 4003, 700, ["hola", "1", "me quitaron el pasaporte", "sí", "salir"])
    case = _open_case(stack, 4003)
    assert case is not None and stopped(case)
    _say(stack, 4003, 710, ["hola"])
    assert not stopped(_open_case(stack, 4003))


def test_telegram_errors_map_as_the_library_maps_them(stack: Stack) -> None:
    """The sender posts to the Bot API itself (bot/channels/telegram.py says why): a 429
    waits what Telegram asks, 400 and 403 are permanent, a 5xx or no answer transient;
    the keyboard is python-telegram-bot's own, encoded as the library encodes it."""
    from bot.channels.delivery import PermanentError, TransientError
    from bot.channels.telegram import TelegramSender, make_bot

    sender = stack.runtime.senders["telegram"]
    message = {"text": "hola", "buttons": [("Sí", "opt:x:0")]}
    stack.telegram.failures.extend([429, 403, 400, 502])
    with pytest.raises(TransientError) as waited:
        sender.send("4242", message)
    assert waited.value.retry_after == 1.0
    for error in (PermanentError, PermanentError, TransientError):
        with pytest.raises(error):
            sender.send("4242", message)
    sender.send("4242", message)
    [sent] = messages(stack.telegram)
    assert sent["chat_id"] == "4242" and sent["text"] == "hola"
    assert json.loads(sent["reply_markup"]) == {
        "inline_keyboard": [[{"text": "Sí", "callback_data": "opt:x:0"}]]
    }
    nobody = TelegramSender(make_bot("1:X", "http://127.0.0.1:9"))  # nothing listens there
    with pytest.raises(TransientError):
        nobody.send("4242", message)
    nobody.close()


def test_twilio_errors_map_as_the_client_maps_them(stack: Stack) -> None:
    """Messages are posted to Twilio as its client posts them (bot/channels/poster.py
    says why): 429 and 5xx are worth a retry, another 4xx is permanent and names
    Twilio's error code, no answer at all is transient."""
    from bot.channels.delivery import PermanentError, TransientError
    from bot.channels.whatsapp import WhatsAppSender

    sender = stack.runtime.senders["whatsapp"]
    stack.twilio.failures.extend([429, 503, 400])
    for _ in range(2):
        with pytest.raises(TransientError):
            sender.send("whatsapp:+51900000002", {"text": "hola"})
    with pytest.raises(PermanentError, match="HTTP 400 code 20500"):
        sender.send("whatsapp:+51900000002", {"text": "hola"})
    sender.send("whatsapp:+51900000002", {"text": "hola"})
    [sent] = stack.twilio.received
    assert sent["Body"] == "hola" and sent["From"] == f"whatsapp:{TW_NUMBER}"
    nobody = WhatsAppSender(TW_SID, TW_TOKEN, TW_NUMBER, api_base_url="http://127.0.0.1:9")
    with pytest.raises(TransientError, match="whatsapp: "):
        nobody.send("whatsapp:+51900000002", {"text": "hola"})


def test_a_proxy_named_at_start_carries_the_twilio_sends(monkeypatch) -> None:
    """The environment is read once (bot/channels/whatsapp.py says why), not ignored:
    a deployment behind HTTP(S)_PROXY reaches Twilio through it."""
    from bot.channels.whatsapp import WhatsAppSender

    from fakes.servers import fake_twilio

    proxy = fake_twilio()  # a forward proxy sees the absolute URL; this one answers it
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        sender = WhatsAppSender(
            TW_SID, "token", TW_NUMBER, api_base_url="http://api.twilio.invalid"
        )
        monkeypatch.delenv("HTTP_PROXY")  # read at start: later changes are not
        sender.send("whatsapp:+51900000001", {"text": "hola"})
        [sent] = proxy.received
        assert sent["path"].startswith("http://api.twilio.invalid/2010-04-01/Accounts/")
        assert sent["Body"] == "hola" and sent["To"] == "whatsapp:+51900000001"
    finally:
        proxy.stop()
