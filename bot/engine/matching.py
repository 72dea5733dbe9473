"""Whole-word and phrase matching over normalised tokens, tolerant to one typo.

Keywords (commands, topics, emergency words) are short phrases in four languages.
A message matches a phrase when its tokens contain the phrase's tokens in a row;
a token of six letters or more also matches a vocabulary word one edit away
("emergensia", "denunsiar"), found through a deletion index so that matching stays
linear in the message length whatever the number of keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.engine.normalize import fold, tokens

T = TypeVar("T")

FUZZY_MIN_LEN = 6
# An elision or contraction written apart ("c est", "qu on", "m a", "don t"): people type
# it with the apostrophe, which normalisation glues ("c'est" -> "cest"), so such a phrase
# is also indexed as typed.
_APART = re.compile(r"\b([cdjlmnst]|qu) (?=[a-z])")


def _spellings(phrase: str) -> set[tuple[str, ...]]:
    return {tokens(phrase), tokens(_APART.sub(r"\1'", fold(phrase)))} - {()}


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True)
class Match(Generic[T]):
    target: T
    start: int
    length: int


class PhraseIndex(Generic[T]):
    """Finds which of many phrases occur in a message."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], T]]] = {}
        self._vocab: set[str] = set()
        self._fuzzy: dict[str, set[str]] = {}
        for phrase, target in entries:
            for toks in _spellings(phrase):
                self._by_first.setdefault(toks[0], []).append((toks, target))
                self._vocab.update(toks)
        for word in self._vocab:
            if len(word) >= FUZZY_MIN_LEN:
                for variant in _deletions(word) | {word}:
                    self._fuzzy.setdefault(variant, set()).add(word)

    def canonical(self, word: str) -> str:
        """The vocabulary word that `word` stands for, or `word` itself."""
        if word in self._vocab or len(word) < FUZZY_MIN_LEN - 1:
            return word
        candidates: set[str] = set()
        for variant in _deletions(word) | {word}:
            candidates |= self._fuzzy.get(variant, set())
        candidates = {
            c
            for c in candidates
            if abs(len(c) - len(word)) <= 1 and (c[0] == word[0] or len(word) >= 7 or c[1:] == word)
        }
        return min(candidates) if len(candidates) == 1 else word

    def prepare(self, text: str) -> tuple[str, ...]:
        return tuple(self.canonical(w) for w in tokens(text))

    def find(self, toks: tuple[str, ...]) -> list[Match[T]]:
        found: list[Match[T]] = []
        for i, tok in enumerate(toks):
            for phrase, target in self._by_first.get(tok, ()):
                if toks[i : i + len(phrase)] == phrase:
                    found.append(Match(target, i, len(phrase)))
        return found

    def exact(self, toks: tuple[str, ...]) -> T | None:
        """The target whose phrase is the whole message, if any."""
        if not toks:
            return None
        for phrase, target in self._by_first.get(toks[0], ()):
            if phrase == toks:
                return target
        return None
