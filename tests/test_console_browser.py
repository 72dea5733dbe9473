"""The console in a real browser: Debian's chromium driven by Playwright (never a
downloaded browser), against the real app, store, worker and sender, with the person
writing through the Telegram webhook and the replies arriving at a fake Bot API."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from bot import paths
from bot.channels.delivery import RateLimiter
from bot.config import load_config, new_data_key
from bot.console.auth import create_operator
from bot.runtime import Runtime
from bot.serve import start_loops
from bot.store.crypto import Crypto
from bot.store.sqlite import SQLiteStore
from bot.web import create_app

from channel_stack import TG_SECRET, TG_TOKEN, text_update
from fakes.servers import fake_telegram, messages
from test_channels_private import WAV

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = paths.ROOT / "test-artifacts"
PASSWORD = "una clave bien larga 123"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is required for the console tests (.ci/run installs it)")
        pytest.skip("chromium not installed")
    telegram = fake_telegram()
    key = new_data_key()
    config = load_config({
        "DATA_DIR": str(tmp_path), "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU", "DATA_KEY": key,
        "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url, "OPERATOR_HOURS": "mon-sun 00:00-23:59",
    })  # fmt: skip
    store = SQLiteStore(tmp_path / "bot.sqlite3", Crypto([key]))
    fast = RateLimiter(per_second=10_000, per_recipient_per_second=10_000)
    runtime = Runtime(config, store_override=store, limiter=fast)
    create_operator(store, "ana", PASSWORD, "supervisor")
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    stop = threading.Event()
    start_loops(runtime, stop)
    base = f"http://127.0.0.1:{server.server_port}"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield {"base": base, "browser": browser, "telegram": telegram, "store": store}
        browser.close()
    stop.set()
    server.shutdown()
    telegram.stop()


def person_says(base: str, update_id: int, text: str, chat: int = 7777) -> None:
    response = httpx.post(f"{base}/webhooks/telegram", json=text_update(update_id, chat, text),
                          headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})  # fmt: skip
    assert response.status_code == 200


def person_presses(base: str, update_id: int, data: str, chat: int = 7777) -> None:
    update = {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "chat_instance": "x", "data": data,
        "from": {"id": chat, "is_bot": False, "first_name": "X", "language_code": "es"},
        "message": {"message_id": 1, "date": 1_700_000_000, "chat": {"id": chat, "type": "private"}}}}  # fmt: skip
    response = httpx.post(f"{base}/webhooks/telegram", json=update,
                          headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})  # fmt: skip
    assert response.status_code == 200


def test_console_end_to_end(site: dict) -> None:
    base, telegram = site["base"], site["telegram"]
    page = site["browser"].new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/console/")
    page.fill("#username", "ana")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("text=No hay casos aquí")

    # A person with a high-risk message agrees to talk to a caseworker...
    person_says(base, 1, "hola")
    person_says(base, 2, "me quitaron el pasaporte y no me dejan salir")
    person_says(base, 3, "sí")
    # ...and the case appears in the open queue without a reload.
    page.wait_for_selector("#cases tr[data-level='high']", timeout=15_000)
    assert "Alta" in page.inner_text("#cases")
    page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)

    page.click("#cases tr[data-level='high'] a")
    page.wait_for_selector("#claim")
    page.click("#claim")
    page.wait_for_selector("#send")
    assert page.inner_text("#owner") == "ana"

    page.fill("#reply", "Hola, soy Ana. ¿Estás en un lugar seguro ahora?")
    page.click("#send")
    page.wait_for_selector("text=¿Estás en un lugar seguro ahora?")
    wait = lambda: any("soy Ana" in m["text"] for m in messages(telegram))  # noqa: E731
    for _ in range(100):
        if wait():
            break
        page.wait_for_timeout(100)
    sent = [m for m in messages(telegram) if "soy Ana" in m["text"]]
    assert sent and sent[0]["text"].startswith("👤 Mensaje de una persona de nuestro equipo:")

    person_says(base, 4, "sí, estoy en casa de una amiga")
    page.wait_for_selector("text=estoy en casa de una amiga", timeout=15_000)  # live, no reload

    # A voice note arrives live, and plays in the page (the browser decodes it).
    telegram.files["VOICE1"] = WAV
    voice = text_update(40, 7777, "")
    del voice["message"]["text"]
    voice["message"]["voice"] = {"file_id": "VOICE1", "file_unique_id": "v", "duration": 1,
                                 "mime_type": "audio/wav"}  # fmt: skip
    httpx.post(f"{base}/webhooks/telegram", json=voice,
               headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})  # fmt: skip
    page.wait_for_selector("#messages audio", timeout=15_000)
    duration = page.evaluate("""() => new Promise((done, fail) => {
        const audio = document.querySelector('#messages audio');
        const ready = () => done(audio.duration);
        if (audio.readyState >= 1) ready(); else audio.addEventListener('loadedmetadata', ready);
        audio.addEventListener('error', () => fail('audio error'));
        audio.load();
    })""")
    assert 0.05 < duration < 1.0  # 800 samples at 8 kHz: the real file, decoded

    page.fill("#note", "Prefiere que le escribamos por la tarde.")
    page.click("#add-note")
    page.wait_for_selector("text=Prefiere que le escribamos por la tarde.")

    page.click("#ask-consent")
    for _ in range(100):
        if any("compartamos lo necesario" in m["text"] for m in messages(telegram)):
            break
        page.wait_for_timeout(100)
    question = next(m for m in messages(telegram) if "compartamos lo necesario" in m["text"])
    yes = json.loads(question["reply_markup"])["inline_keyboard"][0][0]["callback_data"]
    person_presses(base, 5, yes)
    for _ in range(100):
        page.reload()
        if "Aceptó (derivación externa" in page.inner_text("body"):
            break
        page.wait_for_timeout(100)
    page.screenshot(path=str(ARTIFACTS / "console-case.png"), full_page=True)

    page.click("#referral")
    page.wait_for_selector("text=Ficha de derivación de casos")
    assert "Valoración inicial de riesgo" in page.inner_text("body")
    assert "OIM" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "console-referral.png"), full_page=True)

    page.go_back()
    page.select_option("#outcome", "Derivada a otra organización")
    page.click("#close")
    page.goto(f"{base}/console/?tab=closed")
    page.wait_for_selector("#cases tr[data-level='high']")

    phone = site["browser"].new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{base}/console/?tab=closed")
    phone.fill("#username", "ana")
    phone.fill("#password", PASSWORD)
    phone.click("#login")
    phone.goto(f"{base}/console/?tab=closed")
    phone.wait_for_selector("#cases tr")
    phone.screenshot(path=str(ARTIFACTS / "console-phone-390x844.png"), full_page=True)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling on a phone

    page.click("#logout")
    page.wait_for_selector("#login")
    page.goto(f"{base}/console/")
    assert "/console/login" in page.url
    for name in ("console-queue.png", "console-case.png", "console-phone-390x844.png"):
        assert (ARTIFACTS / name).stat().st_size > 1000
