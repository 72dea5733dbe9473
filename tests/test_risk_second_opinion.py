"""The learned second opinion (bot/risk/second_opinion.py): it only adds, it explains
itself, it keeps levels on DESIGN.md's table, and it is trained on what it says."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bot.risk import assess, model_tools, second_opinion
from bot.risk import codes as C
from bot.risk.second_opinion import Model, opinion
from bot.risk.text import segment

DATA = Path(__file__).parent / "data"


def _tiny(heads: dict[str, float], weights: dict[str, dict[str, float]]) -> Model:
    """A hand-written model: head -> bias; feature -> head -> weight."""
    names = list(heads)
    return Model.from_json(
        {
            "heads": names,
            "bias": list(heads.values()),
            "threshold": [0.5] * len(names),
            "weights": {
                f: {str(names.index(h)): w for h, w in by.items()} for f, by in weights.items()
            },
        }
    )


def test_the_shipped_weights_were_trained_on_the_corpus_as_it_is_now() -> None:
    """Edit a labelled set without `make model` and this fails: the model would answer
    for data it never saw."""
    raw = json.loads(gzip.decompress(second_opinion.WEIGHTS_PATH.read_bytes()))
    assert raw["trained_on"] == model_tools._digest(model_tools.corpus_paths())
    assert second_opinion.load() is not None


def test_the_sets_kept_for_measuring_are_never_trained_on() -> None:
    trained = " ".join(model_tools.corpus_paths())
    assert "risk_final" not in trained and "risk_fourth" not in trained


def _old_set() -> list[dict]:
    with open(DATA / "risk_cases.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_it_only_adds_and_the_level_follows_the_codes() -> None:
    for row in _old_set():
        alone = assess(row["text"], second_opinion=False)
        both = assess(row["text"])
        assert set(alone.indicators) <= set(both.indicators), row["id"]
        assert C.severity(both.level) <= C.severity(alone.level), row["id"]
        assert both.level == C.level_for(both.indicators), row["id"]


def test_every_code_it_adds_names_words_the_person_wrote() -> None:
    added = 0
    for row in _old_set():
        alone = assess(row["text"], second_opinion=False)
        both = assess(row["text"])
        for code in set(both.indicators) - set(alone.indicators):
            added += 1
            [words] = both.triggers[code]
            assert words and all(w in row["text"] for w in words.split(" … ")), (code, row["id"])
    assert added  # the model does add something on the old set (else this proves nothing)


def test_a_what_if_is_no_evidence_of_a_trafficking_code_but_still_of_self_harm() -> None:
    model = _tiny(
        {C.DOCUMENTS_WITHHELD: -2.0, C.SELF_HARM: -2.0},
        {"w:pasaporte": {C.DOCUMENTS_WITHHELD: 40.0}, "w:mato": {C.SELF_HARM: 40.0}},
    )
    said = "en la casa donde trabajo de noche la señora me quita el pasaporte"
    assert C.DOCUMENTS_WITHHELD in assess(said, model=model).indicators
    assert assess(f"¿qué pasa si {said}?", model=model).level == C.NONE
    assert (
        assess("nadie me quitó el pasaporte en la casa donde trabajo de noche", model=model).level
        == C.NONE
    )
    assert (
        C.SELF_HARM
        in assess(
            "ya no aguanto esta vida tan dura, y si me mato esta noche", model=model
        ).indicators
    )


def test_a_level_head_adds_the_code_that_justifies_it() -> None:
    model = _tiny(
        {C.URGENT: -2.0, C.IMMEDIATE_DANGER: -3.0, C.MEDICAL_EMERGENCY: -2.5},
        {"w:sangro": {C.URGENT: 60.0, C.MEDICAL_EMERGENCY: 40.0}},
    )
    result = opinion(
        segment("estoy sangrando mucho por la herida del brazo y no sé qué hacer"), set(), model
    )
    assert result.triggers == {}  # "sangrando" is not "sangro": no feature, no opinion
    result = opinion(
        segment("sangro mucho por la herida del brazo y no sé qué hacer"), set(), model
    )
    assert opinion(segment("sangro mucho"), set(), model).triggers == {}  # too few words
    assert set(result.triggers) == {C.MEDICAL_EMERGENCY}  # the likelier urgency code
    assert result.triggers[C.MEDICAL_EMERGENCY] == "sangro"


def test_a_child_mentioned_counts_once_the_model_sees_a_risk() -> None:
    """The lexicon keeps "mi hija de 14" latent without a risk; a risk found by the
    model makes it count, and a child at risk is urgent."""
    model = _tiny(
        {C.HIGH: -2.0, C.SEXUAL_EXPLOITATION: -2.0},
        {"w:zumba": {C.HIGH: 50.0, C.SEXUAL_EXPLOITATION: 50.0}},
    )
    text = "mi hija de 14 va a la zumba con el señor del barrio cada noche"
    assert assess(text, second_opinion=False).level != C.URGENT
    result = assess(text, model=model)
    assert {C.MINOR, C.SEXUAL_EXPLOITATION} <= set(result.indicators)
    assert result.level == C.URGENT


def test_a_code_head_alone_never_escalates() -> None:
    """Escalation is the level heads' call: a code guessed for a schoolgirl's question
    ("tengo 16" + a weak guess) must not make it urgent, but it may name a code where
    the level does not change."""
    model = _tiny({C.FORCED_MARRIAGE: -2.0}, {"w:familia": {C.FORCED_MARRIAGE: 50.0}})
    school = "tengo 16 años y quiero estudiar en un colegio aca, vine con mi familia"
    assert assess(school, model=model) == assess(school, second_opinion=False)
    assert assess(school, model=model).level == C.NORMAL
    high = "el patron no me paga hace tres meses y amenaza a mi familia en caracas"
    assert assess(high, second_opinion=False).level == C.HIGH
    both = assess(high, model=model)
    assert C.FORCED_MARRIAGE in both.indicators and both.level == C.HIGH


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"heads": ["urgent", "not_a_code"]}, "unknown heads"),
        ({"threshold": [0.5, 1.0]}, "threshold"),
        ({"bias": [0.0]}, "differ in length"),
        ({"weights": {"w:x": {"7": 1.0}}}, "head that does not exist"),
    ],
)
def test_a_malformed_weights_file_stops_start_up(change: dict, message: str) -> None:
    raw = {"heads": ["urgent", "high"], "bias": [0.0, 0.0], "threshold": [0.5, 0.5],
           "weights": {"w:x": {"0": 1.0}}}  # fmt: skip
    with pytest.raises(ValueError, match=message):
        Model.from_json({**raw, **change})


def test_without_a_weights_file_the_lexicon_answers_alone(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(second_opinion, "WEIGHTS_PATH", tmp_path / "missing.json.gz")
    second_opinion.load.cache_clear()
    try:
        assert second_opinion.load() is None
        text = "I lost my passport on the bus"
        assert assess(text) == assess(text, second_opinion=False)
    finally:
        second_opinion.load.cache_clear()


def test_training_learns_from_its_rows() -> None:
    """`fit` on a small corpus: what it saw as positive it flags, and the negatives not."""
    positives = [f"el patron se quedo con mi pasaporte y no me lo devuelve {n}" for n in range(8)]
    negatives = [
        f"quiero renovar mi carnet en migraciones la semana que viene {n}" for n in range(8)
    ]
    rows = [{"text": t, "level": C.HIGH, "indicators": [C.DOCUMENTS_WITHHELD]} for t in positives]
    rows += [{"text": t, "level": C.NONE, "indicators": []} for t in negatives]
    model = Model.from_json(model_tools.fit(rows))
    assert (
        C.DOCUMENTS_WITHHELD
        in opinion(
            segment("el patron se quedo con mi pasaporte y no me lo devuelve"), set(), model
        ).triggers
    )
    assert (
        opinion(
            segment("quiero renovar mi carnet en migraciones la semana que viene"), set(), model
        ).triggers
        == {}
    )
