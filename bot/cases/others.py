"""Is the writer speaking for someone else (a friend, a daughter, a neighbour)?

A helper needs different words from the person concerned: how to help without
putting her at risk, which lines to call, and a caseworker for themselves as a
contact, never "it is not your fault". The risk level is still computed for the
person described. The phrases are data (`others.yaml`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.engine.normalize import tokens
from bot.engine.types import LANGS

_PATH = Path(__file__).with_name("others.yaml")
STRONG_SELF = frozenset({"yo", "moi"})  # one-word first-person marks that always count


Phrases = tuple[tuple[str, ...], ...]


def _read(raw: dict, key: str) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for phrase in raw.get(key) or []:
        if not isinstance(phrase, str):
            raise ValueError(f"others.yaml: {key}: {phrase!r} is not text")
        found.add(tokens(phrase))
    return found


@lru_cache(maxsize=1)
def _phrases() -> tuple[Phrases, Phrases]:
    with _PATH.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    others = set().union(*(_read(raw, lang) for lang in LANGS))
    return tuple(sorted(others)), tuple(sorted(_read(raw, "self")))


def _first(toks: tuple[str, ...], phrases: Phrases) -> int | None:
    """Where the first of these phrases starts in the message, if anywhere."""
    starts = [
        i
        for phrase in phrases
        for i in range(len(toks) - len(phrase) + 1)
        if toks[i : i + len(phrase)] == phrase
    ]
    return min(starts) if starts else None


def about_someone_else(text: str) -> bool:
    """True when the message speaks of another person the writer knows, and not of
    the writer: a first-person word may come after the other person is named ("mi
    hija de 16 se fue ... y no me contesta"), never before ("me quitaron el pasaporte
    a mí y a mi hermana"), and an explicit one ("soy menor", "mi jefe") never."""
    toks = tokens(text)
    others, own = _phrases()
    other_at = _first(toks, others)
    if other_at is None:
        return False
    strong = tuple(p for p in own if len(p) > 1 or p[0] in STRONG_SELF)
    if _first(toks, strong) is not None:
        return False
    self_at = _first(toks, own)
    return self_at is None or other_at < self_at
