"""Does the person ask us not to read their messages, in their own words?

The urgent notice and the request for a person come with a "No quiero que los lean"
button; a person who types it instead, at any later moment, means the same. The
phrases are data (`refusal.yaml`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.engine.normalize import contains_phrase, tokens

_PATH = Path(__file__).with_name("refusal.yaml")


@lru_cache(maxsize=1)
def _phrases() -> tuple[tuple[str, ...], ...]:
    with _PATH.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    found = []
    for phrase in raw.get("phrases") or []:
        if not isinstance(phrase, str):
            raise ValueError(f"refusal.yaml: {phrase!r} is not text")
        found.append(tokens(phrase))
    return tuple(found)


def asks_not_to_read(text: str) -> bool:
    toks = tokens(text)
    return any(contains_phrase(toks, phrase) for phrase in _phrases())
