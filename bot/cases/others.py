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

from bot.engine.normalize import contains_phrase, tokens
from bot.engine.types import LANGS

_PATH = Path(__file__).with_name("others.yaml")


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


def about_someone_else(text: str) -> bool:
    """True when the message speaks of another person the writer knows, and not of
    the writer as well."""
    toks = tokens(text)
    others, own = _phrases()
    return any(contains_phrase(toks, p) for p in others) and not any(
        contains_phrase(toks, p) for p in own
    )
