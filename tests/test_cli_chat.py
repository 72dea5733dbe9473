"""`python -m bot chat` as DESIGN.md specifies it, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot import paths


def chat(lines: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input=lines,
        capture_output=True,
        text=True,
        cwd=paths.ROOT,
        timeout=60,
        check=True,
    )
    return done.stdout


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
