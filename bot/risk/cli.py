"""`python -m bot assess [TEXT]`: the risk assessment on the command line (DESIGN.md).

- With TEXT (one or more words, joined by spaces), assess it and print one JSON line.
- With no TEXT, read stdin: one input per line, either plain text or a JSON object
  `{"text": ..., "lang": ...}`. Print one JSON object per input line, in order.

Blank lines are assessed like any other input (as "", level "none"), so that output line
N always answers input line N: scripts can `paste` inputs and outputs side by side. A line
that starts with "{" but is not valid JSON, or is JSON without a string "text", is
assessed as plain text: a person's message is never dropped because it looks like code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from bot.risk.detector import assess


def _parse(line: str) -> tuple[str, str | None]:
    """(text, lang) of one stdin line."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            obj: Any = json.loads(stripped)
        except ValueError:
            return line, None
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            lang = obj.get("lang")
            return obj["text"], lang if isinstance(lang, str) else None
    return line, None


def _emit(text: str, lang: str | None, stdout: TextIO) -> None:
    stdout.write(json.dumps(assess(text, lang).to_json(), ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None, stdin: TextIO, stdout: TextIO) -> int:
    """Run the command; returns the exit status (0: every input was assessed)."""
    words = list(argv or [])
    if words:
        _emit(" ".join(words), None, stdout)
        return 0
    for raw in stdin:
        text, lang = _parse(raw.rstrip("\r\n"))
        _emit(text, lang, stdout)
        stdout.flush()
    return 0
