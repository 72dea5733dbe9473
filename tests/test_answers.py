"""Whole yes/no answers (bot.engine.answers) and helpers writing for someone else
(bot.cases.others): small pieces, data-driven, tested on their own."""

from __future__ import annotations

import pytest

from bot.cases.others import about_someone_else
from bot.engine.answers import AnswerPhrases, read_answer


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("sí", "yes"), ("Siii!!", "yes"), ("sí, por favor", "yes"), ("dale", "yes"), ("ok", "yes"),
        ("claro que sí", "yes"), ("Sí, quiero", "yes"), ("bueno sí", "yes"), ("ok gracias", "yes"),
        ("yes please", "yes"), ("sure", "yes"), ("oui, s'il vous plaît", "yes"), ("d'accord", "yes"),
        ("sim, por favor", "yes"), ("claro que sim", "yes"),
        ("no", "no"), ("No, gracias", "no"), ("ahora no", "no"), ("todavía no", "no"),
        ("no thanks", "no"), ("not now", "no"), ("non merci", "no"), ("pas maintenant", "no"),
        ("não, obrigada", "no"), ("agora não", "no"),
        ("no sé", "unsure"), ("nose", "unsure"), ("tal vez", "unsure"), ("i don't know", "unsure"),
        ("je sais pas", "unsure"), ("não sei", "unsure"),
    ],
)  # fmt: skip
def test_whole_answers(text: str, answer: str) -> None:
    assert read_answer(text) == answer


@pytest.mark.parametrize(
    "text",
    [
        "y", "s", "n", "1", "gracias", "", "   ",
        "y si me despiden?", "si voy a la policia me detienen?", "sí, pero me van a encontrar",
        "no me dejan salir", "no, me quitaron el pasaporte", "estoy embarazada y sangro",
        "yes they took my passport", "oui mais ils vont me trouver?", "sim, eles me batem",
        "si " * 30,
    ],
)  # fmt: skip
def test_a_word_inside_a_sentence_is_not_an_answer(text: str) -> None:
    assert read_answer(text) is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("no, no quiero que nadie me escriba, me da miedo", "no"),
        ("no thanks i dont want anyone", "no"),
        ("non je ne veux personne, j'ai peur", "no"),
        ("não quero que ninguém leia, tenho medo", "no"),
        ("no sé, me da miedo", "unsure"),
        ("sí, me da miedo", None),  # a reason is taken off a refusal or a doubt only
    ],
)
def test_a_refusal_with_its_reason_is_a_refusal(text: str, answer: str | None) -> None:
    """The tenth persona review: a refusal followed by its reason was not understood,
    the question came again, and the "bueno" after it opened a case as consent."""
    assert read_answer(text) == answer


def test_yaml_booleans_and_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="not text"):
        AnswerPhrases({"es": {"yes": [True]}})
    with pytest.raises(ValueError, match="unknown keys"):
        AnswerPhrases({"es": {True: ["si"]}})


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("quiero ayudar a mi amiga, su jefe no la deja salir", True),
        ("mi hija de 14 trabaja en un bar de noche", True),
        ("my friend can't leave the house", True),
        ("minha sobrinha foi levada", True),
        ("mon amie est enfermée", True),
        ("soy menor y mi tío me trajo a trabajar", False),
        ("me quitaron el pasaporte", False),
        ("mi jefe me quitó el pasaporte a mí y a mi hermana", False),
    ],
)
def test_someone_writing_for_another_person(text: str, other: bool) -> None:
    assert about_someone_else(text) is other
