"""The one way the benchmarks time a call: the median of several runs, so that one
slow run (a garbage collection, another process) does not decide a ratio."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


ADAPTERS = ("sqlite", "redis")


def each_adapter(measure: Callable[[str], dict]) -> dict[str, dict]:
    """`measure(kind)` on both storage adapters, each row printed to stderr as it ends."""
    out: dict[str, dict] = {}
    for kind in ADAPTERS:
        out[kind] = measure(kind)
        print(f"{kind:7} " + "  ".join(f"{k} {v}" for k, v in out[kind].items()), file=sys.stderr)
    return out


def cli(run: Callable[[bool], dict]) -> int:
    """`python -m benchmarks.X [--quick]`: the JSON of one benchmark alone."""
    print(json.dumps(run("--quick" in sys.argv)))
    return 0
