"""`python -m bot chat` as DESIGN.md specifies it, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bot import paths
from bot.store.crypto import Crypto
from bot.store.sqlite import SQLiteStore


def chat(lines: str, *args: str, data_dir: Path | None = None) -> str:
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="botchat-"))
    env = {**os.environ, "DATA_DIR": str(data_dir), "OPERATOR_HOURS": "mon-sun 00:00-23:59"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input=lines, capture_output=True, text=True, cwd=paths.ROOT, timeout=60, check=True, env=env,
    )  # fmt: skip
    return done.stdout


def stored(data_dir: Path) -> SQLiteStore:
    key = json.loads((data_dir / "secrets.json").read_text())["DATA_KEY"]
    return SQLiteStore(data_dir / "bot.sqlite3", Crypto([key]))


def test_piped_spanish() -> None:
    out = chat("hola\n1\n")
    assert "Elige tu idioma" in out
    assert "Hola, gracias por escribir" in out
    assert "1. Sí, puedo escribir" in out


@pytest.mark.parametrize(
    ("lang", "welcome"),
    [
        ("en", "thanks for writing"),
        ("pt", "obrigad"),
        ("fr", "merci"),
    ],
)
def test_piped_other_languages(lang: str, welcome: str) -> None:
    out = chat("hola\n1\n", "--lang", lang)
    assert welcome in out.lower()
    assert "Elige tu idioma" not in out
    assert "  1. " in out  # the main menu as numbered options


def test_option_by_label_and_commands() -> None:
    out = chat("hola\nSí, puedo escribir\nMis derechos\nmenú\n", "--lang", "es")
    assert "Tienes derechos aunque no tengas papeles" in out


def test_location_and_media_lines() -> None:
    out = chat("hola\n1\n/location -3.57,-80.45\n/location nonsense\n/media\n", "--lang", "es")
    assert "usage: /location LAT,LON" in out
    assert "no puedo escuchar audios" in out


def test_emergency_from_the_first_line() -> None:
    out = chat("SOS\n")
    assert "105" in out and "113" in out


def test_high_signal_yes_opens_a_case_in_the_store(tmp_path: Path) -> None:
    out = chat(
        "hola\n1\nme quitaron el pasaporte y no me dejan salir\nsí\n",
        "--lang",
        "es",
        data_dir=tmp_path,
    )
    assert "¿Quieres que una persona de nuestro equipo lea tus mensajes" in out
    store = stored(tmp_path)
    [case] = store.list_cases(time.time())
    assert case.level == "high" and case.consent_scope == "in_service"
    assert {"documents_withheld", "movement_restricted"} <= set(case.indicators)


def test_high_signal_no_opens_none_and_records_the_refusal(tmp_path: Path) -> None:
    out = chat(
        "hola\n1\nme quitaron el pasaporte y no me dejan salir\nno\n",
        "--lang",
        "es",
        data_dir=tmp_path,
    )
    assert "Respetamos tu decisión" in out
    store = stored(tmp_path)
    assert store.list_cases(time.time(), state=None) == []
    rows = store._db().execute("SELECT count(*) FROM consents").fetchone()[0]
    assert rows == 1
    user = store._db().execute("SELECT user FROM consents").fetchone()[0]
    [refusal] = store.consents(user, time.time())
    assert refusal.granted is False


def test_urgent_opens_a_case_immediately_with_the_numbers(tmp_path: Path) -> None:
    out = chat(
        "hola\n1\ntengo 15 años y me obligan a trabajar\n", "--lang", "es", data_dir=tmp_path
    )
    assert all(n in out for n in ("105", "113", "1810"))
    [case] = stored(tmp_path).list_cases(time.time())
    assert case.level == "urgent" and "minor" in case.indicators


def test_events_print_codes_and_levels_never_text(tmp_path: Path) -> None:
    """`chat --events`: one JSON line per engine event on stderr, no message words."""
    lines = ["hola", "1", "mi jefe tiene mi pasaporte", "y si me despiden?", "no gracias",
             "no quiero denunciar", "tengo 15 años", "me quiero morir", "salir", "hola"]  # fmt: skip
    env = {**os.environ, "DATA_DIR": str(tmp_path), "OPERATOR_HOURS": "mon-sun 00:00-23:59"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--lang", "es", "--events"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=paths.ROOT,
        timeout=60, check=True, env=env,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    for name in (
        "case.open",
        "case.assessed",
        "consent",
        "choice",
        "session.stop",
        "session.resume",
    ):
        assert name in names, names
    refused = next(e for e in events if e["event"] == "consent")
    assert refused == {"event": "consent", "scope": "in_service", "granted": False, "how": "asked",
                       "level": "high", "indicators": ["documents_withheld"]}  # fmt: skip
    opened = next(e for e in events if e["event"] == "case.open")
    assert opened["level"] == "urgent" and opened["consent"] == "in_service"
    assert {"minor", "documents_withheld"} <= set(opened["indicators"])
    assessed = [e for e in events if e["event"] == "case.assessed"]
    assert "self_harm" in assessed[-1]["indicators"]
    assert {"event": "choice", "choice": "no_complaint"} in events
    allowed = {"event", "level", "indicators", "scope", "granted", "how", "choice", "requested_human",
               "consent"}  # fmt: skip
    for event in events:
        assert set(event) <= allowed
    words = {w for line in lines for w in line.lower().split() if len(w) > 3}
    assert not [w for w in words if w in done.stderr.lower()], "message text leaked"
