"""`make model`: train the second opinion (bot/risk/second_opinion.py) and check it.

    python -m bot.risk.model_tools train   # writes bot/risk/learned/weights.json.gz
    python -m bot.risk.model_tools cv      # figures on each group left out in turn

Tooling, not engine: scikit-learn is needed here only; the bot reads the exported
weights with plain Python. The corpus is every labelled set that development has
already read (`CORPUS`); the sets kept for measuring (`risk_final_*`, `risk_fourth_*`,
`risk_fifth_*`, `risk_sixth_*`, `risk_seventh_*`, `risk_eighth_*`, `risk_ninth_*`, `risk_tenth_*`, `risk_eleventh_*`) are never trained on, and `cv` never reads them: their figures stay honest.

Each head is an L2-regularised logistic regression with balanced class weights over
feature counts (words, word pairs, letter groups) of messages tokenised exactly as the
detector tokenises them, each row scaled by one over the square root of its number of
feature occurrences (so that inference is a sum of cached per-word weights). Features seen in fewer than two messages
are dropped, and so are weights too small to change a decision, so the file stays small.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from bot.risk import codes as C
from bot.risk.second_opinion import WEIGHTS_PATH, features
from bot.risk.text import segment

ROOT = Path(__file__).resolve().parents[2]
# group name -> files. Groups are left out in turn by `cv`: a group is one set of writers.
# The reviewer's regression cases carry a level but no indicators, so they cannot teach
# the heads (see `_targets`): they are measured by tests/test_risk_evaluation.py.
CORPUS: dict[str, tuple[str, ...]] = {
    "old": ("tests/data/risk_cases.jsonl",),
    "fresh": ("tests/data/risk_fresh_es_pt.jsonl", "tests/data/risk_fresh_en_fr.jsonl"),
    "holdout": ("tests/data/risk_holdout_es_en.jsonl", "tests/data/risk_holdout_pt_fr.jsonl"),
    "written": tuple(
        sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bot/risk/learned/corpus").glob("*.jsonl"))
    ),
}
REGULARISATION = 4.0  # sklearn's C
MIN_DOCS = 2
MIN_POSITIVES = 5  # a code seen fewer times has no head: the lexicon alone decides it
MIN_WEIGHT = 0.02  # smaller ones changed no level or code on any labelled message
# Operating points, chosen with `cv` (the closing note of issue 11 gives the figures).
THRESHOLD = {"urgent": 0.8, "high": 0.7, "*": 0.7}


def _rows(paths: Iterable[str]) -> list[dict]:
    rows: list[dict] = []
    for path in paths:
        with open(ROOT / path, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


def _targets(rows: list[dict]) -> dict[str, list[bool | None]]:
    """Per head, per row: positive, negative, or None (row not labelled for it).

    The level heads learn the level *leaving the child out*: "urgent" is an urgency
    code, "high" a trafficking risk. Whether the person is a child is the lexicon's
    (ages are rules, not guesses), and DESIGN.md's table then makes a child at risk
    urgent. Trained on the plain level, the heads learned that "tengo 16 años" is
    urgent, and a schoolgirl asking about enrolment opened a case."""
    adult = [
        C.level_for(set(r["indicators"]) - {C.MINOR, C.UNACCOMPANIED_MINOR})
        if "indicators" in r
        else None
        for r in rows
    ]
    out: dict[str, list[bool | None]] = {
        "urgent": [None if lv is None else lv == C.URGENT for lv in adult],
        "high": [None if lv is None else lv in (C.URGENT, C.HIGH) for lv in adult],
    }
    for code in C.ALL_CODES:
        out[code] = [code in r["indicators"] if "indicators" in r else None for r in rows]
    return out


def fit(rows: list[dict], regularisation: float = REGULARISATION) -> dict:
    """Train every head on `rows`; the exported model, as weights.json.gz holds it."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    counted = [Counter(features(segment(r["text"]).tokens)) for r in rows]
    docs = Counter(f for c in counted for f in c)
    vocab = sorted(f for f, n in docs.items() if n >= MIN_DOCS)
    column = {f: i for i, f in enumerate(vocab)}
    data, indices, indptr = [], [], [0]
    for c in counted:
        # Scaled by all of the message's feature occurrences, as inference does.
        scale = 1.0 / max(1, sum(c.values())) ** 0.5
        cols = sorted((column[f], n) for f, n in c.items() if f in column)
        indices.extend(j for j, _ in cols)
        data.extend(n * scale for _, n in cols)
        indptr.append(len(indices))
    X = csr_matrix((data, indices, indptr), shape=(len(rows), len(vocab)))
    heads, bias, threshold, columns = [], [], [], []
    for head, labels in _targets(rows).items():
        keep = [i for i, y in enumerate(labels) if y is not None]
        y = np.array([labels[i] for i in keep])
        if y.sum() < MIN_POSITIVES or y.sum() == len(y):
            continue
        model = LogisticRegression(
            C=regularisation, class_weight="balanced", max_iter=5000, solver="lbfgs"
        )
        model.fit(X[keep], y)
        heads.append(head)
        bias.append(round(float(model.intercept_[0]), 4))
        threshold.append(THRESHOLD.get(head, THRESHOLD["*"]))
        columns.append(model.coef_[0])
    weights: dict[str, dict[str, float]] = {}
    for j, feat in enumerate(vocab):
        by_head = {
            str(h): round(float(col[j]), 3)
            for h, col in enumerate(columns)
            if abs(col[j]) >= MIN_WEIGHT
        }
        if by_head:
            weights[feat] = by_head
    return {"heads": heads, "bias": bias, "threshold": threshold, "weights": weights}


def _digest(paths: Iterable[str]) -> dict[str, str]:
    return {p: hashlib.sha256((ROOT / p).read_bytes()).hexdigest() for p in paths}


def corpus_paths() -> list[str]:
    return [p for group in CORPUS.values() for p in group]


def train() -> int:
    paths = corpus_paths()
    raw = fit(_rows(paths))
    raw = {"trained_on": _digest(paths), "regularisation": REGULARISATION, **raw}
    WEIGHTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    # mtime=0: the same corpus gives the same bytes
    WEIGHTS_PATH.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    sys.stdout.write(
        f"{WEIGHTS_PATH.relative_to(ROOT)}: {len(raw['heads'])} heads, "
        f"{len(raw['weights'])} features, trained on {len(paths)} files\n"
    )
    return 0


def cross_validate() -> int:
    """Leave each group out in turn: lexicon alone, then lexicon with the second opinion."""
    from bot.risk.detector import assess
    from bot.risk.second_opinion import Model

    for left_out, paths in CORPUS.items():
        if not paths:
            continue
        train_rows = _rows(p for g, ps in CORPUS.items() if g != left_out for p in ps)
        model = Model.from_json(fit(train_rows))
        test = _rows(paths)
        for name, use in (("lexicon", None), ("with model", model)):
            predicted = [assess(r["text"], second_opinion=use is not None, model=use) for r in test]
            sys.stdout.write(f"{left_out:12} {name:11} {figures(test, predicted)}\n")
    return 0


def figures(rows: list[dict], predicted: list) -> str:
    """urgent recall, high recall, benign escalated, indicator recall."""
    total: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    wanted = found = 0
    for row, result in zip(rows, predicted, strict=True):
        level, got = row["level"], C.severity(result.level)
        total[level] += 1
        hits[level] += {C.URGENT: got == 0, C.HIGH: got <= 1, C.NORMAL: got <= 2}.get(
            level, got <= 1
        )
        codes = set(row.get("indicators", ()))
        wanted += len(codes)
        found += len(codes & set(result.indicators))
    rate = lambda level: hits[level] / max(1, total[level])  # noqa: E731
    return (
        f"urgent {rate(C.URGENT):.3f}  high {rate(C.HIGH):.3f}  "
        f"benign escalated {rate(C.NONE):.3f}  indicators {found / max(1, wanted):.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.risk.model_tools")
    parser.add_argument("action", choices=("train", "cv"))
    args = parser.parse_args(argv)
    return train() if args.action == "train" else cross_validate()


if __name__ == "__main__":
    raise SystemExit(main())
