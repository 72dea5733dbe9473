"""`make bench`: every speed figure of the project, in one run, as ratios against
baselines measured in the same run; a table, then one JSON object as the last line.

    python -m benchmarks [--quick]

Sections, each in its own module (read their docstrings for what is measured):
search (bench_search), risk detector (bench_risk), store and engine (bench_store),
webhooks and end to end (bench_web), delivery at the platforms' limits (bench_delivery).
The table says, for each figure with an agreed goal (issues 11 and 15), whether this run
met it. No figure is asserted anywhere: a slow machine reads the ratios, not the rates.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import bench_delivery, bench_risk, bench_search, bench_store, bench_web

# dotted key -> (goal as text, test). Per adapter where the figure depends on the store.
GOALS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "assess_worst_ms": ("< 50", lambda v: v < 50),
    **{
        f"{kind}.{key}": goal
        for kind, (web, e2e) in {"sqlite": (0.4, 0.2), "redis": (0.6, 0.3)}.items()
        for key, goal in {
            "webhook_ratio": (f">= {web}", lambda v, g=web: v >= g),
            "e2e_ratio": (f">= {e2e}", lambda v, g=e2e: v >= g),
            "e2e_p99_ms": ("<= 300", lambda v: v <= 300),
            "rtt100.telegram_msgs_per_s": (">= 25", lambda v: v >= 25),
            "rtt100.whatsapp_msgs_per_s": (">= 50", lambda v: v >= 50),
            "rtt100.other_person_p99_ms": ("<= 2000", lambda v: v <= 2000),
            "scale_ratio": (">= 0.9", lambda v: v >= 0.9),
            "bytes_per_session": ("<= 2048", lambda v: v <= 2048),
            "idle_writes_per_s": ("<= 1", lambda v: v <= 1),
        }.items()
    },
}


def flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if key == "detail":
            continue
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def table(result: dict[str, Any]) -> str:
    rows = [f"{'figure':44} {'value':>12}  {'goal':>9}  met"]
    for key, value in flat(result).items():
        goal, test = GOALS.get(key, ("", None))
        met = "" if test is None else ("yes" if test(value) else "NO")
        rows.append(f"{key:44} {value:>12}  {goal:>9}  {met}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    result: dict[str, Any] = {}
    print("== services search", flush=True)
    bench_search.main()
    print("== risk detector", flush=True)
    merge(result, bench_risk.run())
    print("== store and engine", flush=True)
    stores = bench_store.run(quick)
    merge(result, stores)
    result["engine_msgs_per_s"] = max(stores[k].pop("engine_msgs_per_s") for k in stores)
    print("== webhooks and end to end", flush=True)
    merge(result, bench_web.run(quick))
    print("== delivery at the platforms' limits (100 ms round trips)", flush=True)
    merge(result, bench_delivery.run(quick))
    result["seconds"] = round(time.monotonic() - started, 1)
    print(table(result), flush=True)
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
