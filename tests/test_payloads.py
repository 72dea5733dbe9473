"""Real platform payloads, replayed signed into the whole stack (issue 13).

`tests/data/payloads/` holds webhook bodies copied from other projects' test suites,
fixtures and the platforms' documentation (each line of `index.jsonl` cites its
origin), collected and labelled by someone who had not read this code, from the
channel rules alone. Each payload is posted to a fresh stack on SQLite and on Redis;
what the webhook answers and what reaches the fake platform must be as labelled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.channels import telegram, whatsapp

from channel_stack import TW_SMS, Stack
from fakes.servers import messages

DIR = Path(__file__).parent / "data" / "payloads"
INDEX = [json.loads(line) for line in (DIR / "index.jsonl").read_text().splitlines() if line]
MEDIA = {"photo", "audio", "video", "document", "sticker", "contact", "other"}


def _load(entry: dict[str, Any]) -> Any:
    return json.loads((DIR / entry["file"]).read_text(encoding="utf-8"))


def _post(stack: Stack, entry: dict[str, Any]):
    if entry.get("body_is_raw_text"):
        raw = (DIR / entry["file"]).read_bytes()
        return stack.tg_raw(raw)
    body = _load(entry)
    if entry["platform"] == "telegram":
        return stack.tg(body)
    return stack.wa({k: str(v) for k, v in body.items()})


def _sent(stack: Stack, entry: dict[str, Any]) -> list[dict[str, Any]]:
    return messages(stack.telegram) if entry["platform"] == "telegram" else stack.twilio.received


def test_the_set_is_large_and_cited() -> None:
    platforms = [e["platform"] for e in INDEX]
    assert (
        len(INDEX) >= 60 and platforms.count("telegram") >= 25 and platforms.count("twilio") >= 25
    )
    for entry in INDEX:
        assert entry["source"] and (DIR / entry["file"]).is_file(), entry


@pytest.mark.parametrize("entry", INDEX, ids=[e["file"] for e in INDEX])
def test_each_real_payload_has_its_expected_outcome(stack: Stack, entry: dict[str, Any]) -> None:
    expect = entry["expect"]
    response = _post(stack, entry)
    assert response.status_code == expect["status"], (response.status_code, response.text)
    if expect["status"] != 200:
        return
    answer = response.json() if entry["platform"] == "telegram" else None
    if expect.get("leave"):
        assert answer and answer.get("method") == "leaveChat", answer
    elif answer:
        assert answer.get("method") != "leaveChat", answer
    if expect.get("answer_callback"):
        assert answer and answer.get("method") == "answerCallbackQuery", answer
    stack.drain()
    sent = _sent(stack, entry)
    reply = expect.get("reply")
    if reply == "only_if_sms_number":  # the stack has TWILIO_SMS_NUMBER set
        assert sent and all(m["From"] == TW_SMS for m in sent), sent
        assert all(not m["To"].startswith("whatsapp:") for m in sent)
    elif reply:
        assert sent, "no reply reached the platform"
    else:
        assert not sent, sent


def _parsed_kind(entry: dict[str, Any]) -> tuple[str, str | None] | None:
    body = _load(entry)
    if entry["platform"] == "telegram":
        parsed = telegram.parse(body)
    else:
        parsed = whatsapp.parse({k: str(v) for k, v in body.items()})
    if parsed is None or parsed.inbound is None:
        return None
    inbound = parsed.inbound
    kind = "button" if inbound.payload else inbound.kind
    return kind, inbound.media_type


LABELLED = [e for e in INDEX if e["expect"].get("status") == 200 and e["expect"].get("kind")]


@pytest.mark.parametrize("entry", LABELLED, ids=[e["file"] for e in LABELLED])
def test_each_message_is_read_as_the_kind_it_is(entry: dict[str, Any]) -> None:
    """A caption is text with its media noted; a document is not a voice note."""
    expect = entry["expect"]
    found = _parsed_kind(entry)
    assert found is not None, entry["what"]
    kind, media = found
    assert kind == expect["kind"], (kind, media, entry["what"])
    if expect.get("media"):
        assert media == expect["media"], (kind, media, entry["what"])
