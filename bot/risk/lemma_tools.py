"""`make lemmas`: expand every `~lemma` of the risk lexicon into its word forms.

Tooling, apart from the detector it feeds: it reads the four lexicon files, finds the
lemmas they name, and writes `bot/risk/lexicon/forms.json` from the `simplemma`
dictionaries (inverted: every inflected form whose lemma is the one named). Forms are
normalised like message words, so the accent-free ("enganada") and doubled-letter
("encerradaa") forms the bot sees are covered. Two additions the dictionaries lack:

- the other genders and numbers of participles (trancado -> trancada, trancadas), which
  people use of themselves ("me tienen trancada");
- the spellings people on cheap phones use for the sounds z/s/c, b/v and a silent h
  ("enserrada", "amenasan", "abusaron"/"avusaron", "erida"), each kept only when it is
  not itself a word of that language, so a variant never turns into another word.

Run it after adding a lemma; loading the lexicon fails on a lemma it has not expanded.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from bot.risk.lemmas import FORMS_PATH
from bot.risk.lexicon import LANG_FILES, LEMMA_REF, LEXICON_DIR
from bot.risk.text import word_tokens


def lemmas_in(path: Path) -> set[str]:
    """Every `~lemma` written anywhere in one lexicon file."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.update(m.group(1) for m in LEMMA_REF.finditer(value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def _participles(form: str, lang: str) -> set[str]:
    if lang in ("es", "pt"):
        for end in ("ado", "ido"):
            if form.endswith(end):
                stem = form[:-1]
                return {stem + "a", stem + "os", stem + "as"}
    if lang == "fr" and form.endswith(("e", "i", "u", "s", "t")):
        return {form + "e", form + "s", form + "es"}
    return set()


_SPELLINGS = {
    "es": (
        (r"z", "s"),
        (r"c(?=[ei])", "s"),
        (r"v", "b"),
        (r"b", "v"),
        (r"^h", ""),
        (r"qu(?=[ei])", "k"),
    ),
    "pt": ((r"c(?=[ei])", "s"), (r"ss", "s"), (r"^h", ""), (r"x", "ch")),
    "fr": (),
    "en": (),
}


def _variants(form: str, lang: str, words: set[str]) -> set[str]:
    out = set()
    for pattern, repl in _SPELLINGS[lang]:
        variant = re.sub(pattern, repl, form)
        if variant != form and variant not in words and len(variant) >= 4:
            out.add(variant)
    return out


def _norm(word: str) -> str | None:
    toks = word_tokens(word)
    return toks[0] if len(toks) == 1 else None


def expand(lang: str, lemmas: set[str]) -> dict[str, list[str]]:
    """lemma -> sorted normalised forms, from the inverted simplemma dictionary."""
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    dictionary = DefaultDictionaryFactory().get_dictionary(lang)
    wanted = {lemma.casefold() for lemma in lemmas}
    by_lemma: dict[str, set[str]] = defaultdict(set)
    words: set[str] = set()
    for form, lemma in dictionary.items():
        norm = _norm(form)
        if norm is None:
            continue
        words.add(norm)
        if lemma.casefold() in wanted:
            by_lemma[lemma.casefold()].add(norm)
    out: dict[str, list[str]] = {}
    for lemma in sorted(lemmas):
        base = _norm(lemma) or lemma
        forms = {base, *by_lemma.get(lemma.casefold(), set())}
        forms |= {p for f in list(forms) for p in _participles(f, lang)}
        forms |= {v for f in list(forms) for v in _variants(f, lang, words)}
        out[lemma] = sorted({n for f in forms if (n := _norm(f))})
    return out


def build(directory: Path = LEXICON_DIR, target: Path = FORMS_PATH) -> dict[str, int]:
    table = {lang: expand(lang, lemmas_in(directory / f"{lang}.yaml")) for lang in LANG_FILES}
    target.write_text(json.dumps(table, ensure_ascii=False, indent=0, sort_keys=True) + "\n",
                      encoding="utf-8")  # fmt: skip
    return {lang: len(by) for lang, by in table.items()}


def main() -> int:
    counts = build()
    print("lemmas expanded:", ", ".join(f"{lang} {n}" for lang, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
