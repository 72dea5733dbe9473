"""Split a message into normalised tokens that remember where they came from.

The risk lexicon is matched on `bot.engine.normalize` tokens (the shared normaliser: no
second one here), but the detector also needs what `normalize` throws away:

- the original words, so that a caseworker sees *what the person wrote* as the trigger;
- clause boundaries (. , ; ! ? ¿ ¡ and line breaks), because a negation or a "what if"
  only reaches to the end of its clause: "¿qué pasa si me quitan el pasaporte? ya me
  quitaron el celular" must still flag the phone.

Everything here is a single left-to-right pass over at most `MAX_MATCH_CHARS` characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.engine.normalize import MAX_MATCH_CHARS, normalize

# A word run, or a clause-breaking punctuation mark. Anything else separates words.
_PIECES = re.compile(r"[^\W_]+|[.!?;:,¿¡\n…]")
_BREAKS = frozenset(".!?;:,¿¡\n…")
# "15años", "14yo", "6am": digits glued to letters are two words for matching purposes.
_DIGITS_LETTERS = re.compile(r"^(\d+)([a-z]+)$")

# Chat shorthand that would otherwise make every pattern list twice as long. Kept tiny and
# unambiguous across the four languages: these only ever stand for the words on the right.
# Lexicon patterns go through the same map, so matching stays symmetric. ("pa" is not
# here: it is "para" in Venezuelan Spanish but the negation in Haitian Kreyòl.)
SHORTHAND: dict[str, str] = {
    "q": "que",
    "k": "que",
    "ke": "que",
    "xq": "porque",
    "pq": "porque",
    "porq": "porque",
    "x": "por",
    "d": "de",
    "tb": "tambien",
    "tmb": "tambien",
    "vc": "voce",
    "pra": "para",
    "ud": "usted",
    "uds": "ustedes",
    # English written without apostrophes: "they dont let her leave" is "don t let".
    "dont": "don t",
    "doesnt": "doesn t",
    "didnt": "didn t",
    "cant": "can t",
    "wont": "won t",
    "isnt": "isn t",
    "arent": "aren t",
    "wasnt": "wasn t",
    "werent": "weren t",
    "havent": "haven t",
    "hasnt": "hasn t",
    "couldnt": "couldn t",
    "wouldnt": "wouldn t",
    "im": "i m",
    "shes": "she s",
    "hes": "he s",
    # French elisions texted without the apostrophe ("ils mont enfermee", "jai 15 ans").
    "mont": "m ont",
    "lont": "l ont",
    "mavait": "m avait",
    "jai": "j ai",
    "cest": "c est",
    "jpeux": "je peux",
    "jveux": "je veux",
    "jsais": "je sais",
    "jsaigne": "je saigne",
    # French "je suis" as texted: "jsuis mineure" must be "je suis mineure".
    "jsuis": "je suis",
    "jsui": "je suis",
    "chui": "je suis",
    "chuis": "je suis",
}


LAUGH_K = "kk"


@dataclass(frozen=True)
class Segmented:
    """Tokens of a message with, for each token, its clause number and original word."""

    tokens: tuple[str, ...]
    clause: tuple[int, ...]
    original: tuple[str, ...]
    piece: tuple[int, ...]  # which written word each token came from ("15años" -> 2 tokens)
    span: tuple[tuple[int, int], ...] = ()  # character offsets of that word in `raw`
    raw: str = ""  # the (cleaned, truncated) text the offsets refer to

    def words(self, start: int, end: int) -> str:
        """The text as written that produced tokens [start, end), apostrophes and all."""
        if start >= end:
            return ""
        return self.raw[self.span[start][0] : self.span[end - 1][1]]

    def boundary_before(self, index: int) -> bool:
        """True when a clause starts at token `index` (or `index` is the end)."""
        if index <= 0 or index >= len(self.tokens):
            return True
        return self.clause[index] != self.clause[index - 1]


def _strip_invisible(text: str) -> str:
    """Drop format characters (zero-width space/joiner, BOM, bidi marks) so that a word
    pasted with an invisible character inside ("pasa\u200bporte") is still one word."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def word_tokens(word: str) -> list[str]:
    """The tokens one written word becomes: normalised, split, shorthand expanded.

    Used for message words and for lexicon words alike, so both sides agree. A word of
    k's alone ("kkkk") is Brazilian laughter, not "k" (= "que"): it stays "kk"."""
    if len(word) > 1 and not word.strip("kK"):
        return [LAUGH_K]
    out: list[str] = []
    for tok in normalize(word).split():
        glued = _DIGITS_LETTERS.match(tok)
        for part in glued.groups() if glued else (tok,):
            out.extend(SHORTHAND.get(part, part).split())
    return out


def segment(text: str) -> Segmented:
    """Normalised, shorthand-expanded tokens with clause ids and original words."""
    raw = unicodedata.normalize("NFC", _strip_invisible(text[: MAX_MATCH_CHARS * 2]))
    raw = raw[:MAX_MATCH_CHARS]
    toks: list[str] = []
    clauses: list[int] = []
    originals: list[str] = []
    pieces: list[int] = []
    spans: list[tuple[int, int]] = []
    clause = 0
    for number, piece in enumerate(_PIECES.finditer(raw)):
        word = piece.group()
        if word in _BREAKS:
            if toks and clauses[-1] == clause:
                clause += 1
            continue
        for tok in word_tokens(word):
            toks.append(tok)
            clauses.append(clause)
            originals.append(word)
            pieces.append(number)
            spans.append(piece.span())
    return Segmented(
        tuple(toks), tuple(clauses), tuple(originals), tuple(pieces), tuple(spans), raw
    )
