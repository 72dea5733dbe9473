"""Measures the detector on labelled sets and asserts the agreed targets.

Three sets, each printed separately (`pytest tests/test_risk_evaluation.py -s`, and the
terminal summary; `python tests/test_risk_evaluation.py` prints the misses too):

- `risk_cases.jsonl`, the old set, frozen: the lexicon was written beside it;
- `risk_fresh_*.jsonl`, the fresh set (issue 11), written by people who had not read the
  lexicon or the old set and committed before the lexicon changed: it measures whether
  the detector generalises. Its labels are never edited to fit the detector;
- `risk_regressions.jsonl`, the reviewer's misses and their translations, each of which
  must reach its level;
- `risk_holdout_*.jsonl`, a second set by new writers, committed after the fresh set had
  been used for development, then used for development in its turn;
- `risk_final_*.jsonl`, a third set by new writers: never read while writing the
  lexicon; first measured with the lexicon alone, then with the learned second opinion
  (bot/risk/second_opinion.py), which is never trained on it;
- `risk_fourth_*.jsonl`, a fourth set by new writers, committed before the second
  opinion was tuned and only ever measured. Its figures are the honest ones;
- `risk_fifth_*.jsonl`, a fifth set by new writers (veiled wording, third-person reports,
  teenagers online, hard benign messages), written while the persona reviews of the
  third session on issue 11 were being fixed and only ever measured;
- `risk_sixth_*.jsonl`, a sixth set by new writers (live-in domestic work, mining towns,
  boats, controlled street selling, online recruitment, partners who hold money and
  papers), committed before the fourth session on issue 11 changed anything and only
  ever measured;
- `risk_seventh_*.jsonl`, a seventh set by new writers (first messages that tell half
  the story, relatives and neighbours reporting, teenagers who do not say their age,
  offers that sound legitimate), committed during that session once its first lexicon
  changes were made, and measured only on the session's start and at its end;
- `risk_eighth_*.jsonl`, an eighth set by four new writers, one per language
  (regional slang, SMS spelling, benign messages that share the dangerous words),
  committed before the sixth session on issue 11 changed anything and only measured;
- `risk_ninth_*.jsonl`, a ninth set by four new writers, one per language, each given a
  different setting (mining and fishing towns and lenders; the Amazon and river boats;
  cruise, study and romance offers; Haitian transit through border towns), committed
  before the seventh session on issue 11 changed anything and only measured;
- `risk_tenth_*.jsonl`, a tenth set by four new writers, one per language, each given a
  different setting (salons, hostels and bar recruiters in Lima and the north coast;
  the Amazon border, camps and river boats; English speakers lured by football,
  teaching and au pair offers; francophone street begging, marabouts and promised
  marriages), committed before the eighth session on issue 11 changed anything and
  only measured;
- `risk_eleventh_*.jsonl`, an eleventh set by four new writers, one per language, each
  given a different setting (garment workshops, export farms and discotecas in the
  provinces; Brazilians in the gold camps of Madre de Dios, on the Interoceánica and in
  Cusco; West Africans, domestic workers with wealthy families, work-exchange
  backpackers and fishing crews; Haitians at the borders, debts to smugglers, vendors
  controlled by a "grand frère"), committed before the ninth session on issue 11
  changed anything and only measured;
- `risk_development.jsonl`, 400 messages by four more writers (Andean towns and Lima's
  markets; Brazilians in tourism and on the Interoceánica; crews in Callao, volunteers
  and worried parents; Haitians, Senegalese and Congolese in Lima), written beside the
  tenth set and used, with its misses printed, to develop the eighth session's rules;
- `risk_development_two.jsonl`, 400 more by four new writers (the Amazon, live-in work
  in Lima, webcam recruitment; Brazilian students, churches and boates; Caribbean and
  Asian workers, volunteers and teachers; Haitian mothers, African churches and
  footballers), written beside the eleventh set and used, with its misses printed,
  to develop the ninth session's rules.

Targets (safety first), on the old and the fresh set:

- urgent recall 100%: every urgent case predicted urgent;
- high recall >= 95%: high cases predicted high or urgent;
- false escalations <= 5%: `none` cases predicted high or urgent;
- indicator recall >= 90%.

Targets a set does not meet yet are strict expected failures (`NOT_YET`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from bot.risk import assess
from bot.risk.codes import HIGH, LEVELS, NONE, NORMAL, URGENT, severity

DATA = Path(__file__).parent / "data"
SETS = {
    "old": ("risk_cases.jsonl",),
    "fresh": ("risk_fresh_es_pt.jsonl", "risk_fresh_en_fr.jsonl"),
    "regressions": ("risk_regressions.jsonl",),
    "holdout": ("risk_holdout_es_en.jsonl", "risk_holdout_pt_fr.jsonl"),
    "final": ("risk_final_es_pt.jsonl", "risk_final_en_fr.jsonl"),
    "fourth": ("risk_fourth_es_pt.jsonl", "risk_fourth_en_fr.jsonl"),
    "fifth": ("risk_fifth_es_pt.jsonl", "risk_fifth_en_fr.jsonl"),
    "sixth": ("risk_sixth_es_pt.jsonl", "risk_sixth_en_fr.jsonl"),
    "seventh": ("risk_seventh_es_pt.jsonl", "risk_seventh_en_fr.jsonl"),
    "eighth": ("risk_eighth_es_pt.jsonl", "risk_eighth_en_fr.jsonl"),
    "ninth": ("risk_ninth_es_pt.jsonl", "risk_ninth_en_fr.jsonl"),
    "tenth": ("risk_tenth_es_pt.jsonl", "risk_tenth_en_fr.jsonl"),
    "eleventh": ("risk_eleventh_es_pt.jsonl", "risk_eleventh_en_fr.jsonl"),
    "development": ("risk_development.jsonl",),
    "development_two": ("risk_development_two.jsonl",),
}
# Sets that are only ever measured: their misses are never printed, so that nobody
# developing the detector reads them (and neither model_tools trains nor cv reads them).
MEASURED_ONLY = frozenset(
    {"final", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh"}
)


@dataclass
class Report:
    """Per-level recall, false escalations and indicator recall, with the misses."""

    total: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    false_escalations: list[str] = field(default_factory=list)
    indicator_total: int = 0
    indicator_found: int = 0
    misses: list[tuple[str, str, str, list[str], list[str], str]] = field(default_factory=list)

    def recall(self, level: str) -> float:
        return self.hits.get(level, 0) / max(1, self.total.get(level, 0))

    @property
    def false_escalation_rate(self) -> float:
        return len(self.false_escalations) / max(1, self.total.get(NONE, 0))

    @property
    def indicator_recall(self) -> float:
        return self.indicator_found / max(1, self.indicator_total)

    def table(self, name: str = "old") -> str:
        rows = [
            f"risk detector on the {name} set ({', '.join(SETS[name])})",
            f"{'level':<8}{'cases':>7}{'recall':>9}   rule",
        ]
        rules = {
            URGENT: "predicted urgent",
            HIGH: "predicted high or urgent",
            NORMAL: "predicted normal or more",
            NONE: "predicted none",
        }
        for level in LEVELS:
            rows.append(
                f"{level:<8}{self.total.get(level, 0):>7}{self.recall(level):>9.1%}   "
                f"{rules[level]}"
            )
        rows.append(
            f"false escalations (none -> high/urgent): {len(self.false_escalations)}/"
            f"{self.total.get(NONE, 0)} = {self.false_escalation_rate:.1%}"
        )
        rows.append(
            f"indicator recall: {self.indicator_found}/{self.indicator_total} = "
            f"{self.indicator_recall:.1%}"
        )
        return "\n".join(rows)


def _load(name: str = "old") -> list[dict[str, Any]]:
    cases = []
    for filename in SETS[name]:
        with (DATA / filename).open(encoding="utf-8") as fh:
            cases += [json.loads(line) for line in fh if line.strip()]
    return cases


@cache
def evaluate(name: str = "old") -> Report:
    """Assess every labelled case of one set once and tally the figures."""
    report = Report()
    for case in _load(name):
        label = case["level"]
        result = assess(case["text"], case.get("lang"))
        predicted = result.level
        report.total[label] = report.total.get(label, 0) + 1
        if label == URGENT:
            ok = predicted == URGENT
        elif label == NONE:
            ok = predicted == NONE
        else:
            ok = severity(predicted) <= severity(label)
        if ok:
            report.hits[label] = report.hits.get(label, 0) + 1
        if label == NONE and predicted in (URGENT, HIGH):
            report.false_escalations.append(case["id"])
        wanted = set(case.get("indicators") or ())
        report.indicator_total += len(wanted)
        report.indicator_found += len(wanted & set(result.indicators))
        if not ok or wanted - set(result.indicators):
            report.misses.append(
                (
                    case["id"],
                    label,
                    predicted,
                    sorted(wanted),
                    list(result.indicators),
                    case["text"],
                )
            )
    return report


class _Summary:
    """A plugin registered at run time: hooks in a test module are not collected, and
    conftest.py is shared, so the table reaches the terminal summary this way."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", "risk evaluation")
        for name in SETS:
            terminalreporter.write_line(evaluate(name).table(name))


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.has_plugin("risk-evaluation-summary"):
        manager.register(_Summary(), "risk-evaluation-summary")


# The agreed targets, on every labelled set.
TARGETS = {
    "urgent recall": (lambda r: r.recall(URGENT), 1.0),
    "high recall": (lambda r: r.recall(HIGH), 0.95),
    "benign escalated": (lambda r: -r.false_escalation_rate, -0.05),
    "indicator recall": (lambda r: r.indicator_recall, 0.9),
}
# Targets a set does not meet yet (issue 11, left open): strict, so the day one is met
# the suite says so and the mark goes. "fresh" and then "holdout" were used to develop
# the lexicon after their first measurement, and the second opinion is trained on them
# (their figures say little about new writers); "final", "fourth", "fifth", "sixth",
# "seventh", "eighth", "ninth", "tenth" and "eleventh" are only measured.
NOT_YET = {
    ("final", "urgent recall"),
    ("final", "high recall"),
    ("final", "benign escalated"),
    ("final", "indicator recall"),
    ("fourth", "urgent recall"),
    ("fourth", "high recall"),
    ("fourth", "indicator recall"),
    ("fifth", "urgent recall"),
    ("fifth", "high recall"),
    ("fifth", "benign escalated"),
    ("fifth", "indicator recall"),
    ("sixth", "urgent recall"),
    ("sixth", "high recall"),
    ("sixth", "benign escalated"),
    ("sixth", "indicator recall"),
    ("seventh", "urgent recall"),
    ("seventh", "high recall"),
    ("seventh", "indicator recall"),
    ("eighth", "urgent recall"),
    ("eighth", "high recall"),
    ("eighth", "benign escalated"),
    ("eighth", "indicator recall"),
    ("ninth", "urgent recall"),
    ("ninth", "high recall"),
    ("ninth", "indicator recall"),
    ("tenth", "urgent recall"),
    ("tenth", "high recall"),
    ("tenth", "benign escalated"),
    ("tenth", "indicator recall"),
    ("eleventh", "urgent recall"),
    ("eleventh", "high recall"),
    ("eleventh", "benign escalated"),
    ("eleventh", "indicator recall"),
    ("development", "urgent recall"),
    ("development", "indicator recall"),
    ("development_two", "urgent recall"),
    ("development_two", "benign escalated"),
    ("development_two", "indicator recall"),
}


def _target(name: str, target: str) -> object:
    marks = [pytest.mark.xfail(strict=True, reason="issue 11: not met yet")]
    return pytest.param(name, target, id=f"{name}-{target}",
                        marks=marks if (name, target) in NOT_YET else [])  # fmt: skip


@pytest.mark.parametrize(
    ("name", "target"),
    [
        _target(n, t)
        for n in SETS
        if n != "regressions"  # its own test: each case reaches its level
        for t in TARGETS
    ],
)
def test_target(name: str, target: str) -> None:
    report = evaluate(name)
    measure, goal = TARGETS[target]
    shown = report.misses if name not in MEASURED_ONLY else "(measured only: not shown)"
    assert measure(report) >= goal, (report.table(name), shown)


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("old", 259),
        ("fresh", 250),
        ("holdout", 250),
        ("final", 230),
        ("fourth", 320),
        ("fifth", 340),
        ("sixth", 180),
        ("seventh", 180),
        ("eighth", 200),
        ("ninth", 200),
        ("tenth", 252),
        ("eleventh", 252),
        ("development", 400),
        ("development_two", 400),
    ],
)
def test_sets_are_the_frozen_ones(name: str, size: int) -> None:
    cases = _load(name)
    assert len(cases) >= size if name != "old" else len(cases) == size
    assert {c["level"] for c in cases} <= set(LEVELS)
    assert len({c["id"] for c in cases}) == len(cases)


def test_every_regression_case_reaches_its_level() -> None:
    """The reviewer's misses, in the language they were written and in the other three."""
    misses = [m for m in evaluate("regressions").misses if m[1] != m[2]]
    short = [m for m in misses if severity(m[2]) > severity(m[1])]
    assert short == [], short


def test_normal_cases_are_noticed() -> None:
    """Weak signals should not be lost either (a softer target, on the old set)."""
    report = evaluate("old")
    assert report.recall(NORMAL) >= 0.85, [m for m in report.misses if m[1] == NORMAL]


if __name__ == "__main__":  # pragma: no cover - manual inspection
    import sys

    for set_name in sys.argv[1:] or list(SETS):
        rep = evaluate(set_name)
        print(rep.table(set_name))
        for miss in rep.misses if set_name not in MEASURED_ONLY else ():
            print(*miss, sep=" | ")
