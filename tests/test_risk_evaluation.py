"""Measures the detector on the frozen labelled set and asserts the agreed targets.

tests/data/risk_cases.jsonl is frozen: the lexicon is written from the seeds and from how
people write, and this set only measures it. Targets (safety first):

- urgent recall 100%: every urgent case predicted urgent;
- high recall >= 95%: high cases predicted high or urgent;
- false escalations <= 5%: `none` cases predicted high or urgent.

Run `pytest tests/test_risk_evaluation.py -s` to see the table; it is also added to the
terminal summary. `python tests/test_risk_evaluation.py` prints it with the misses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from bot.risk import assess
from bot.risk.codes import HIGH, LEVELS, NONE, NORMAL, URGENT, severity

CASES = Path(__file__).parent / "data" / "risk_cases.jsonl"


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

    def table(self) -> str:
        rows = [
            "risk detector on tests/data/risk_cases.jsonl",
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


def _load() -> list[dict[str, Any]]:
    with CASES.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@lru_cache(maxsize=1)
def evaluate() -> Report:
    """Assess every labelled case once and tally the figures."""
    report = Report()
    for case in _load():
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
        wanted = set(case["indicators"])
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

    def __init__(self, report: Report) -> None:
        self.report = report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", "risk evaluation")
        terminalreporter.write_line(self.report.table())


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> Report:
    result = evaluate()
    print()
    print(result.table())
    manager = request.config.pluginmanager
    if not manager.has_plugin("risk-evaluation-summary"):
        manager.register(_Summary(result), "risk-evaluation-summary")
    return result


def test_set_is_the_frozen_one() -> None:
    cases = _load()
    assert len(cases) == 259
    assert {c["level"] for c in cases} <= set(LEVELS)


def test_urgent_recall_is_total(report: Report) -> None:
    assert report.recall(URGENT) == 1.0, [m for m in report.misses if m[1] == URGENT]


def test_high_recall(report: Report) -> None:
    assert report.recall(HIGH) >= 0.95, [m for m in report.misses if m[1] == HIGH]


def test_false_escalations(report: Report) -> None:
    assert report.false_escalation_rate <= 0.05, report.false_escalations


def test_normal_cases_are_noticed(report: Report) -> None:
    """Weak signals should not be lost either (a softer target)."""
    assert report.recall(NORMAL) >= 0.85, [m for m in report.misses if m[1] == NORMAL]


if __name__ == "__main__":  # pragma: no cover - manual inspection
    rep = evaluate()
    print(rep.table())
    for miss in rep.misses:
        print(*miss, sep=" | ")
