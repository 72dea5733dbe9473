"""A guess at the language of a first message, for when a reply cannot wait for the
language menu (urgent words, a request for a person as the very first message).

A naive Bayes model over letter groups (one to four letters, at word edges too) of the
normalised words, counted on the bot's own catalogues in the four languages and on the
labelled messages written for the risk model (`bot/engine/langguess_tools.py` builds
`langguess.json.gz`; `make model`). The earlier list of marker words named a language
for 72% of the held-out messages and the wrong one for 6%: "j'ai 15 ans et mon patron
me garde enfermée" got Spanish numbers. No guess (None) unless one language leads by
`MARGIN`: a wrong guess costs a French teenager the one answer they can read.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from bot.engine.normalize import tokens
from bot.engine.types import LANGS

DATA_PATH = Path(__file__).with_name("langguess.json.gz")
SIZES = (1, 2, 3, 4)
SMOOTHING = 0.5
MARGIN = 13.0  # nats between the best language and the next (a word gives ~40 groups)
MAX_CHARS = 300  # enough to tell; a 4,000-character message costs no more than this


def grams(text: str) -> Iterator[str]:
    """Letter groups of each word, its edges marked with a space, and the word itself."""
    for word in tokens(text[:MAX_CHARS]):
        if word.isdigit():
            continue
        edged = f" {word} "
        for n in SIZES:
            for i in range(len(edged) - n + 1):
                yield edged[i : i + n]
        if len(edged) > SIZES[-1]:
            yield edged  # the whole word: "urgente" is Spanish or Portuguese, not French


@cache
def _model() -> tuple[dict[str, tuple[float, ...]], tuple[float, ...]]:
    """gram -> log-probability per language, and the log-probability of an unseen gram."""
    with gzip.open(DATA_PATH, "rt", encoding="utf-8") as f:
        data = json.load(f)
    if tuple(data["langs"]) != LANGS:
        raise ValueError(f"{DATA_PATH.name}: languages {data['langs']}, expected {LANGS}")
    vocabulary = len(data["counts"])
    denominators = [t + SMOOTHING * vocabulary for t in data["totals"]]
    table = {
        gram: tuple(
            math.log((c + SMOOTHING) / d) for c, d in zip(counts, denominators, strict=True)
        )
        for gram, counts in data["counts"].items()
    }
    return table, tuple(math.log(SMOOTHING / d) for d in denominators)


def scores(text: str) -> dict[str, float] | None:
    """Log-likelihood of the message in each language; None when it has no letters."""
    table, unseen = _model()
    total = [0.0] * len(LANGS)
    seen = False
    for gram in grams(text):
        seen = True
        for i, value in enumerate(table.get(gram, unseen)):
            total[i] += value
    return dict(zip(LANGS, total, strict=True)) if seen else None


def guess_lang(text: str) -> str | None:
    """The language of the message, if one clearly leads; None otherwise."""
    found = scores(text)
    if found is None:
        return None
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    return best if top - second > MARGIN else None
