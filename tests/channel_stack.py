"""The whole stack on one storage adapter, as the platforms see it.

A real WSGI server runs the app; the real python-telegram-bot and twilio clients
deliver replies to local fake servers. Tests of the channels share it through the
`stack` fixture (conftest.py), on SQLite and on Redis.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from bot.channels.delivery import RateLimiter
from bot.config import Config, load_config, new_data_key
from bot.engine.types import Inbound, Session
from bot.runtime import Runtime
from bot.store.crypto import Crypto
from bot.web import create_app
from bot.worker import Sender, Worker

from fakes.servers import FakeServer, fake_telegram, fake_twilio

PUBLIC = "https://bot.example.org"
TG_TOKEN, TG_SECRET = "123456:TESTTOKEN", "webhook-secret-xyz"
TW_SID, TW_TOKEN, TW_NUMBER = "AC" + "1" * 32, "twilio-auth-token", "+14155238886"
TW_SMS = "+15005550006"


@dataclass
class Stack:
    runtime: Runtime
    base: str
    telegram: FakeServer
    twilio: FakeServer
    http: httpx.Client

    def tg(self, update: dict[str, Any], secret: str = TG_SECRET, **kw: Any) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        return self.http.post(f"{self.base}/webhooks/telegram", json=update, headers=headers, **kw)

    def tg_raw(self, body: bytes, secret: str = TG_SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
        return self.http.post(f"{self.base}/webhooks/telegram", content=body, headers=headers)

    def wa(
        self, form: dict[str, str], signed: bool = True, path: str = "/webhooks/whatsapp"
    ) -> httpx.Response:
        headers = {}
        if signed:
            headers["X-Twilio-Signature"] = RequestValidator(TW_TOKEN).compute_signature(
                PUBLIC + path, form
            )
        return self.http.post(f"{self.base}{path}", data=form, headers=headers)

    def drain(self, workers: int = 1) -> None:
        """Run worker(s) and the sender until nothing is left."""
        loops = [
            Worker(self.runtime.store, self.runtime.service, self.runtime.spool)
            for _ in range(workers)
        ]
        sender = Sender(self.runtime.store, self.runtime.senders)
        for _ in range(50):
            done = sum(w.run_once() for w in loops) + sender.run_once()
            if not done:
                return


def text_update(update_id: int, chat_id: int, text: str, lang: str = "es") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "X", "language_code": lang},
            "text": text,
        },
    }


def expected_replies(engine, texts: list[str], lang: str = "es") -> list[str]:
    """What the engine alone answers to these messages, in order: the reference that
    delivered replies are compared with."""
    session, expected = Session(), []
    for text in texts:
        result = engine.handle(session, Inbound(text=text, lang_hint=lang))
        session = result.session
        expected += [m.text for m in result.messages]
    return expected


def wa_form(sid: str, sender: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "From": sender,
        "To": f"whatsapp:{TW_NUMBER}",
        "Body": body,
        "NumMedia": "0",
    }


def stack_config(data_key: str, tmp_path: Path, telegram_url: str, twilio_url: str) -> Config:
    return load_config(
        {
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
            "DATA_KEY": data_key,
            "PUBLIC_BASE_URL": PUBLIC,
            "TELEGRAM_BOT_TOKEN": TG_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
            "TELEGRAM_API_BASE_URL": telegram_url,
            "TWILIO_ACCOUNT_SID": TW_SID,
            "TWILIO_AUTH_TOKEN": TW_TOKEN,
            "TWILIO_WHATSAPP_NUMBER": TW_NUMBER,
            "TWILIO_API_BASE_URL": twilio_url,
            "TWILIO_SMS_NUMBER": TW_SMS,
            "OPERATOR_HOURS": "mon-sun 00:00-23:59",
        }
    )


def running_stack(
    kind: str,
    tmp_path: Path,
    make_store: Callable[..., Any],
    data_key: str | None = None,
    store: Any = None,
) -> Iterator[Stack]:
    """A stack on `kind` ("sqlite" or "redis"); a generator for a pytest fixture. With
    `store`, the stack runs on that store (a restart with a new DATA_KEY)."""
    telegram, twilio = fake_telegram(), fake_twilio()
    key = data_key or new_data_key()
    config = stack_config(key, tmp_path, telegram.url, twilio.url)
    store = store or make_store(kind, Crypto([key]))
    fast = RateLimiter(per_second=10_000, per_recipient_per_second=10_000)
    runtime = Runtime(config, store_override=store, limiter=fast)
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    with httpx.Client(timeout=10) as client:
        yield Stack(runtime, f"http://127.0.0.1:{server.server_port}", telegram, twilio, client)
    server.shutdown()
    telegram.stop()
    twilio.stop()
