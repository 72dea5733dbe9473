"""SECURITY.md names a test for every mitigation it claims: each must exist."""

from __future__ import annotations

import re

from bot import paths

CITED = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`|`::(\w+)`")


def test_every_mitigation_in_security_md_names_a_test_that_exists() -> None:
    text = (paths.ROOT / "SECURITY.md").read_text(encoding="utf-8")
    current, checked = None, 0
    for match in CITED.finditer(text):
        path, name = (
            (match.group(1), match.group(2)) if match.group(1) else (current, match.group(3))
        )
        current = path
        source = (paths.ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name}"
        checked += 1
    assert checked >= 15
