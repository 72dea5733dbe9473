"""The detector never fails and never blows up, whatever a person (or an attacker) sends.

A crash here would mean silence for someone in danger. The cost must stay linear in the
message length: instead of timing (flaky on a busy CI machine), the tests count the
automaton steps the matcher takes and compare inputs of different sizes.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.normalize import MAX_MATCH_CHARS
from bot.risk import assess
from bot.risk.codes import ALL_CODES, LEVELS, level_for
from bot.risk.patterns import Work

EMOJI = ["🆘", "🔪", "🩸", "😭", "🙏", "👨‍👩‍👧", "🇻🇪", "\u200d", "\ufe0f"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\x00", "\x1b", "\r"]
WORDS = [
    "no",
    "me",
    "quitaron",
    "el",
    "pasaporte",
    "si",
    "que",
    "pasa",
    "tengo",
    "15",
    "años",
    "ayuda",
    "not",
    "they",
    "took",
    "my",
    "passport",
    "ne",
    "pas",
    "??",
    "¿",
    "(",
    "*",
    "|",
    "$",
    "<minor_age>",
    "solo",
    "sola",
    "ahora",
    "encerrada",
]


def check(text: str) -> None:
    result = assess(text)
    assert result.level in LEVELS
    assert set(result.indicators) <= set(ALL_CODES)
    assert list(result.indicators) == sorted(result.indicators)
    assert set(result.triggers) == set(result.indicators)
    assert all(result.triggers[c] for c in result.indicators)
    assert result.level == level_for(result.indicators)
    assert list(result.to_json()) == ["level", "indicators", "triggers"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_unicode(text: str) -> None:
    check(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS + EMOJI + INVISIBLE), max_size=60))
def test_word_soup(parts: list[str]) -> None:
    check(" ".join(parts))
    check("".join(parts))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(INVISIBLE + EMOJI + list("ab \n.,")), max_size=500))
def test_control_and_zero_width(parts: list[str]) -> None:
    check("".join(parts))


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(min_size=1, max_size=20))
def test_hundred_kilobytes(seed: str) -> None:
    check((seed * (100_000 // len(seed) + 1))[:100_000])


def test_zero_width_inside_a_word_is_ignored() -> None:
    assert "documents_withheld" in assess("me quitaron el pasa\u200bporte").indicators


PATHOLOGICAL = [
    "no me " * 20_000,
    "a a a a " * 15_000,
    "(" * 100_000,
    "*" * 100_000,
    "me " * 40_000,
    "que pasa si " * 10_000,
    "tengo 15 " * 12_000,
    "ayuda " * 20_000,
    "no me dejan salir " * 6_000,
    "me quitaron el pasaporte " * 4_000,
    "🆘" * 50_000,
    "\u200b" * 100_000,
    "x" * 100_000,
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=lambda t: repr(t[:12]))
def test_pathological_inputs_are_correct_and_bounded(text: str) -> None:
    check(text)
    work = Work()
    assess(text, work=work)
    # Matching stops at MAX_MATCH_CHARS, and each character costs a bounded number of
    # automaton steps: a generous constant, far below anything quadratic (~16 million).
    assert work.steps <= 100 * MAX_MATCH_CHARS


def test_cost_grows_linearly() -> None:
    """Doubling a message (below the cut) at most doubles the work, plus a constant."""
    unit = "no me dejan salir y me quitaron el pasaporte, que pasa si tengo 15 "
    small, large = Work(), Work()
    assess(unit * 10, work=small)
    assess(unit * 20, work=large)
    assert large.steps <= 2 * small.steps + 1_000


def test_pathological_results_are_right() -> None:
    assert assess("no me " * 20_000).level == "none"
    assert assess("ayuda " * 20_000).level == "normal"
    assert assess("(" * 100_000).level == "none"
    assert "documents_withheld" in assess("me quitaron el pasaporte " * 4_000).indicators
