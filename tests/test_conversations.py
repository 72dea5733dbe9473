"""The multi-turn safety suite: scripted conversations, in four languages, as data.

`issue9_reproductions.jsonl` holds the reported failures; `heldout_*.jsonl` were written
by people who had not read the code or the lexicon, before the change, and are frozen.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conversations import all_conversations, check_format, run

CONVERSATIONS = all_conversations()


def test_the_suite_is_large_and_covers_the_four_languages() -> None:
    langs = Counter(c["lang"] for c in CONVERSATIONS)
    assert len(CONVERSATIONS) >= 60
    assert set(langs) == {"es", "en", "pt", "fr"}
    assert all(n >= 8 for n in langs.values()), langs
    assert len({c["id"] for c in CONVERSATIONS}) == len(CONVERSATIONS), "duplicate ids"


@pytest.mark.parametrize("conv", CONVERSATIONS, ids=[c["id"] for c in CONVERSATIONS])
def test_conversation(conv: dict, tmp_path: Path) -> None:
    assert not check_format(conv), check_format(conv)
    failures = run(conv, tmp_path)
    assert not failures, f"{conv['file']}:{conv['line']} {conv.get('about', '')}\n" + "\n".join(
        failures
    )
