"""Word forms of the lexicon's lemmas, so that one entry covers every conjugation,
person and gender: `~encerrar` is encerrada, encerraron, encierran, enserrada...

A person in danger does not use our words, nor our verb forms. Lexicon patterns name a
lemma (`~es:encerrar` after loading; authors write `~encerrar` in es.yaml), and this
module gives its forms, normalised like message words (no accents, repeated letters
collapsed). The forms come from `forms.json`, generated from the `simplemma`
dictionaries by `make lemmas` (bot/risk/lemma_tools.py): matching stays a dictionary
lookup per word, start-up reads one small file, and a caseworker can see exactly which
words a lemma stands for.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

FORMS_PATH = Path(__file__).resolve().parent / "lexicon" / "forms.json"


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, tuple[str, ...]]]:
    if not FORMS_PATH.exists():
        return {}
    raw = json.loads(FORMS_PATH.read_text(encoding="utf-8"))
    return {lang: {lemma: tuple(forms) for lemma, forms in by.items()} for lang, by in raw.items()}


def forms(lang: str, lemma: str) -> tuple[str, ...]:
    """The normalised forms of `lemma` in `lang`; () when `make lemmas` has not seen it."""
    return _table().get(lang, {}).get(lemma, ())
