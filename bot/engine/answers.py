"""Whole yes/no answers to the caseworker offer, in the four languages.

The consent question is the one place where a misread word decides who reads a
person's messages, so an answer must be a whole answer: "sí, por favor", "dale",
"no gracias", "oui s'il vous plaît". A single word inside a longer sentence ("y si me
despiden?") is a new message, to be assessed and answered on its own; "no sé" is unsure,
never a refusal. The phrases are data (`answers.yaml`), like the risk lexicon.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from bot.engine.normalize import tokens
from bot.engine.types import LANGS

Answer = Literal["yes", "no", "unsure"]
ANSWERS: tuple[Answer, ...] = ("yes", "no", "unsure")
_PATH = Path(__file__).with_name("answers.yaml")
MAX_TOKENS = 12  # a longer message is never a bare answer


class AnswerPhrases:
    """The phrases of `answers.yaml`, normalised once."""

    def __init__(self, raw: dict) -> None:
        self.phrases: dict[tuple[str, ...], Answer] = {}
        for lang in LANGS:
            section = raw.get(lang) or {}
            unknown = set(section) - set(ANSWERS)
            if unknown:
                raise ValueError(f"answers.yaml: {lang}: unknown keys {sorted(unknown)}")
            for answer in ANSWERS:
                for phrase in section.get(answer) or []:
                    if not isinstance(phrase, str):
                        raise ValueError(f"answers.yaml: {lang}.{answer}: {phrase!r} is not text")
                    toks = tokens(phrase)
                    known = self.phrases.get(toks)
                    # The safer reading wins a clash between languages: unsure over yes/no.
                    if known is None or answer == "unsure":
                        self.phrases[toks] = answer
        self.politeness = sorted(
            {tokens(p) for p in raw.get("politeness") or []}, key=len, reverse=True
        )
        self.reasons = sorted({tokens(p) for p in raw.get("reasons") or []}, key=len, reverse=True)

    def read(self, text: str) -> Answer | None:
        """ "yes", "no" or "unsure" when the whole message is that answer; else None.
        A reason after a refusal or a doubt ("…, me da miedo") leaves it one."""
        for current in self.variants(text):
            joined = self._joined(current)
            if joined is not None:
                return joined
            for reason in self.reasons:
                if len(current) > len(reason) and current[-len(reason) :] == reason:
                    rest = self._joined(current[: -len(reason)])
                    if rest in ("no", "unsure"):
                        return rest
        return None

    def variants(self, text: str) -> list[tuple[str, ...]]:
        """The message's tokens, then the same with politeness taken off either end
        ("recipe pls", "receta porfa"); [] for an empty or long message."""
        toks = tokens(text)
        if not toks or len(toks) > MAX_TOKENS:
            return []
        seen: list[tuple[str, ...]] = []
        pending = [toks]
        while pending:
            current = pending.pop()
            if not current or current in seen:
                continue
            seen.append(current)
            for polite in self.politeness:
                n = len(polite)
                if current[:n] == polite:
                    pending.append(current[n:])
                if current[-n:] == polite:
                    pending.append(current[:-n])
        return seen

    def _joined(self, toks: tuple[str, ...]) -> Answer | None:
        """The answer when the words are one phrase, or several that agree ("ok, sí",
        "tá bom, pode sim"); None when they disagree or something else is said."""
        whole = self.phrases.get(toks)
        if whole is not None:  # "no puedo" is one phrase, not "no" and "puedo"
            return whole
        # best[i]: the answers of the ways to read toks[:i] as whole phrases
        best: list[set[Answer]] = [set() for _ in range(len(toks) + 1)]
        start: list[bool] = [True] + [False] * len(toks)
        for i in range(len(toks)):
            if not start[i]:
                continue
            for j in range(i + 1, len(toks) + 1):
                answer = self.phrases.get(toks[i:j])
                if answer is not None:
                    start[j] = True
                    best[j] |= (best[i] if i else set()) | {answer}
        found = best[len(toks)] if start[len(toks)] else set()
        return next(iter(found)) if len(found) == 1 else None


@lru_cache(maxsize=1)
def phrases() -> AnswerPhrases:
    with _PATH.open(encoding="utf-8") as fh:
        return AnswerPhrases(yaml.safe_load(fh))


def without_politeness(text: str) -> list[str]:
    """The message, and the message less its politeness words, as normalised texts."""
    return [" ".join(v) for v in phrases().variants(text)]


def read_answer(text: str) -> Answer | None:
    """The answer a whole message gives to a yes/no question, if it is one."""
    return phrases().read(text)
