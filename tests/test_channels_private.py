"""Channels against what Telegram and Twilio really send (issue 13), end to end.

Private chats only, SMS as its own channel or not at all, a location or a caption as
the very first message, button presses without data, media of every kind: through
the real app, worker and sender, with the platforms faked by local servers.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from typing import Any

from channel_stack import TW_NUMBER, TW_SMS, Stack, text_update, wa_form
from fakes.servers import messages

FROM = {"id": 42, "is_bot": False, "first_name": "X", "language_code": "en"}


def group_message(update_id: int, kind: str = "supergroup") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 7, "date": 1_700_000_000, "from": FROM, "text": "hola",
            "chat": {"id": -1001234567890, "type": kind, "title": "Familia"},
        },
    }  # fmt: skip


def _sessions(stack: Stack, channel: str, address: str) -> object:
    return stack.runtime.service.user_for(channel, address, create=False)


def test_a_group_message_gets_no_reply_and_the_bot_leaves(stack: Stack, caplog) -> None:
    for i, kind in enumerate(("group", "supergroup")):
        response = stack.tg(group_message(900 + i, kind))
        assert response.status_code == 200
        assert response.json() == {"method": "leaveChat", "chat_id": -1001234567890}
    added = {
        "update_id": 910,
        "my_chat_member": {
            "chat": {"id": -4001, "type": "group", "title": "x"}, "from": FROM, "date": 1,
            "old_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "b"}, "status": "left"},
            "new_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "b"}, "status": "member"},
        },
    }  # fmt: skip
    assert stack.tg(added).json() == {"method": "leaveChat", "chat_id": -4001}
    stack.drain()
    assert messages(stack.telegram) == []
    assert _sessions(stack, "telegram", "-1001234567890") is None
    assert "1001234567890" not in caplog.text and "4001" not in caplog.text


def test_the_on_call_alert_group_is_not_left(stack: Stack) -> None:
    config = stack.runtime.config
    stack.runtime.config = dataclasses.replace(
        config, operator_alert_telegram_chat="-1001234567890"
    )
    try:
        assert stack.tg(group_message(920)).json() == {"ok": True, "ignored": True}
    finally:
        stack.runtime.config = config
    stack.drain()
    assert messages(stack.telegram) == []


def test_a_button_in_a_group_or_without_data_only_stops_the_spinner(stack: Stack) -> None:
    game = {
        "update_id": 930,
        "callback_query": {"id": "cb9", "from": FROM, "chat_instance": "1", "game_short_name": "g",
                           "inline_message_id": "AAA"},
    }  # fmt: skip
    assert stack.tg(game).json() == {"method": "answerCallbackQuery", "callback_query_id": "cb9"}
    stack.drain()
    assert messages(stack.telegram) == []


def test_an_sms_is_answered_by_sms_only_with_its_number(stack: Stack) -> None:
    form = {**wa_form("SM901", "+51977000000", "hola"), "To": TW_SMS, "FromCity": "LIMA"}
    assert stack.wa(form).status_code == 200
    stack.drain()
    [sent] = stack.twilio.received
    assert sent["From"] == TW_SMS and sent["To"] == "+51977000000"
    assert "Elige tu idioma" in sent["Body"] and "👋" not in sent["Body"]

    config = stack.runtime.config
    stack.runtime.config = dataclasses.replace(config, twilio_sms_number=None)
    try:
        answer = stack.wa({**wa_form("SM902", "+51977000001", "me quieren matar"), "To": TW_SMS})
    finally:
        stack.runtime.config = config
    assert answer.status_code == 200 and "<Message>" not in answer.text
    stack.drain()
    assert len(stack.twilio.received) == 1  # nothing more, and never over WhatsApp
    assert _sessions(stack, "sms", "+51977000001") is None


def test_a_location_as_the_first_message_gets_the_nearest_help(stack: Stack) -> None:
    update = text_update(940, 4400, "", lang="en")
    del update["message"]["text"]
    update["message"]["location"] = {"latitude": -3.57, "longitude": -80.45}
    assert stack.tg(update).status_code == 200
    stack.drain()
    first, language = (m["text"] for m in messages(stack.telegram)[:2])
    assert "Tumbes" in first and "Call before you go" in first
    assert "Choose your language" in language

    form = {**wa_form("SM940", "whatsapp:+51977000002", ""), "Latitude": "-13.52",
            "Longitude": "-71.97", "Address": "Plaza de Armas", "Label": "Cusco"}  # fmt: skip
    stack.wa(form)
    stack.drain()
    assert "Cusco" in stack.twilio.received[0]["Body"]


def test_a_caption_is_read_and_can_escalate(stack: Stack) -> None:
    update = text_update(950, 4500, "", lang="es")
    del update["message"]["text"]
    update["message"]["photo"] = [
        {"file_id": "AgAD", "width": 90, "height": 90}
    ]  # no file_unique_id
    update["message"]["caption"] = "me quitaron el pasaporte y no me dejan salir"
    assert stack.tg(update).status_code == 200
    stack.drain()
    texts = [m["text"] for m in messages(stack.telegram)]
    assert any("¿Quieres que una persona de nuestro equipo" in t for t in texts), texts
    assert not any("no puedo escuchar audios" in t for t in texts)
    stack.tg(text_update(951, 4500, "sí"))
    stack.drain()
    user = stack.runtime.service.user_for("telegram", "4500", create=False)
    case = stack.runtime.store.open_case_of(user, time.time())
    assert case is not None and "documents_withheld" in case.indicators


def test_each_media_kind_gets_a_reply_suited_to_it(stack: Stack) -> None:
    kinds = {
        "document": ({"file_id": "d", "file_name": "cv.pdf"}, "documento"),
        "contact": ({"phone_number": "+51900000000", "first_name": "Ana"}, "contacto"),
        "dice": ({"emoji": "🎲", "value": 3}, "solo puedo leer texto"),
        "voice": ({"file_id": "v", "duration": 3}, "no puedo escuchar audios"),
    }
    for i, (field, (value, expected)) in enumerate(kinds.items()):
        update = text_update(960 + i, 4600 + i, "", lang="es")
        del update["message"]["text"]
        update["message"][field] = value
        assert stack.tg(update).status_code == 200
        stack.drain()
        texts = [m["text"] for m in messages(stack.telegram) if m["chat_id"] == str(4600 + i)]
        assert any(expected in t for t in texts), (field, texts)


def test_fields_the_bot_does_not_use_may_be_missing_or_new(stack: Stack) -> None:
    update = text_update(970, 4700, "hola")
    del update["message"]["from"], update["message"]["date"], update["message"]["message_id"]
    update["message"]["chat"] = {"id": 4700}  # no type: a positive id is a private chat
    update["message"]["some_future_field"] = {"x": [1, 2]}
    update["business_connection_id"] = "abc"
    assert stack.tg(update).status_code == 200
    for broken in ({"update_id": 971, "message": {"text": "hola"}},
                   {"update_id": 972, "message": {"chat": {"id": "abc"}, "text": "x"}},
                   {"update_id": 973, "callback_query": {"data": "x"}}):  # fmt: skip
        assert stack.tg(broken).status_code == 400, broken
    stack.drain()
    assert len(messages(stack.telegram)) >= 1


def test_twilio_status_posted_to_the_message_url_is_not_a_message(stack: Stack) -> None:
    form = {"MessageSid": "SM980", "SmsSid": "SM980", "From": f"whatsapp:{TW_NUMBER}",
            "To": "whatsapp:+51977000003", "MessageStatus": "delivered", "SmsStatus": "delivered"}  # fmt: skip
    assert stack.wa(form).status_code == 200
    stack.drain()
    assert stack.twilio.received == []


def test_the_quick_exit_clears_the_telegram_chat_and_leaves_one_neutral_line(
    stack: Stack,
) -> None:
    for i, text in enumerate(["hola", "1", "mis derechos", "receta"]):
        stack.tg(text_update(300 + i, 5300, text))
        stack.drain()
    sent = [r for r in stack.telegram.received if r.get("chat_id") == "5300"]
    [clear] = [r for r in sent if r["method"] == "deleteMessages"]
    assert json.loads(clear["message_ids"]) == list(range(300, 304))
    after = sent[sent.index(clear) - 1]
    assert after["method"] == "sendMessage" and after["text"] == "Listo 👍"
    # the next message starts again, and nothing is cleared twice
    stack.tg(text_update(304, 5300, "hola"))
    stack.drain()
    assert len(messages(stack.telegram, "deleteMessages")) == 1


def test_delete_my_data_clears_the_telegram_chat_but_not_whatsapp(stack: Stack) -> None:
    for i, text in enumerate(["hola", "1", "borrar mis datos", "sí, borrar"]):
        stack.tg(text_update(400 + i, 5400, text))
        stack.wa(wa_form(f"SM54{i}", "whatsapp:+51977000054", text))
        stack.drain()
    [clear] = messages(stack.telegram, "deleteMessages")
    assert json.loads(clear["message_ids"]) == list(range(400, 404))
    bodies = [m["Body"] for m in stack.twilio.received]
    assert any("no podemos borrar nada de tu teléfono" in b for b in bodies)
    assert all(b.strip() for b in bodies)  # nothing empty went to Twilio


def test_whatsapp_menus_are_buttons_or_a_list_and_answer_the_same_way(stack: Stack) -> None:
    """Up to three options: quick replies; up to ten: a list; more: numbered text. A tap
    comes back as ButtonPayload or ListId, and typing still works."""
    sender = "whatsapp:+51977000060"
    stack.wa(wa_form("SM600", sender, "hola"))
    stack.drain()
    [language] = stack.twilio.received
    listed = language["content"]["twilio/list-picker"]
    assert [i["item"] for i in listed["items"]] == ["Español", "English", "Português", "Français"]
    assert language["ContentSid"].startswith("HX") and "1. Español" in language["Body"]

    stack.wa({**wa_form("SM601", sender, "Español"), "ListId": listed["items"][0]["id"]})
    stack.drain()
    check = stack.twilio.received[-1]
    actions = check["content"]["twilio/quick-reply"]["actions"]
    assert [a["title"] for a in actions] == ["Sí, puedo escribir", "Ahora no", "Menú"]

    stack.wa({**wa_form("SM602", sender, "Sí, puedo escribir"), "ButtonPayload": actions[0]["id"]})
    stack.drain()
    menu = stack.twilio.received[-1]
    assert "content" not in menu and "1. 🆘" in menu["Body"]  # eleven options: text

    stack.twilio.content_failures.append(500)  # Twilio cannot make the content now
    stack.wa(wa_form("SM603", sender, "no quiero denunciar"))
    stack.drain()
    assert "content" not in stack.twilio.received[-1]  # the numbered text went instead
    assert "1. " in stack.twilio.received[-1]["Body"]


def test_sms_menus_stay_numbered_text(stack: Stack) -> None:
    stack.wa({**wa_form("SM610", "+51977000061", "hola"), "To": TW_SMS})
    stack.drain()
    [sent] = stack.twilio.received
    assert "content" not in sent and "1. Español" in sent["Body"]


WAV = (b"RIFF" + (36 + 800).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
       + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
       + (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
       + b"data" + (800).to_bytes(4, "little") + bytes([128]) * 800)  # fmt: skip


def _consented(stack: Stack, chat: int, first: int) -> None:
    for i, text in enumerate(["hola", "1", "me quitaron el pasaporte y no me dejan salir", "sí"]):
        stack.tg(text_update(first + i, chat, text))
    stack.drain()


def test_a_voice_note_reaches_the_caseworker_only_within_consent(stack: Stack) -> None:
    stack.telegram.files["VOICE1"] = WAV
    voice = text_update(0, 0, "")
    del voice["message"]["text"]

    def send_voice(update_id: int, chat: int) -> None:
        voice["update_id"] = voice["message"]["message_id"] = update_id
        voice["message"]["chat"] = {"id": chat, "type": "private"}
        voice["message"]["voice"] = {"file_id": "VOICE1", "file_unique_id": "v", "duration": 1,
                                     "mime_type": "audio/wav"}  # fmt: skip
        assert stack.tg(voice).status_code == 200
        stack.drain()

    send_voice(700, 5700)  # no case, no consent: nothing fetched, a reply that says so
    assert not [r for r in stack.telegram.received if r["method"] == "getFile"]
    assert "no puedo escuchar audios" in messages(stack.telegram)[-2]["text"]

    _consented(stack, 5701, 710)
    send_voice(720, 5701)
    assert "Recibimos tu archivo" in messages(stack.telegram)[-1]["text"]
    user = stack.runtime.service.user_for("telegram", "5701", create=False)
    case = stack.runtime.store.open_case_of(user, time.time())
    [note] = [
        m for m in stack.runtime.store.case_messages(case.id, time.time()) if m.kind == "audio"
    ]
    stored = json.loads(note.text)
    assert stored["mime"] == "audio/wav" and base64.b64decode(stored["data"]) == WAV


def test_a_whatsapp_voice_note_is_fetched_with_the_account_credentials(stack: Stack) -> None:
    from channel_stack import TW_SID, TW_TOKEN

    path = f"/2010-04-01/Accounts/{TW_SID}/Messages/MM1/Media/ME1"
    stack.twilio.media[path], stack.twilio.auth = WAV, f"{TW_SID}:{TW_TOKEN}"
    sender = "whatsapp:+51977000070"
    for i, text in enumerate(
        ["hola", "1", "1", "me quitaron el pasaporte y no me dejan salir", "sí"]
    ):
        stack.wa(wa_form(f"SM70{i}", sender, text))
    stack.drain()
    media = {**wa_form("SM709", sender, ""), "NumMedia": "1", "MediaContentType0": "audio/ogg",
             "MediaUrl0": stack.twilio.url + path}  # fmt: skip
    stack.wa(media)
    stack.drain()
    user = stack.runtime.service.user_for("whatsapp", sender, create=False)
    case = stack.runtime.store.open_case_of(user, time.time())
    kinds = [m.kind for m in stack.runtime.store.case_messages(case.id, time.time())]
    assert "audio" in kinds, kinds
    elsewhere = {**media, "MessageSid": "SM710", "MediaUrl0": "https://example.org" + path}
    stack.wa(elsewhere)  # a URL not on Twilio's own host is never fetched
    stack.drain()
    texts = [m.text for m in stack.runtime.store.case_messages(case.id, time.time())]
    assert any("no se pudo descargar" in t for t in texts)


def test_signed_but_hostile_bodies_get_400_or_are_kept_never_500(stack: Stack) -> None:
    deep = b'{"update_id": 1, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert stack.tg_raw(deep).status_code == 400
    wrong = {"update_id": 2, "message": "str"}
    assert stack.tg(wrong).status_code == 400
    huge_date = text_update(3, 5800, "hola")
    huge_date["message"]["date"] = 10**30
    assert stack.tg(huge_date).status_code == 200
    surrogate = b'{"update_id": 4, "message": {"message_id": 4, "chat": {"id": 5801, "type": "private"}, "text": "me quitaron el pasaporte \\ud800"}}'
    assert stack.tg_raw(surrogate).status_code == 200
    stack.drain()
    texts = [m["text"] for m in messages(stack.telegram) if m["chat_id"] == "5801"]
    assert texts, "the message with a lone surrogate was recorded and answered"


def _dump(stack: Stack) -> bytes:
    """Everything the store holds, as bytes: SQLite's file and WAL, or every Redis key
    under the stack's prefix with its value."""
    store = stack.runtime.store
    if hasattr(store, "path"):
        files = [store.path, store.path.with_name(store.path.name + "-wal")]
        return b"".join(p.read_bytes() for p in files if p.exists())
    out = b""
    for key in store.r.scan_iter(match=store.keys.prefix + "*", count=1000):
        kind = store.r.type(key)
        value = store.r.dump(key) or b""
        out += key + b"=" + kind + value
    return out


def test_after_delete_my_data_no_message_id_or_address_remains(stack: Stack) -> None:
    sender, sids = "whatsapp:+51977000090", [f"SMdel{i:028d}" for i in range(4)]
    for sid, text in zip(sids, ["hola", "1", "borrar mis datos", "sí, borrar"], strict=True):
        stack.wa(wa_form(sid, sender, text))
        stack.drain()
    stack.tg(text_update(990, 5990, "hola"))
    stack.drain()
    dump = _dump(stack)
    assert b"SMdel" not in dump and b"977000090" not in dump
    assert b"tg:990" not in dump
