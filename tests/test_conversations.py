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

# Held-out conversations whose first risky message the detector does not recognise yet
# (veiled or regional wording: issue 11, "risk detection that generalises"). The
# conversation logic is checked by the others; these stay strict expected failures, so
# the day the detector catches them the suite says so and they move back.
DETECTION_GAPS = {
    "ho-en-minor-accumulate": "'she lock the door at night so i cant go' is not movement_restricted",
    "ho-en-offer-then-passport": "a vague job offer without the employer's name is not deceptive_offer",
    "ho-en-consent-trap-lose-job": "'they keep me in the house, i only go out with the señora'",
    "ho-en-consent-idk-then-yes": "'my papers are with the señora ... when i finish paying the room'",
    "ho-en-changes-mind": "'i have to go with the men they bring to the house, i cant say no'",
    "ho-en-self-harm-after-debt": "'i think about ending my life' is not self_harm",
    "ho-fr-oui-mais": "'rembourser le billet d'avion' is not debt_bondage",
    "ho-fr-jsp-puis-non": "'ils me gardent dans la maison, je sors jamais seule'",
    "ho-fr-enceinte-saigne": "'c'est lui qui garde tout l'argent que je gagne'",
    "ho-fr-drogue-puis-blesse": "'ils me font vendre de la drogue pour payer ce que je dois'",
    "ho-es-tercero-sobrina": "'un hombre le ofrecio trabajo en una discoteca ... y se la llevo'",
}


def test_the_suite_is_large_and_covers_the_four_languages() -> None:
    langs = Counter(c["lang"] for c in CONVERSATIONS)
    assert len(CONVERSATIONS) >= 60
    assert set(langs) == {"es", "en", "pt", "fr"}
    assert all(n >= 8 for n in langs.values()), langs
    assert len({c["id"] for c in CONVERSATIONS}) == len(CONVERSATIONS), "duplicate ids"


def _param(conv: dict) -> object:
    gap = DETECTION_GAPS.get(conv["id"])
    marks = (
        [pytest.mark.xfail(reason=f"detection gap (issue 11): {gap}", strict=True)] if gap else []
    )
    return pytest.param(conv, id=conv["id"], marks=marks)


def test_known_gaps_are_held_out_conversations() -> None:
    ids = {c["id"] for c in CONVERSATIONS if c["file"].startswith("heldout_")}
    assert set(DETECTION_GAPS) <= ids


@pytest.mark.parametrize("conv", [_param(c) for c in CONVERSATIONS])
def test_conversation(conv: dict, tmp_path: Path) -> None:
    assert not check_format(conv), check_format(conv)
    failures = run(conv, tmp_path)
    assert not failures, f"{conv['file']}:{conv['line']} {conv.get('about', '')}\n" + "\n".join(
        failures
    )
