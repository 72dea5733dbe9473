"""`make model` (with the risk model): count the language guesser's letter groups.

    python -m bot.engine.langguess_tools          # writes bot/engine/langguess.json.gz
    python -m bot.engine.langguess_tools measure  # figures on the labelled risk sets

Trained on the catalogues (Spanish source and the three translations) and on the
messages written for the risk model (`bot/risk/learned/corpus`). The labelled risk sets
in tests/data are never counted: `measure` reads their language labels only, so its
figures are on messages the guesser never saw.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

from babel.messages.pofile import read_po

from bot.engine.langguess import DATA_PATH, grams, guess_lang
from bot.engine.types import LANGS, SOURCE_LANG

ROOT = Path(__file__).resolve().parents[2]
MEASURED = ("risk_cases", "risk_fresh_*", "risk_holdout_*", "risk_final_*", "risk_fourth_*",
            "risk_fifth_*", "risk_sixth_*", "risk_seventh_*", "risk_eighth_*", "risk_ninth_*", "risk_tenth_*")  # fmt: skip


def texts() -> dict[str, list[str]]:
    """Every training text, by language."""
    out: dict[str, list[str]] = {lang: [] for lang in LANGS}
    for lang in LANGS:
        with open(ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
            catalog = read_po(f)
        for message in catalog:
            text = message.id if lang == SOURCE_LANG else message.string
            if message.id and isinstance(text, str) and text:
                out[lang].append(text)
    for path in sorted((ROOT / "bot/risk/learned/corpus").glob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    out[row["lang"]].append(row["text"])
    return out


def build() -> dict:
    counts: dict[str, Counter[str]] = {lang: Counter() for lang in LANGS}
    for lang, rows in texts().items():
        for text in rows:
            counts[lang].update(grams(text))
    vocabulary = sorted(set().union(*counts.values()))
    return {
        "langs": list(LANGS),
        "totals": [sum(counts[lang].values()) for lang in LANGS],
        "counts": {g: [counts[lang][g] for lang in LANGS] for g in vocabulary},
    }


def write() -> None:
    payload = json.dumps(build(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    with gzip.GzipFile(DATA_PATH, "wb", mtime=0) as f:  # the same bytes from the same data
        f.write(payload.encode("utf-8"))
    print(f"wrote {DATA_PATH.relative_to(ROOT)}")


def measure() -> dict[str, dict[str, float]]:
    """Right, no guess and wrong, as shares of each labelled set."""
    out = {}
    for pattern in MEASURED:
        rows = [
            json.loads(line)
            for path in sorted((ROOT / "tests/data").glob(f"{pattern}.jsonl"))
            for line in path.open(encoding="utf-8")
            if line.strip()
        ]
        if not rows:
            continue
        tally = Counter()
        for row in rows:
            guess = guess_lang(row["text"])
            tally["none" if guess is None else "right" if guess == row["lang"] else "wrong"] += 1
        out[pattern.rstrip("_*")] = {
            k: round(tally[k] / len(rows), 3) for k in ("right", "none", "wrong")
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=("build", "measure"), default="build")
    args = parser.parse_args(argv)
    if args.what == "build":
        write()
    else:
        for name, figures in measure().items():
            print(name, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
