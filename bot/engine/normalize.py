"""Text normalisation shared by every matcher (commands, topics, risk lexicon, places).

People type on cheap phones, in a hurry, often scared: no accents, doubled letters
("ayudaaaa"), stray punctuation, emoji, zero-width characters pasted from other apps.
Every matcher compares normalised token sequences, never raw substrings, so that
"SOS" matches but "sosiego" does not, and "emergência" equals "emergencia".

Both sides of a comparison (keyword and message) go through the same function, so
collapsing repeated letters ("llamar" -> "lamar") is symmetric and harmless.
"""

from __future__ import annotations

import re
import unicodedata

# Messages longer than this are cut before matching: matching is linear, but there is
# no reason to spend time on a pasted novel. 100 KB inputs are truncated, never rejected.
MAX_MATCH_CHARS = 4000

_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1+")
_APOSTROPHES = re.compile(r"(?<=[a-z])['’ʼ`´](?=[a-z])")


def fold(text: str) -> str:
    """Lowercase, strip accents and drop everything that is not a letter or digit."""
    text = unicodedata.normalize("NFKD", text[:MAX_MATCH_CHARS].casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss").replace("œ", "oe").replace("æ", "ae")
    text = _APOSTROPHES.sub("", text)  # "don't" -> "dont", "quelqu'un" -> "quelquun"
    return _NON_WORD.sub(" ", text).strip()


def normalize(text: str) -> str:
    """The canonical form used for matching: folded, repeated letters collapsed."""
    return _REPEATS.sub(r"\1", fold(text))


def tokens(text: str) -> tuple[str, ...]:
    """Normalised tokens of a text."""
    return tuple(normalize(text).split())


def contains_phrase(haystack: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whole-token phrase search: 'sos' is found in 'sos ayuda', never in 'sosiego'."""
    n = len(phrase)
    if n == 0 or n > len(haystack):
        return False
    first = phrase[0]
    for i, tok in enumerate(haystack[: len(haystack) - n + 1]):
        if tok == first and haystack[i : i + n] == phrase:
            return True
    return False
