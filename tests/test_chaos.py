"""The short `make chaos` run (benchmarks/chaos.py --short), part of `make test`:
real processes (gunicorn, workers, senders, `bot run`), a private Redis with append-only
persistence, SIGKILLs, a Redis restart, a deleted stream, an unsendable item, a torn
spool line and a locked SQLite file. It must report no broken guarantee."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bot import paths


def test_short_chaos_run_breaks_no_guarantee() -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is required for the chaos run (make test installs it)")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.chaos", "--short"],
        capture_output=True, text=True, cwd=paths.ROOT, timeout=900,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-2000:]
    figures = json.loads(lines[-1])
    for name in ("redis", "sqlite"):
        r = figures[name]
        assert r["lost"] == 0 and r["duplicated"] == 0 and r["out_of_order"] == 0, r
        assert r["escalations_found"] == r["escalations_expected"] > 0, r
        assert r["sender_window_duplicates"] <= r["sender_kills"], r
        assert r["max_urgent_reply_s"] <= 5, r
    assert figures["redis"]["dead_letters"] >= 1  # the unsendable item, set aside alone
    assert done.returncode == 0, done.stdout[-3000:]
