"""A tiny, linear-time pattern language over normalised tokens (see lexicon/README.md).

Protection staff write phrases such as

    me (quitaron|quitan|kitaron) (el|mi)? (pasaporte|cedula|documentos)

Why not regular expressions on the raw text? Two reasons. Regexes match substrings
("sos" inside "sosiego") unless every author remembers the word boundaries, and a badly
written regex can backtrack exponentially on a hostile 100 KB message. Here a pattern is
compiled into a small token automaton without loops (Thompson construction, no `+`, no
unbounded `*`), and matching simulates the automaton's *set* of states. Every pattern
has a maximum length in tokens, so the work is at most

    tokens x candidate patterns per token x pattern length x pattern states

which is linear in the message whatever its content.

Syntax (whitespace separates items):

    word        one word, compared after normalisation (accents, case, repeated letters)
    stem*       a word starting with `stem` (at least 3 letters): amenaz* = amenaza,
                amenazan, amenazaron... still anchored at the start of a word
    *           one optional arbitrary word
    (a|b c|d)   alternatives; each one may be several items, even nested groups
    item?       the item (word, stem, class or group) is optional
    <class>     a token class: <minor_age> (1-17, digits or words), <long_hours> (12-24),
                <num> (any number)
    ~lang:lemma any form of the lemma (bot.risk.lemmas); lexicon files write `~lemma`
                and the loader adds their language
    $           only as the last item: the match must end a clause (or the message)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.engine.normalize import normalize
from bot.risk import lemmas
from bot.risk.text import Segmented, word_tokens

T = TypeVar("T")

MIN_STEM = 3
CANDIDATE_CACHE = 20_000  # word triples whose candidate patterns are kept

_LEX = re.compile(r"\(|\)|\||\?|<[a-z_]+>|[^\s()|?<>]+")

# Spelled-out ages under 18 in the four languages (normalised like message words).
# Spelled-out ages 10-17 in the four languages and Kreyòl (normalised like message words).
# Words for 1-9 are left out on purpose: "tengo uno", "I am one of them" are not ages.
# Spanish "once" (11) is left out too: it is an everyday English word.
_MINOR_AGE_WORDS = frozenset(
    normalize(w)
    for w in (
        "diez doce trece catorce quince dieciseis diesiseis diecisiete diesisiete "
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
        "dez onze doze treze catorze quatorze quinze dezesseis dezasseis dezessete dezassete "
        "dix douze treize seize "
        "dis onz douz trez katoz kenz sez"
    ).split()
)


def _minor_age(tok: str) -> bool:
    if tok.isdigit():
        return len(tok) <= 2 and 0 < int(tok) < 18
    return tok in _MINOR_AGE_WORDS


def _long_hours(tok: str) -> bool:
    """12 to 24: a working day that long, day after day, is an Anexo 4 indicator."""
    return tok.isdigit() and len(tok) <= 2 and 12 <= int(tok) <= 24


CLASSES: dict[str, Callable[[str], bool]] = {
    "minor_age": _minor_age,
    "long_hours": _long_hours,
    "num": str.isdigit,
}


class PatternError(ValueError):
    """A lexicon pattern that cannot be compiled; the message says which and why."""


# A consuming transition tests one token: ("w", word) | ("p", stem) | ("a", "") | ("c", name)
Test = tuple[str, str]


@dataclass
class _Nfa:
    trans: list[list[tuple[Test, int]]] = field(default_factory=list)
    eps: list[list[int]] = field(default_factory=list)

    def new(self) -> int:
        self.trans.append([])
        self.eps.append([])
        return len(self.trans) - 1


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern: a loop-free token automaton."""

    text: str
    trans: tuple[tuple[tuple[Test, int], ...], ...]
    # The same transitions, indexed for speed: by exact word (one dict lookup however many
    # alternatives a group has), and the few others (stems, classes, `*`) in a list.
    by_word: tuple[dict[str, tuple[int, ...]], ...]
    other: tuple[tuple[tuple[Test, int], ...], ...]
    closure: tuple[frozenset[int], ...]
    start: int
    accept: int
    anchored_end: bool
    max_len: int
    first: tuple[Test, ...]
    # Lazily built subset-construction steps (a DFA state per reachable state set), so a
    # step is one dict lookup. Bounded: a loop-free pattern has few reachable sets.
    steps: dict[frozenset[int], _Step] = field(default_factory=dict, compare=False)

    def step(self, states: frozenset[int]) -> _Step:
        """Where each word leads from this set of states (built once per set)."""
        found = self.steps.get(states)
        if found is None:
            words: dict[str, set[int]] = {}
            others: list[tuple[Test, frozenset[int]]] = []
            for s in states:
                for w, targets in self.by_word[s].items():
                    bucket = words.setdefault(w, set())
                    for t in targets:
                        bucket |= self.closure[t]
                others.extend((test, self.closure[t]) for test, t in self.other[s])
            found = _Step({w: frozenset(v) for w, v in words.items()}, tuple(others))
            self.steps[states] = found
        return found


@dataclass(frozen=True)
class _Step:
    words: dict[str, frozenset[int]]
    others: tuple[tuple[Test, frozenset[int]], ...]


_EMPTY: frozenset[int] = frozenset()


def _test(tok_test: Test, tok: str) -> bool:
    kind, value = tok_test
    if kind == "w":
        return tok == value
    if kind == "p":
        return tok.startswith(value)
    if kind == "a":
        return True
    return CLASSES[value](tok)


class _Parser:
    """Recursive-descent parser that builds the automaton directly (Thompson)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items = _LEX.findall(text)
        self.pos = 0
        self.nfa = _Nfa()
        self.anchored_end = False

    def error(self, why: str) -> PatternError:
        return PatternError(f"pattern {self.text!r}: {why}")

    def peek(self) -> str | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def parse(self) -> tuple[_Nfa, int, int]:
        start = self.nfa.new()
        end = self.seq(start, top=True)
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        return self.nfa, start, end

    def seq(self, state: int, top: bool = False) -> int:
        while True:
            item = self.peek()
            if item is None or item in ")|":
                return state
            if item == "$":
                if not top or self.pos != len(self.items) - 1:
                    raise self.error("'$' may only end the pattern")
                self.anchored_end = True
                self.pos += 1
                return state
            state = self.item(state)

    def item(self, state: int) -> int:
        start = state
        tok = self.items[self.pos]
        self.pos += 1
        if tok == "(":
            end = self.nfa.new()
            while True:
                branch = self.nfa.new()
                self.nfa.eps[start].append(branch)
                self.nfa.eps[self.seq(branch)].append(end)
                nxt = self.peek()
                self.pos += 1
                if nxt == ")":
                    break
                if nxt != "|":
                    raise self.error("unclosed '('")
        elif tok == "?" or tok in ")|":
            raise self.error(f"unexpected {tok!r}")
        elif tok == "*":
            end = self.nfa.new()
            self.nfa.trans[start].append((("a", ""), end))
            self.nfa.eps[start].append(end)  # `*` is one *optional* arbitrary word
        elif tok.startswith("~"):
            lang, _, lemma = tok[1:].partition(":")
            words = lemmas.forms(lang, lemma) if lemma else ()
            if not words:
                raise self.error(f"lemma {tok!r} has no forms: run `make lemmas`")
            end = self.nfa.new()
            for word in words:
                self.nfa.trans[start].append((("w", word), end))
        elif tok.startswith("<"):
            name = tok[1:-1]
            if name not in CLASSES:
                raise self.error(f"unknown class {tok}; known: {sorted(CLASSES)}")
            end = self.nfa.new()
            self.nfa.trans[start].append((("c", name), end))
        elif tok.endswith("*"):
            stem = word_tokens(tok[:-1])
            if len(stem) != 1 or len(stem[0]) < MIN_STEM:
                raise self.error(f"stem {tok!r} must be one word of {MIN_STEM}+ letters")
            end = self.nfa.new()
            self.nfa.trans[start].append((("p", stem[0]), end))
        else:
            words = word_tokens(tok)
            if not words:
                raise self.error(f"{tok!r} has no letters or digits")
            end = start
            for word in words:
                nxt = self.nfa.new()
                self.nfa.trans[end].append((("w", word), nxt))
                end = nxt
        if self.peek() == "?":
            self.pos += 1
            self.nfa.eps[start].append(end)
        return end


def _closures(eps: Sequence[Sequence[int]]) -> tuple[frozenset[int], ...]:
    out: list[frozenset[int]] = []
    for s in range(len(eps)):
        seen = {s}
        stack = [s]
        while stack:
            for t in eps[stack.pop()]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        out.append(frozenset(seen))
    return tuple(out)


def compile_pattern(text: str) -> Pattern:
    """Compile one pattern, rejecting ones that could match nothing or start with `*`."""
    parser = _Parser(text)
    nfa, start, accept = parser.parse()
    closure = _closures(nfa.eps)
    if accept in closure[start]:
        raise parser.error("may match no words at all (everything is optional)")
    first = tuple(t for s in closure[start] for t, _ in nfa.trans[s])
    if any(kind == "a" for kind, _ in first):
        raise parser.error("may not start with '*' (give it a real first word)")
    # Longest path in the loop-free automaton = the most tokens one match can span.
    longest: dict[int, int] = {}

    def depth(s: int) -> int:
        if s not in longest:
            longest[s] = max(
                [1 + depth(t) for _, t in nfa.trans[s]] + [depth(t) for t in nfa.eps[s]] + [0]
            )
        return longest[s]

    by_word: list[dict[str, tuple[int, ...]]] = []
    other: list[tuple[tuple[Test, int], ...]] = []
    for ts in nfa.trans:
        words: dict[str, list[int]] = {}
        for (kind, value), t in ts:
            if kind == "w":
                words.setdefault(value, []).append(t)
        by_word.append({w: tuple(targets) for w, targets in words.items()})
        other.append(tuple((test, t) for test, t in ts if test[0] != "w"))
    return Pattern(
        text=text,
        trans=tuple(tuple(ts) for ts in nfa.trans),
        by_word=tuple(by_word),
        other=tuple(other),
        closure=closure,
        start=start,
        accept=accept,
        anchored_end=parser.anchored_end,
        max_len=depth(start),
        first=first,
    )


@dataclass(frozen=True)
class Match(Generic[T]):
    """Tokens [start, end) matched `pattern`, which belongs to `target`."""

    target: T
    pattern: str
    start: int
    end: int


@dataclass
class Work:
    """Counts automaton steps, so tests can check the cost is linear without timing."""

    steps: int = 0


class Matcher(Generic[T]):
    """Finds every pattern of a lexicon in a segmented message, in linear time."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        # Patterns that start with a word, indexed by that word *and* the next one, so a
        # message of "me me me..." (hundreds of patterns start with "me") tries only the
        # few that can take a second step; `_wild` are those whose second step is not one
        # word (a stem, a class, `*`) or that may end after the first.
        self._by_pair: dict[str, dict[str, list[tuple[Pattern, T, frozenset[str] | None]]]] = {}
        self._wild: dict[str, list[tuple[Pattern, T]]] = {}
        self._by_stem: dict[str, list[tuple[Pattern, T]]] = {}
        self._by_class: list[tuple[str, Pattern, T]] = []
        self.size = 0
        for text, target in entries:
            pat = compile_pattern(text)
            self.size += 1
            seen: set[Test] = set()
            for kind, value in pat.first:
                if (kind, value) in seen:
                    continue
                seen.add((kind, value))
                if kind == "w":
                    self._index_pair(value, pat, target)
                elif kind == "p":
                    self._by_stem.setdefault(value, []).append((pat, target))
                else:
                    self._by_class.append((value, pat, target))
        self._stem_lengths = sorted({len(s) for s in self._by_stem})
        # The candidates of a word and the two after it, computed once: a message repeats
        # them ("i m i m i m..." asked for the same 34 patterns 1,000 times, each time
        # merging five lists). Bounded: a hostile message of distinct triples clears it.
        self._seen: dict[tuple[str, str | None, str | None], list[tuple[Pattern, T]]] = {}

    def _index_pair(self, word: str, pat: Pattern, target: T) -> None:
        after = pat.step(pat.closure[pat.start]).words.get(word, _EMPTY)
        step = pat.step(after) if after else None
        if step is None or pat.accept in after or step.others:
            self._wild.setdefault(word, []).append((pat, target))
            return
        pairs = self._by_pair.setdefault(word, {})
        for second, after_two in step.words.items():
            # And the third word, when the pattern cannot end after two and its third
            # step is only words: "i m i m..." then tries none of the "i m X" patterns.
            third = pat.step(after_two)
            thirds = None if pat.accept in after_two or third.others else frozenset(third.words)
            pairs.setdefault(second, []).append((pat, target, thirds))

    def _candidates(
        self, tok: str, nxt: str | None = None, third: str | None = None
    ) -> list[tuple[Pattern, T]]:
        key = (tok, nxt, third)
        cached = self._seen.get(key)
        if cached is None:
            if len(self._seen) >= CANDIDATE_CACHE:
                self._seen.clear()
            cached = self._seen[key] = self._find_candidates(tok, nxt, third)
        return cached

    def _find_candidates(
        self, tok: str, nxt: str | None, third: str | None
    ) -> list[tuple[Pattern, T]]:
        found = list(self._wild.get(tok, ()))
        if nxt is not None:
            found.extend(
                (pat, target)
                for pat, target, thirds in self._by_pair.get(tok, {}).get(nxt, ())
                if thirds is None or third in thirds
            )
        for n in self._stem_lengths:
            if n > len(tok):
                break
            found.extend(self._by_stem.get(tok[:n], ()))
        found.extend((p, t) for name, p, t in self._by_class if CLASSES[name](tok))
        # A pattern whose first item has alternatives may be listed twice.
        unique: dict[tuple[int, int], tuple[Pattern, T]] = {}
        for pat, target in found:
            unique.setdefault((id(pat), id(target)), (pat, target))
        return list(unique.values())

    def _run(self, pat: Pattern, seg: Segmented, i: int, work: Work | None) -> int:
        """End of the longest match of `pat` starting at token i, or -1."""
        toks = seg.tokens
        states = pat.closure[pat.start]
        best = -1
        j = i
        limit = min(len(toks), i + pat.max_len)
        while states and j < limit:
            if j > i and seg.boundary_before(j):
                break  # a phrase never spans a clause break
            tok = toks[j]
            step = pat.step(states)
            if work is not None:
                work.steps += 1 + len(step.others)
            states = step.words.get(tok, _EMPTY)
            for tok_test, targets in step.others:
                if _test(tok_test, tok):
                    states = states | targets
            j += 1
            if pat.accept in states and (not pat.anchored_end or seg.boundary_before(j)):
                best = j
        return best

    def find(self, seg: Segmented, work: Work | None = None) -> list[Match[T]]:
        """Every (target, pattern) match, longest per start position."""
        found: list[Match[T]] = []
        toks = seg.tokens
        for i, tok in enumerate(toks):
            nxt = toks[i + 1] if i + 1 < len(toks) and not seg.boundary_before(i + 1) else None
            third = None
            if nxt is not None and i + 2 < len(toks) and not seg.boundary_before(i + 2):
                third = toks[i + 2]
            for pat, target in self._candidates(tok, nxt, third):
                end = self._run(pat, seg, i, work)
                if end > i:
                    found.append(Match(target, pat.text, i, end))
        return found
