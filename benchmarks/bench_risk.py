"""Risk detector speed: throughput on typical messages and the time of the worst
messages an attacker can write, against a baseline measured in the same run
(segmenting the same text, which every matcher must do anyway).

The adversarial messages are built from the compiled lexicon itself: the word that
starts the most patterns, the word pair that keeps the most patterns alive, and the
lexicon's own phrases glued together, each repeated to the 4,000-character cut. The
goal (issue 11) is under 50 ms for each. Run: make bench
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.timing import timed
from bot.engine.normalize import MAX_MATCH_CHARS
from bot.risk import assess
from bot.risk.detector import _compiled
from bot.risk.text import segment

CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "risk_cases.jsonl"


def adversarial() -> dict[str, str]:
    matcher = _compiled().matcher
    wild = max(matcher._wild.items(), key=lambda kv: len(kv[1]))[0]
    first, seconds = max(matcher._by_pair.items(), key=lambda kv: max(map(len, kv[1].values())))
    second = max(seconds.items(), key=lambda kv: len(kv[1]))[0]
    # and the third word most of those patterns take (the matcher indexes three words)
    thirds = [t for _, _, ts in seconds[second] if ts for t in ts]
    third = max(sorted(set(thirds)), key=thirds.count) if thirds else second
    phrases = " ".join(p.replace("(", " ").replace(")", " ").replace("|", " ").replace("?", " ")
                       for r in _compiled().lexicon.rules for p in r.patterns)  # fmt: skip
    words = [w for w in phrases.split() if w.isalpha() and not w.startswith(("~", "@"))]

    def fill(unit: str) -> str:
        return (unit * (MAX_MATCH_CHARS // max(1, len(unit)) + 1))[:MAX_MATCH_CHARS]

    return {
        f"'{wild}' repeated (most patterns start with it)": fill(f"{wild} "),
        f"'{first} {second}' repeated (most patterns take both)": fill(f"{first} {second} "),
        f"'{first} {second} {third}' repeated (most patterns take all three)": fill(
            f"{first} {second} {third} "
        ),
        "the lexicon's own words, in order": fill(" ".join(words) + " "),
        "one 100 KB message (cut at 4,000 characters)": fill("me tienen encerrada y no ") * 25,
    }


def run() -> dict[str, object]:
    """Typical throughput and the worst adversarial time, printed as it goes."""
    assess("")  # compile the lexicon and load the model outside the measurement
    typical = [json.loads(line)["text"] for line in CASES.open(encoding="utf-8") if line.strip()]
    total = timed(lambda: [assess(t) for t in typical], repeat=3)
    base = timed(lambda: [segment(t) for t in typical], repeat=3)
    print(f"typical messages: {len(typical) / total:,.0f} per second "
          f"({total / len(typical) * 1e6:,.0f} µs each, {total / base:.1f}x segmenting them)")  # fmt: skip
    worst = 0.0
    for name, text in adversarial().items():
        took = timed(lambda text=text: assess(text))
        seg = timed(lambda text=text: segment(text))
        worst = max(worst, took)
        print(f"adversarial, {name}: {took * 1000:.1f} ms ({took / seg:.1f}x segmenting it)")
    return {
        "assess_msgs_per_s": round(len(typical) / total, 1),
        "assess_worst_ms": round(worst * 1000, 2),
    }


def main() -> None:
    print(json.dumps(run()))


if __name__ == "__main__":
    main()
