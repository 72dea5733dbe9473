"""Behaviour of the risk detector: the rules that must hold whatever the lexicon grows into.

The sentences here are written for these tests (not taken from the frozen evaluation set),
so they also check that the lexicon generalises.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.risk import Assessment, assess
from bot.risk import codes as C
from bot.risk.codes import level_for, severity
from bot.risk.lexicon import LexiconError, load, load_file
from bot.risk.patterns import PatternError, compile_pattern


def codes_of(text: str) -> set[str]:
    return set(assess(text).indicators)


# --------------------------------------------------------------------------- the brief


def test_passport_taken_and_confined_is_high_or_urgent() -> None:
    result = assess("me quitaron el pasaporte y no me dejan salir")
    assert result.level in (C.HIGH, C.URGENT)
    assert {C.DOCUMENTS_WITHHELD, C.MOVEMENT_RESTRICTED} <= set(result.indicators)


def test_minor_forced_to_work_is_urgent() -> None:
    result = assess("tengo 15 años y me obligan a trabajar")
    assert result.level == C.URGENT
    assert C.MINOR in result.indicators


def test_child_mentioned_by_parent_without_risk_is_not_escalated() -> None:
    assert assess("mi hija de 8 años necesita un pediatra").level in (C.NONE, C.NORMAL)


def test_negated_statement_is_none() -> None:
    assert assess("no me quitaron nada").level == C.NONE


def test_hypothetical_question_does_not_flag_documents() -> None:
    assert C.DOCUMENTS_WITHHELD not in codes_of("¿qué pasa si me quitan el pasaporte?")


@pytest.mark.parametrize("text", ["sosiego", "pasaportes vencidos renovar", "SOSIEGO total"])
def test_substrings_never_trigger(text: str) -> None:
    assert assess(text).level == C.NONE


def test_triggers_name_the_words() -> None:
    result = assess("el patrón me kitó la cédula y no me deja salir")
    assert result.triggers[C.DOCUMENTS_WITHHELD] == ["me kitó la cédula"]
    assert result.triggers[C.MOVEMENT_RESTRICTED] == ["no me deja salir"]
    assert list(result.indicators) == sorted(result.triggers)


# --------------------------------------------------------------------------- level_for

LEVEL_TABLE = [
    (set(), C.NONE),
    ({C.MINOR}, C.NORMAL),
    ({C.UNDOCUMENTED}, C.NORMAL),
    ({C.DECEPTIVE_OFFER}, C.NORMAL),
    ({C.ASKS_FOR_HELP}, C.NORMAL),
    ({C.DOCUMENTS_WITHHELD}, C.HIGH),
    ({C.FORCED_MARRIAGE}, C.HIGH),
    ({C.DECEPTIVE_OFFER, C.UNDOCUMENTED}, C.HIGH),
    ({C.UNDOCUMENTED, C.ASKS_FOR_HELP}, C.HIGH),
    ({C.MINOR, C.ASKS_FOR_HELP}, C.HIGH),
    ({C.MINOR, C.DECEPTIVE_OFFER}, C.URGENT),
    ({C.MINOR, C.LABOUR_EXPLOITATION}, C.URGENT),
    ({C.UNACCOMPANIED_MINOR}, C.URGENT),
    ({C.IMMEDIATE_DANGER}, C.URGENT),
    ({C.MEDICAL_EMERGENCY}, C.URGENT),
    ({C.SELF_HARM}, C.URGENT),
    ({C.SELF_HARM, C.UNDOCUMENTED}, C.URGENT),
]


@pytest.mark.parametrize(("found", "level"), LEVEL_TABLE)
def test_level_for_follows_design(found: set[str], level: str) -> None:
    assert level_for(found) == level


@pytest.mark.parametrize("code", C.TRAFFICKING)
def test_every_trafficking_code_with_a_minor_is_urgent(code: str) -> None:
    assert level_for({code, C.MINOR}) == C.URGENT
    assert level_for({code}) == (C.NORMAL if code == C.DECEPTIVE_OFFER else C.HIGH)


def test_level_for_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError, match="unknown"):
        level_for({"trafficked"})


def test_codes_are_complete_and_explained() -> None:
    assert len(C.TRAFFICKING) == 12 and len(C.VULNERABILITY) == 4 and len(C.URGENCY) == 3
    assert C.LEVELS == ("urgent", "high", "normal", "none")
    assert set(C.PLAIN_ES) == set(C.ALL_CODES)
    assert C.PLAIN_ES[C.DOCUMENTS_WITHHELD] == "Le quitaron o retienen sus documentos"


# --------------------------------------------------------------------------- context rules


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("nadie me lo ha quitado, tengo mi pasaporte", C.DOCUMENTS_WITHHELD),
        ("Nobody has taken my documents", C.DOCUMENTS_WITHHELD),
        ("ninguém tirou meus documentos", C.DOCUMENTS_WITHHELD),
        ("personne ne m'a pris mes papiers", C.DOCUMENTS_WITHHELD),
        ("no estoy en peligro", C.IMMEDIATE_DANGER),
        ("nadie me amenaza", C.THREATS),
        ("no me deben nada, ya me pagaron", C.LABOUR_EXPLOITATION),
    ],
)
def test_negation_cancels(text: str, code: str) -> None:
    assert code not in codes_of(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("no me dejan salir de la casa", C.MOVEMENT_RESTRICTED),
        ("no, no me dejan salir", C.MOVEMENT_RESTRICTED),
        ("they won't let me leave", C.MOVEMENT_RESTRICTED),
        ("não me deixam sair", C.MOVEMENT_RESTRICTED),
        ("on ne me laisse pas sortir", C.MOVEMENT_RESTRICTED),
        ("mwen pa gen papye", C.UNDOCUMENTED),
    ],
)
def test_phrases_that_contain_a_negation_are_the_indicator(text: str, code: str) -> None:
    assert code in codes_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "what if my boss takes my passport?",
        "o que acontece se o patrão pegar meu passaporte?",
        "et si mon patron garde mon passeport ?",
        "¿es legal que el empleador se quede con mis documentos?",
        "si me quitan el pasaporte a quién llamo",
    ],
)
def test_hypotheticals_do_not_flag(text: str) -> None:
    assert assess(text).level == C.NONE


def test_hypothetical_reaches_only_its_clause() -> None:
    result = assess("¿qué pasa si me quitan el pasaporte? ya me quitaron el celular")
    assert C.ISOLATION in result.indicators
    assert C.DOCUMENTS_WITHHELD not in result.indicators


def test_conditional_threat_is_still_a_threat() -> None:
    assert C.THREATS in codes_of("el jefe dice que si me voy me denuncia a migraciones")
    assert C.THREATS in codes_of("he says if I leave he'll call immigration on me")


def test_yes_answer_is_not_a_condition() -> None:
    assert C.DOCUMENTS_WITHHELD in codes_of("si me quitaron el pasaporte")


def test_right_now_makes_confinement_urgent() -> None:
    assert assess("la señora cierra con llave y no me deja salir").level == C.HIGH
    now = assess("ahora no me dejan salir del cuarto")
    assert now.level == C.URGENT and C.IMMEDIATE_DANGER in now.indicators


@pytest.mark.parametrize(
    "text",
    [
        "socorro!!! me tienen encerrada",
        "auxilio, nos trancaron en el cuarto",
        "help me please... they locked us in the back room",
        "socorro me trancaram no quarto",
        "au secours, il m'a enfermée dans la chambre",
    ],
)
def test_a_cry_for_help_makes_confinement_danger_now(text: str) -> None:
    """The cry may sit in another clause than the confinement: it still means now."""
    result = assess(text, second_opinion=False)
    assert result.level == C.URGENT and C.IMMEDIATE_DANGER in result.indicators, result


@pytest.mark.parametrize(
    "text",
    ["socorro", "help me please, my boss has not paid me", "au secours je ne trouve pas le bureau"],
)
def test_a_cry_for_help_alone_or_with_other_harm_is_not_danger_now(text: str) -> None:
    assert C.IMMEDIATE_DANGER not in assess(text, second_opinion=False).indicators


# --------------------------------------------------------------------------- ages


@pytest.mark.parametrize(
    "text",
    [
        "estoy en 4to de secundaria",
        "voy en tercero de secundaria",
        "im in grade 9",
        "i'm in 10th grade",
        "to no 9 ano",
        "estou no oitavo ano",
        "je suis en 3e",
        "je suis au lycée",
    ],
)
def test_a_school_year_is_a_minor(text: str) -> None:
    """The age in the school year: "when in doubt, a minor" (001 §3.3.1)."""
    result = assess(text, second_opinion=False)
    assert C.MINOR in result.indicators and result.level == C.NORMAL, result


@pytest.mark.parametrize(
    "text",
    [
        "estou no segundo ano da faculdade",
        "mi hija está en segundo de secundaria, cómo la matriculo",
        "to no segundo ano aqui em lima",
    ],
)
def test_a_university_year_or_a_child_at_school_is_no_case(text: str) -> None:
    assert assess(text, second_opinion=False).level == C.NONE


def test_a_school_year_with_a_risk_is_urgent() -> None:
    result = assess("estoy en 4to de secundaria y el dueño de la tienda no me paga")
    assert result.level == C.URGENT
    result = assess("my daughter is in grade 8 and the man keeps her passport")
    assert result.level == C.URGENT


# --------------------------------------------------------------------------- ages


@pytest.mark.parametrize(
    "text",
    [
        "tengo 16 años",
        "tengo 16",
        "soy menor de edad",
        "I'm 15",
        "j'ai 15 ans",
        "tenho 15 anos",
        "tengo quince años",
        "m gen 14 an",
    ],
)
def test_own_age_under_18_is_minor_and_normal(text: str) -> None:
    result = assess(text)
    assert C.MINOR in result.indicators
    assert result.level == C.NORMAL


@pytest.mark.parametrize(
    "text",
    [
        "tengo 25 años",
        "hace 16 años que vivo aquí",
        "tengo 16 años de experiencia",
        "tengo 3 hijos",
        "I'm 5 minutes away",
        "j'ai 2 enfants",
        "tengo 15 soles",
    ],
)
def test_other_numbers_are_not_ages(text: str) -> None:
    assert C.MINOR not in codes_of(text)


def test_child_at_risk_is_urgent() -> None:
    result = assess("un señor tiene a mi hija de 15 en su casa y no la deja salir")
    assert result.level == C.URGENT
    assert {C.MINOR, C.MOVEMENT_RESTRICTED} <= set(result.indicators)


@pytest.mark.parametrize(
    "text",
    [
        "tengo 14 y estoy sola en Lima",
        "I'm 15 and alone here, my parents are in Venezuela",
        "tenho 13 anos e tô sozinho",
        "j'ai 14 ans et je suis seul",
    ],
)
def test_unaccompanied_minor_is_urgent(text: str) -> None:
    result = assess(text)
    assert result.level == C.URGENT
    assert C.UNACCOMPANIED_MINOR in result.indicators


def test_adult_alone_is_not_an_unaccompanied_minor() -> None:
    assert C.UNACCOMPANIED_MINOR not in codes_of("estoy sola en Lima, busco trabajo")


@pytest.mark.parametrize("text", ["ayuda", "Help", "AIDE", "ajuda"])
def test_the_bare_help_command_is_the_menu_not_a_case(text: str) -> None:
    assert assess(text).level == C.NONE
    assert C.ASKS_FOR_HELP in codes_of(text + " por favor, me pueden ayudar")


# --------------------------------------------------------------------------- emoji, idioms


def test_sos_emoji_is_urgent() -> None:
    result = assess("🆘")
    assert result.level == C.URGENT
    assert {C.IMMEDIATE_DANGER, C.ASKS_FOR_HELP} <= set(result.indicators)


def test_knife_emoji_alone_is_not_a_threat() -> None:
    assert assess("cortando cebolla 🔪😂").level == C.NONE
    assert C.THREATS in codes_of("mi jefe me pega 🔪")


@pytest.mark.parametrize(
    "text",
    [
        "me muero de hambre jaja",
        "el calor me mata",
        "ese precio me mató",
        "I'm dying to see you",
        "tô morrendo de rir",
        "je meurs de faim",
        "me voy a cortar el pelo",
        "I'm locked out of my flat",
        "me robaron el celular en el micro",
        "el banco me cobra una multa",
        "gracias por la ayuda",
        "mi jefe me pagó la quincena",
    ],
)
def test_everyday_phrases_are_not_escalated(text: str) -> None:
    assert assess(text).level in (C.NONE, C.NORMAL)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("me quiero matar", C.SELF_HARM),
        ("I want to kill myself", C.SELF_HARM),
        ("quero me matar", C.SELF_HARM),
        ("je veux mourir", C.SELF_HARM),
        ("ele vai me matar", C.THREATS),
        ("estoy sangrando mucho", C.MEDICAL_EMERGENCY),
        ("me obligan a vender droga", C.FORCED_CRIME),
        ("they make us sell candy on the bus", C.FORCED_CRIME),
        ("me quieren casar con un señor", C.FORCED_MARRIAGE),
        ("secuestraron a mi hermana", C.ABDUCTION),
        ("dicen que debo el pasaje y la comida", C.DEBT_BONDAGE),
        ("trabajo 16 horas diarias sin día libre", C.LABOUR_EXPLOITATION),
        ("me obligan a atender clientes", C.SEXUAL_EXPLOITATION),
        ("le quitaron el cel y no la dejan hablar con nadie", C.ISOLATION),
        ("me ofrecieron chamba con pasaje pagado", C.DECEPTIVE_OFFER),
        ("necesito ayuda por favor", C.ASKS_FOR_HELP),
    ],
)
def test_each_code_is_reachable(text: str, code: str) -> None:
    assert code in codes_of(text)


def test_self_harm_is_not_a_threat_and_vice_versa() -> None:
    assert codes_of("quero me matar") == {C.SELF_HARM}
    assert C.SELF_HARM not in codes_of("ele vai me matar")


def test_job_offer_context_is_required_for_unknown_place() -> None:
    assert C.DECEPTIVE_OFFER not in codes_of("no sé dónde queda la oficina de Migraciones")
    assert C.DECEPTIVE_OFFER in codes_of("me ofrecen trabajo en una mina, no sé dónde queda")


# --------------------------------------------------------------------------- data contract


def test_assessment_json_shape() -> None:
    result = assess("me quitaron el pasaporte")
    assert isinstance(result, Assessment)
    data = result.to_json()
    assert list(data) == ["level", "indicators", "triggers"]
    assert data["indicators"] == ["documents_withheld"]
    with pytest.raises(AttributeError):
        result.level = "none"  # type: ignore[misc]


def test_lexicon_files_are_valid_and_cite_sources() -> None:
    lexicon = load()
    for lang in ("es", "en", "pt", "fr"):
        assert lexicon.count(lang) > 50, lang
    assert all(r.source for r in lexicon.rules if r.kind == "indicator")
    found = {r.code for r in lexicon.rules if r.kind == "indicator"}
    assert found == set(C.ALL_CODES)


def test_lexicon_errors_are_loud(tmp_path: Path) -> None:
    bad = tmp_path / "xx.yaml"
    bad.write_text("lang: xx\nentries:\n  - code: trafficked\n    source: x\n    patterns: [a]\n")
    with pytest.raises(LexiconError, match="unknown code"):
        load_file(bad)
    bad.write_text("lang: xx\nentries:\n  - code: minor\n    patterns: [a]\n")
    with pytest.raises(LexiconError, match="source"):
        load_file(bad)
    bad.write_text("lang: xx\nentries:\n  - code: minor\n    source: x\n    patterns: ['(a|b']\n")
    with pytest.raises(LexiconError, match="unclosed"):
        load_file(bad)


@pytest.mark.parametrize("pattern", ["* pasaporte", "(a)?", "x $ y", "ab*", "<nope>", "a ) b"])
def test_bad_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(PatternError):
        compile_pattern(pattern)


def test_pattern_language() -> None:
    pat = compile_pattern("me (quitaron|kitaron) (el|mi)? (pasaporte|cedula)")
    assert pat.max_len == 4
    assert compile_pattern("amenaz*").max_len == 1
    assert compile_pattern("a * * b").max_len == 4


def test_a_lemma_covers_every_form_of_the_word() -> None:
    """One entry, every conjugation, person, gender, and the accent-free and misspelled
    forms people type ("bigilan"); the trigger names what the person wrote."""
    assert C.SEXUAL_EXPLOITATION in assess("me forsaron a tomar con los clientes").indicators
    for text in ("me tienen encerrada", "nos encerraron", "siempre me bigilan",
                 "me tienen trancada", "eles me mantem trancada", "ils me gardent enfermée",
                 "on me tient enfermee", "they keep me locked up"):  # fmt: skip
        result = assess(text)
        assert C.MOVEMENT_RESTRICTED in result.indicators, text
        assert result.triggers[C.MOVEMENT_RESTRICTED]


def test_lemma_forms_are_the_ones_make_lemmas_writes() -> None:
    """forms.json is generated from the lexicon and simplemma; a stale one is a lemma
    that silently covers fewer words than its author thinks."""
    import json

    from bot.risk import lemma_tools
    from bot.risk.lemmas import FORMS_PATH
    from bot.risk.lexicon import LANG_FILES, LEXICON_DIR

    stored = json.loads(FORMS_PATH.read_text(encoding="utf-8"))
    for lang in LANG_FILES:
        fresh = lemma_tools.expand(lang, lemma_tools.lemmas_in(LEXICON_DIR / f"{lang}.yaml"))
        assert stored[lang] == fresh, f"{lang}: run `make lemmas`"


def test_concepts_and_lemmas_load_strictly(tmp_path: Path) -> None:
    entry = "entries:\n  - code: minor\n    source: x\n    patterns: ['{p}']\n"
    bad = tmp_path / "es.yaml"
    bad.write_text("lang: es\n" + entry.format(p="me ~palabrainexistente"))
    with pytest.raises(LexiconError, match="make lemmas"):
        load_file(bad)
    bad.write_text("lang: es\n" + entry.format(p="me @nada"))
    with pytest.raises(LexiconError, match="unknown concept"):
        load_file(bad)
    bad.write_text("lang: es\nconcepts:\n  a: [x]\n  b: ['@a y']\n" + entry.format(p="@b"))
    with pytest.raises(LexiconError, match="another concept"):
        load_file(bad)
    good = "lang: {lang}\nconcepts:\n  {names}\n" + entry.format(p="hola")
    for lang in ("es", "en", "pt", "fr"):
        names = "a: [x]" if lang != "fr" else "b: [x]"
        (tmp_path / f"{lang}.yaml").write_text(good.format(lang=lang, names=names))
    with pytest.raises(LexiconError, match="all four languages"):
        load(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "mi hija de 15 esta trabajando de noche en un bar",
        "tengo 15 y trabajo de noche en un bar",
        "im 15 and i live with a man who bring me from colombia",
        "jai 15 ans, je vis avec un monsieur qui ma amené de colombie",
        "tenho 15 anos e moro com um homem que me trouxe",
    ],
)
def test_a_child_at_night_work_or_with_the_man_who_brought_them_is_urgent(text: str) -> None:
    """From the persona reviews: a child at risk the first round of rules missed."""
    assert assess(text).level == C.URGENT, assess(text)


@pytest.mark.parametrize(
    "text",
    [
        "they locked me in the room i cant get out",
        "me encerraron en el cuarto y no puedo salir",
        "me trancaram no quarto e nao consigo sair",
        "ils m ont enfermée dans la chambre, je peux pas sortir",
        "yo fèmen m nan kay la m pa ka soti",
    ],
)
def test_locked_in_and_unable_to_get_out_is_danger_now(text: str) -> None:
    """From the persona reviews: confinement plus 'I can't get out' is happening now."""
    assert C.IMMEDIATE_DANGER in assess(text).indicators, assess(text)


@pytest.mark.parametrize("text", ["i cant go out today, its raining", "no puedo salir hoy, estoy enferma",
                                  "i locked myself out, i cant get in"])  # fmt: skip
def test_cannot_go_out_without_confinement_is_not_danger(text: str) -> None:
    assert assess(text).level in (C.NONE, C.NORMAL), assess(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("minha prima trabalha numa casa e não deixam ela sair", C.MOVEMENT_RESTRICTED),
        ("they dont let her leave the house", C.MOVEMENT_RESTRICTED),
        ("my cousin isnt allowed out", C.MOVEMENT_RESTRICTED),
        ("jsuis mineure et mon patron me frappe", C.MINOR),
        ("im 14 and this older guy online keeps asking for photos", C.SEXUAL_EXPLOITATION),
        ("tenho 15 anos e um cara da internet pede fotos minhas", C.SEXUAL_EXPLOITATION),
        ("j ai 15 ans un homme sur insta me demande des photos", C.SEXUAL_EXPLOITATION),
        ("tengo 13 y un señor de free fire me pide fotos", C.SEXUAL_EXPLOITATION),
    ],
)
def test_persona_review_wordings(text: str, code: str) -> None:
    """The persona review of issue 11: Brazilian word order for someone else, English
    without apostrophes, texted French, an adult online asking a child for photos."""
    assert code in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text",
    ["mi hija de 14 me pidio fotos de la fiesta", "im 16 and my mom asked me for photos of the dog",
     "tengo 15, mi profe me pidio fotos del trabajo de ciencias"],
)  # fmt: skip
def test_photos_asked_by_family_or_school_are_not_grooming(text: str) -> None:
    assert C.SEXUAL_EXPLOITATION not in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text",
    ["ya no aguanto esta vida", "estoy cansada de vivir asi", "i cant take this life anymore",
     "não aguento mais essa vida", "j en peux plus de cette vie", "marre de vivre"],
)  # fmt: skip
def test_tired_of_life_is_self_harm(text: str) -> None:
    """The persona review: "ya no aguanto" about life itself got a yes/no question."""
    assert C.SELF_HARM in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text",
    [
        "estoy cansada de la vida en lima jaja",
        "marre de vivre a lima",
        "ya no aguanto este trabajo",
    ],
)
def test_tired_of_a_place_or_a_job_is_not_self_harm(text: str) -> None:
    assert C.SELF_HARM not in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text",
    ["me quitaron el celular en el colegio jaja", "la profe me quito el celular",
     "my teacher took my phone lol", "they took my phone at school",
     "a professora me tirou o celular na aula", "le prof m a pris mon telephone en classe",
     "me quitaron el celular en el bus"],
)  # fmt: skip
def test_a_phone_taken_at_school_or_in_a_robbery_is_not_isolation(text: str) -> None:
    """The persona review: a teenager's phone confiscated at school got a caseworker offer."""
    assert C.ISOLATION not in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text", ["mi jefe me quito el celular", "my boss took my phone", "o patrão tirou meu celular",
             "mon patron m a pris mon telephone"]
)  # fmt: skip
def test_a_phone_taken_by_the_boss_is_isolation(text: str) -> None:
    assert C.ISOLATION in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text", ["he reads all my messages", "mi marido lee todos mis mensajes",
             "ele lê todas as minhas mensagens", "il lit tous mes messages"]
)  # fmt: skip
def test_someone_reading_all_their_messages_is_isolation(text: str) -> None:
    """The persona review: "he reads all my messages" was nothing (the rule had no "all")."""
    assert C.ISOLATION in assess(text).indicators, assess(text)


def test_reading_ones_own_messages_is_not_isolation() -> None:
    assert C.ISOLATION not in assess("i read all my messages every morning").indicators


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ya no aguanto mas", C.SELF_HARM),
        ("j en peux plus", C.SELF_HARM),
        ("nao aguento mais", C.SELF_HARM),
        ("i cant take it anymore", C.SELF_HARM),
        ("quiero desaparecer", C.SELF_HARM),
        ("i want to disappear", C.SELF_HARM),
        ("quero sumir", C.SELF_HARM),
        ("je veux disparaitre", C.SELF_HARM),
        ("im 15 and a guy i met on tiktok wants me to send him pics", C.SEXUAL_EXPLOITATION),
        ("HELP im in a truck they are taking us somewhere i dont know where", C.IMMEDIATE_DANGER),
        ("tengo 16 y me escape de la casa donde trabajaba", C.MOVEMENT_RESTRICTED),
        ("also the husband touches me", C.VIOLENCE),
        ("le mari me touche la nuit", C.VIOLENCE),
        ("o patrao fica me tocando", C.VIOLENCE),
    ],
)
def test_second_persona_review(text: str, code: str) -> None:
    """The second persona review of this session (issue 11), each in the words it used."""
    assert code in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text", ["no puedo", "ya no aguanto este trabajo", "ça me touche beaucoup ton message"]
)
def test_second_persona_review_benign(text: str) -> None:
    """ "No puedo" at the safety check means "not now"; being moved is not being touched."""
    assert assess(text).level in (C.NONE, C.NORMAL), assess(text)


@pytest.mark.parametrize(
    "text", ["siempre hay alguien conmigo cuando salgo", "someone always comes with me when i go out",
             "ils m accompagnent partout", "toujours quelqu un avec moi quand je sors",
             "sempre tem alguem comigo quando saio"]
)  # fmt: skip
def test_always_escorted_when_going_out_is_movement_restricted(text: str) -> None:
    """Always escorted, in the words of someone who does not say "escorted"."""
    assert C.MOVEMENT_RESTRICTED in assess(text).indicators, assess(text)


@pytest.mark.parametrize(
    "text", ["they give me pills so i can work more", "they make me take pills to keep working",
             "me dan pastillas para aguantar toda la noche",
             "ils me donnent des cachets pour travailler toute la nuit"]
)  # fmt: skip
def test_drugged_to_work_is_exploitation_not_self_harm(text: str) -> None:
    found = assess(text)
    assert C.LABOUR_EXPLOITATION in found.indicators and C.SELF_HARM not in found.indicators, found


def test_taking_ones_medicine_is_not_self_harm() -> None:
    assert C.SELF_HARM not in assess("i take my pills tonight then sleep").indicators
    assert C.SELF_HARM in assess("i want to take all my pills tonight").indicators


@pytest.mark.parametrize(
    "text", ["a man brought my cousin here alone, she is 14", "un señor trajo a mi prima sola, tiene 14",
             "um homem trouxe minha prima sozinha, ela tem 14",
             "un homme a amene ma cousine seule ici, elle a 14 ans"]
)  # fmt: skip
def test_a_child_brought_alone_is_urgent(text: str) -> None:
    """A minor brought alone by an adult (issue 11's kinds of misses), in four languages."""
    assert assess(text).level == C.URGENT, assess(text)


@pytest.mark.parametrize(
    "text", ["she is 16 and they have her serving drinks at a bar till 4am",
             "tiene 16 y la tienen sirviendo tragos en un bar hasta las 4am",
             "ela tem 16 e ta servindo bebida num bar ate as 4h",
             "elle a 16 ans et sert des verres dans un bar jusqu a 4h",
             "she has to drink with the clients, shes 16",
             "mi sobrina de 16 tiene que tomar con los clientes",
             "ma niece de 16 ans doit boire avec les clients"]
)  # fmt: skip
def test_a_child_serving_or_drinking_at_night_is_urgent(text: str) -> None:
    assert assess(text).level == C.URGENT, assess(text)


@pytest.mark.parametrize("text", ["i serve drinks at a bar, im 25", "mi hija de 17 atiende en una bodega",
                                  "i have to drink with my friends tonight lol"])  # fmt: skip
def test_an_adult_at_a_bar_or_a_shop_is_not_escalated(text: str) -> None:
    assert severity(assess(text).level) > severity(C.HIGH), assess(text)


@pytest.mark.parametrize(
    "text", ["mon mari ne me laisse jamais sortir seule", "mon mari m accompagne partout"]
)
def test_a_partner_who_escorts_everywhere_is_movement_restricted(text: str) -> None:
    """The family guard on "escorted" names parents, not a controlling partner."""
    assert C.MOVEMENT_RESTRICTED in assess(text).indicators, assess(text)


# ------------------------------------------------------- session 4 on issue 11: structure
# Written for these tests and from the session's persona reviews (never from a measured
# set). Each list is one promise about levels, in the four languages.

DANGER_NOW = [
    "estoy en la maletera de un carro",
    "mi chamo de 9 años no volvió del colegio",
    "ma fille de 12 ans n'est pas rentrée de l'école",
    "you wont have to worry about me anymore",
    "amanhã vcs não vão precisar mais se preocupar comigo",
    "minha filha de 14 anos foi embora com um homem que conheceu no facebook",
    "mi hija de 14 años se marchó con un hombre que conoció en facebook",
    "acho que me drogaram, to tonta e nao sei onde estou",
    "i think they drugged me, i dont know where i am",
    "me drogaron y no sé en qué casa estoy",
    "je crois qu'on m'a droguée, je me suis réveillée dans une autre maison",
    "el tipo me dijo que de aquí no sales viva",
    "he said i will never leave here alive",
    "daqui você não sai viva, ele falou",
    "il dit que je sortirai pas vivante d'ici",
    "cut again last night, nobody knows",
    "cortarme otra vez es lo único que me calma",
    "thinking about jumping off the bridge tonight",
    "j'ai envie de sauter du pont",
    "estoy embarazada y tengo dolores fuertes en la barriga",
    "ma femme est enceinte, elle a de grosses douleurs au ventre",
    "we are 6 girls locked in a house",
    "estamos trancadas numa casa",
    "they are looking for me, i ran from the farm",
    "ya me tomé las pastillas",
    "mi hermana dice que quiere morir",
    "on a kidnappé mon cousin, ils demandent 3000 dollars",
    "sequestraram meu irmão e pedem 5 mil",
    "they kidnapped my brother, his phone is off",
    "my bf burned me with the iron, the skin is peeling",
    "the guy broke my fingers with a hammer",
    "ele quebrou meus dedos",
    "me desmayé 2 veces hoy en la chacra",
    "o menino deve ter uns 9 anos e dorme na rua sozinho",
    "girl maybe 12, her parents are still in Venezuela",
    "mi hija de 14 años se fue con un señor que conoció por facebook y no contesta",
    "my daughter is 13 and she left with a man she met online",
    "minha filha de 14 foi com um cara que conheceu no free fire",
    "ma fille a 15 ans, elle est partie avec un homme rencontré sur facebook",
    "ele vai me matar",
    "il va me tuer",
    "i think about suicide",
    "i cant go on living like this",
    "pienso en el suicidio",
    "penso em suicídio",
    "je pense au suicide",
    "je n'en peux plus de vivre",
    "je garde des médicaments au cas où",
]


ONLY_SOUNDS_LIKE_DANGER = [
    "mi hijo no llegó a casa, se quedó donde su abuela",
    "mi hija no llegó a tiempo al colegio",
    "l'ambassade garde mon passeport pour le renouvellement",
    "no sé dónde estoy parada con tantos trámites",
    "i dont know where i am going with my life",
    "got my hair cut again lol",
    "jajaja mi mamá me va a matar cuando vea mi pelo",
    "nos matamos trabajando toda la semana en la feria",
    "lol my mum will kill me when she sees this tattoo",
    "this heat in piura is killing me",
    "kkkkk vou matar meu irmão, comeu todo o pão de queijo",
    "minha mãe me mata se souber que gastei o dinheiro",
    "mdrrr je vais le tuer ce gars, il a fini mon riz",
    "ils m'ont menacé de couper internet si je paie pas",
    "recebi ameaça de corte de luz porque a conta atrasou",
    "can the bank report me to migration for a late loan?",
    "the embassy kept my passport for the renewal",
    "je peux pas sortir demain matin, mon fils a son vaccin",
    "não posso sair amanhã de manhã porque tenho consulta",
    "je suis bloqué à l'aéroport, le vol a du retard",
    "my mom is looking for me lol",
    "queimei o arroz kkkk",
    "el sol me quemó en la playa",
    "me desmayo de risa con este video",
    "estou presa no trânsito",
    "kkkkk minha mãe vai me matar, perdi o ônibus de novo",
    "mdr j'ai encore perdu mes clés, ma mère va me tuer",
    "mi hija de 16 se fue con su novio al cine",
    "i cant go out without my mom, im 12",
]


TOLD_OR_THREATENED = [
    "es normal que me quiten el pasaporte?",
    "is it legal that my boss keeps my passport?",
    "é normal que meu patrão fique com meu passaporte?",
    "est-ce normal que mon patron garde mon passeport ?",
    "el jefe dijo que me va a matar si me escapo",
    "he is going to kill me",
    "ele vai me matar",
    "ils vont me tuer",
    "my boss took my passport",
    "je peux pas sortir, le patron ferme la porte à clé",
]


@pytest.mark.parametrize("text", DANGER_NOW)
def test_danger_now_in_everyday_words(text: str) -> None:
    """Cries for help, no way out alive, drugged and lost, a child gone with a man, taken
    with a ransom asked, injuries described, suicide said plainly: urgent."""
    assert assess(text, second_opinion=False).level == C.URGENT, assess(text)


@pytest.mark.parametrize("text", ONLY_SOUNDS_LIKE_DANGER)
def test_everyday_words_that_only_sound_like_danger(text: str) -> None:
    """Idioms, jokes, bills, errands, a delayed flight, a child out with her mother."""
    assert assess(text, second_opinion=False).level in (C.NONE, C.NORMAL), assess(text)


@pytest.mark.parametrize("text", TOLD_OR_THREATENED)
def test_what_is_happening_told_as_a_question_or_a_threat_still_counts(text: str) -> None:
    """ "Is it normal that MY boss..." is a report, and real threats beside the idioms count."""
    assert assess(text, second_opinion=False).level in (C.HIGH, C.URGENT), assess(text)


@pytest.mark.parametrize(
    "text", ["línea de prevención del suicidio", "my friend's brother committed suicide last year"]
)
def test_the_word_suicide_about_a_line_or_a_loss_is_not_self_harm(text: str) -> None:
    assert C.SELF_HARM not in assess(text, second_opinion=False).indicators


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("cannot go outside without supervisor, 12 of us in one room", C.MOVEMENT_RESTRICTED),
        ("owner has put camera in the room where we sleep", C.MOVEMENT_RESTRICTED),
        ("salary not given since 3 months", C.LABOUR_EXPLOITATION),
        ("my seth is not returning passport", C.DOCUMENTS_WITHHELD),
        ("they say first clear the loan of visa and air ticket", C.DEBT_BONDAGE),
    ],
)
def test_persona_review_south_asian_english(text: str, code: str) -> None:
    assert code in assess(text, second_opinion=False).indicators, assess(text)


# --------------------------------------------------------------------------- laughter

JOKES = [
    "jajaja mi suegra me tiene secuestrada todo el domingo haciendo hallacas",
    "meu chefe me mata com tanto turno kkkk mas pelo menos paga certinho",
    "minha mae ta presa na fila do banco desde cedo kkk",
    "my boss is killing me with these double shifts lol",
    "mon patron va me tuer avec ces horaires mdr",
]


@pytest.mark.parametrize("text", JOKES)
def test_a_clause_that_laughs_is_a_figure_of_speech(text: str) -> None:
    assert assess(text).level == C.NONE, assess(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("jaja q miedo, el señor dice q si me voy me mata", C.THREATS),  # laugh elsewhere
        ("me tienen encerrada jaja no es broma", C.MOVEMENT_RESTRICTED),
        ("they locked me in the room lol not joking", C.MOVEMENT_RESTRICTED),
        ("socorro me tienen encerrada jaja", C.IMMEDIATE_DANGER),
        ("ya no quiero vivir jaja", C.SELF_HARM),  # self-harm is never a joke
        ("kkkk to sangrando muito, acho q quebrei o braço", C.MEDICAL_EMERGENCY),
    ],
)
def test_laughter_hides_no_real_danger(text: str, code: str) -> None:
    assert code in assess(text).indicators, assess(text)


def test_kkk_is_laughter_not_que() -> None:
    from bot.risk.text import segment

    assert segment("kkkk").tokens == ("kk",) and segment("k hago").tokens == ("que", "hago")


# ---------------------------------------------------------------- by concept (7)

CONCEPTS_7 = [  # (text, the code a protection officer would tick)
    (
        "minha sobrinha de 16 foi pro chile com um cara q conheceu no tiktok, disse q ia trabalhar de baba",
        C.DECEPTIVE_OFFER,
    ),
    ("boy maybe 12 sleeping in the mercado alone, a man keep offering him work", C.DECEPTIVE_OFFER),
    (
        "Ma fille de 13 ans parle sur TikTok avec un homme qui veut la faire venir a Lima pour etre mannequin",
        C.DECEPTIVE_OFFER,
    ),
    ("minha prima ta numa casa em lima e n deixam ela sair", C.MOVEMENT_RESTRICTED),
    ("eu n aguento mais, queria dormir e n acordar nunca", C.SELF_HARM),
    ("I no wan live again. Everything don finish", C.SELF_HARM),
    ("abeg my sister dey cut herself again", C.SELF_HARM),
    ("SOS they beat my brother, he not waking up", C.MEDICAL_EMERGENCY),
    ("cook throw hot water on my arm", C.MEDICAL_EMERGENCY),
    ("minha colega n pode dizer nao pros clientes, o gerente n deixa", C.SEXUAL_EXPLOITATION),
    ("mi sobrina de 2do de secundaria, un señor le paga x fotos", C.SEXUAL_EXPLOITATION),
    ("tengo 15 y viaje sola desde venezuela", C.UNACCOMPANIED_MINOR),
    ("14h par jour, et quand on se plaint il dit sinon il appelle Migraciones", C.THREATS),
    ("a mi pana lo tienen amarrado en un galpon y le piden plata a la familia", C.ABDUCTION),
    ("meu pai quer casar minha irma de 15 com um senhor de 40", C.FORCED_MARRIAGE),
    ("he hit me n took my passport", C.DOCUMENTS_WITHHELD),  # "n" = and, not French "ne"
]


# ---------------------------------------------------------------- persona review (7)

PERSONA_7 = [  # what the persona review found; nervous laughter hides nothing
    ("estoy en 6to grado y una señora me hace limpiar su casa todo el dia", C.LABOUR_EXPLOITATION),
    ("je suis en CM2, la dame me fait nettoyer toute la journée", C.MINOR),
    ("im in 6th grade and a man gives me money for photos", C.SEXUAL_EXPLOITATION),
    ("toy encerrada en un cuarto", C.IMMEDIATE_DANGER),  # round 2
    ("me dejaron encerrada con llave", C.IMMEDIATE_DANGER),
    ("they have locked me up in a room", C.IMMEDIATE_DANGER),
    (
        "they locked me up in a room",
        C.MOVEMENT_RESTRICTED,
    ),  # past: high, as the held-out labels say
    ("im pregnat and bleding", C.MEDICAL_EMERGENCY),
    ("estoy enbarazada y sangro", C.MEDICAL_EMERGENCY),
    ("jsuis enceinte jsaigne", C.MEDICAL_EMERGENCY),
    ("minha bolsa estourou", C.MEDICAL_EMERGENCY),
    ("lol my uncle forces me to have sex with men for money", C.SEXUAL_EXPLOITATION),
    ("estoy encerrada jaja", C.MOVEMENT_RESTRICTED),
    ("mdr ils m'ont enfermée dans la chambre", C.MOVEMENT_RESTRICTED),
    ("lol this is dumb but my boyfriend keeps my passport", C.DOCUMENTS_WITHHELD),
    (
        "mi jefe me quito el telefono y dice q si salgo me denuncia a migraciones jaja",
        C.THREATS,
    ),
    ("jaja el señor dice q me va a matar, no es broma", C.THREATS),
    ("me tienen enserrada en un cuarto n puedo salir", C.MOVEMENT_RESTRICTED),
    ("m quitaron el cel, estoy escribiendo desde el de otra chica", C.ISOLATION),
    ("ils mont enfermee", C.MOVEMENT_RESTRICTED),
    ("to com muita dor e ta saindo sangue", C.MEDICAL_EMERGENCY),
    ("they ve locked me in a room and took my phone", C.IMMEDIATE_DANGER),
    ("ils m'ont enfermée dans la chambre", C.IMMEDIATE_DANGER),
    ("me obligan a hacer pases con clientes", C.SEXUAL_EXPLOITATION),
    (
        "im in 9th grade, my uncle brought me here, my parents stayed in venezuela",
        C.UNACCOMPANIED_MINOR,
    ),
    ("ele saiu e deixou o cadeado por fora", C.IMMEDIATE_DANGER),
    ("tomorrow they move us to bolivia in the truck", C.MOVEMENT_RESTRICTED),
    ("ja separei os remedios pra hj a noite. tchau", C.SELF_HARM),
]
PERSONA_7_EVERYDAY = [
    "mi hijo esta en 6to grado, como lo matriculo?",
    "i bought a toy for my son",
    "vc vai avisar a migracao?",  # a question to us, not a threat
    "Im trapped in traffic, be late",
    "je suis enfermée dehors, j'ai perdu mes clés",
    "el entrenador nos hace hacer pases con los chicos",
    "i locked myself in the bathroom to cry lol",
]


@pytest.mark.parametrize(("text", "code"), CONCEPTS_7 + PERSONA_7)
def test_concept_rules_seven(text: str, code: str) -> None:
    assert code in assess(text).indicators, assess(text)


CONCEPTS_7_EVERYDAY = [
    "hi im 15 how do i get my carnet for school here, my mom works all day",
    "j'ai 16 ans, comment je m'inscris au lycée ? ma mère travaille toute la journée",
    "mi hijo de 8 no despierta temprano para el colegio",
    "mi hija de 10 vino sola del colegio hoy",
    "can you check my messages from yesterday",
    "please dont let him go alone to the market",
    "on appelle la police ou pas? il y a eu un accident",
    "guarde o dinheiro do aluguel no banco",
]


@pytest.mark.parametrize("text", CONCEPTS_7_EVERYDAY + PERSONA_7_EVERYDAY)
def test_concept_rules_seven_leave_everyday_life_alone(text: str) -> None:
    """The lexicon's own reading (the learned second opinion has its own tests)."""
    result = assess(text, second_opinion=False)
    assert result.level in (C.NONE, C.NORMAL), result


def test_a_joke_is_held_back_not_forgotten() -> None:
    """The figurative code of a laughing clause stays latent: a risk told later counts it."""
    result = assess("jajaja mi suegra me tiene secuestrada todo el domingo haciendo hallacas")
    assert result.level == C.NONE and C.IMMEDIATE_DANGER in result.latent, result


CONCEPTS_9 = [  # (text, the code a protection officer would tick), lexicon alone
    ("socorro, ya viene", C.IMMEDIATE_DANGER),
    ("to com medo, ele ta vindo", C.IMMEDIATE_DANGER),
    ("please help he is coming", C.IMMEDIATE_DANGER),
    ("il arrive. j'ai peur", C.IMMEDIATE_DANGER),
    ("se lo llevaron en un carro y ahora piden rescate", C.IMMEDIATE_DANGER),
    ("they took my sister in a van and now they ask for money", C.IMMEDIATE_DANGER),
    ("levaram minha filha num carro e pedem dinheiro", C.IMMEDIATE_DANGER),
    ("ils ont enlevé ma fille et demandent une rançon", C.IMMEDIATE_DANGER),
    ("dice que si no trabajo le pasa algo a mi hermanita", C.THREATS),
    ("saben donde vive mi mama en caracas", C.THREATS),
    ("they said they will send my photos to my family", C.THREATS),
    ("disse que manda as fotos pra minha familia", C.THREATS),
    ("il dit qu'il va envoyer mes photos à ma famille", C.THREATS),
    ("le sort va tomber sur ma famille si je pars", C.THREATS),
    ("e se ele nao paga, diz que entrega ele pra policia", C.THREATS),
    ("no para de salirme sangre de la cabeza", C.MEDICAL_EMERGENCY),
    ("i swallowed all my pills", C.SELF_HARM),
    ("i took too many pills", C.MEDICAL_EMERGENCY),
    ("pa que sigo viviendo.", C.SELF_HARM),
    ("a patroa ficou com meu passaporte e nao devolve", C.DOCUMENTS_WITHHELD),
    ("o patrao ficou com meu cartao do banco", C.LABOUR_EXPLOITATION),
    ("el jefe se quedo con mi tarjeta del banco", C.LABOUR_EXPLOITATION),
    ("my boss keeps my bank card", C.LABOUR_EXPLOITATION),
    ("le patron garde ma carte bancaire", C.LABOUR_EXPLOITATION),
    ("chaque soir on doit remettre tout l'argent au chef", C.LABOUR_EXPLOITATION),
    ("nos hace llevar paquetes a otros barrios", C.FORCED_CRIME),
    ("mandam a gente pedir dinheiro no semaforo", C.FORCED_CRIME),
    ("elle nous dépose au feu rouge pour demander la pièce", C.FORCED_CRIME),
    ("nobody can go out alone, not even to buy bread", C.MOVEMENT_RESTRICTED),
    ("il frappe celles qui veulent partir", C.VIOLENCE),
    ("ils prennent nos téléphones chaque soir", C.ISOLATION),
    ("my uncle wants to marry me off to his friend", C.FORCED_MARRIAGE),
    ("im in 2nd year of secundaria", C.MINOR),
    ("me faltan dos años para terminar el colegio", C.MINOR),
    ("llegue sola, tengo 15", C.UNACCOMPANIED_MINOR),
    ("tengo 14 llegue solo y duermo en la calle", C.UNACCOMPANIED_MINOR),
    ("he is kicking the door", C.IMMEDIATE_DANGER),
    ("me escondi en el bano, esta pateando la puerta", C.IMMEDIATE_DANGER),
    ("ils défoncent la porte", C.IMMEDIATE_DANGER),
    ("ta chutando a porta", C.IMMEDIATE_DANGER),
    ("hes outside now with a knife", C.IMMEDIATE_DANGER),
    ("he says he tell migracion if we leave", C.THREATS),
    ("dice que me va a hacer botar del pais", C.THREATS),
    ("vai me mostrar o que acontece com quem abre a boca", C.THREATS),
    ("un homme avec un couteau devant la porte", C.THREATS),
    ("ni a la tienda nos dejan ir solas", C.MOVEMENT_RESTRICTED),
    ("ninguem sai sozinha daqui", C.MOVEMENT_RESTRICTED),
    ("personne ne sort seule", C.MOVEMENT_RESTRICTED),
    ("i ran from the house where they kept us", C.MOVEMENT_RESTRICTED),
    ("the passports are in his safe", C.DOCUMENTS_WITHHELD),
    ("os documentos ficam com o patrao", C.DOCUMENTS_WITHHELD),
    ("tengo que trabajar hasta pagarle todo lo que le debo", C.DEBT_BONDAGE),
    ("meu pai quer casar ela com um senhor", C.FORCED_MARRIAGE),
    ("todavia estoy en el colegio", C.MINOR),
    # a first message of two words (the persona review): the confinement counts
    ("ayudaa encerrada", C.MOVEMENT_RESTRICTED),
    ("me ajuda trancada", C.MOVEMENT_RESTRICTED),
    ("aidez moi enfermée", C.MOVEMENT_RESTRICTED),
]


@pytest.mark.parametrize(("text", "code"), CONCEPTS_9)
def test_concept_rules_nine(text: str, code: str) -> None:
    assert code in assess(text, second_opinion=False).indicators, assess(text, second_opinion=False)


CONCEPTS_9_EVERYDAY = [
    "ya viene el bus",
    "ahorita viene el tecnico a arreglar la ducha",
    "he is coming for dinner tonight",
    "ele ta vindo buscar as caixas amanha",
    "il arrive demain à Lima",
    "i never go out alone at night, it's dangerous here",
    "my friends say im a prisoner of my job lol",
    "o consulado ficou com meu passaporte pro visto",
    "a academia fica com nosso documento enquanto a gente usa o armario",
    "la prof nous prend les téléphones pendant le cours",
    "my mom has my bank card",
    "y si no me pagan el sueldo a fin de mes?",
    "el tipo de cambio sube, ¿para qué seguir ahorrando en soles?",
    "pasé a 5to y quiero saber la fecha de matrícula",
    "i cut the bread with a knife",
    "she cuts onions with a knife",
    "my son locked himself in the bathroom again, teenagers",
    "tengo 15 soles nomas para el pasaje",
    # a thing locked is not a person
    "la tienda estaba encerrada",
    "a porta estava trancada",
    "le chat était enfermé",
]


@pytest.mark.parametrize("text", CONCEPTS_9_EVERYDAY)
def test_concept_rules_nine_leave_everyday_life_alone(text: str) -> None:
    result = assess(text, second_opinion=False)
    assert result.level in (C.NONE, C.NORMAL), result


PERSONA_11 = [  # what the eleventh persona review found, in every language
    ("i dont see the point anymore", C.SELF_HARM),
    ("maybe its better if i just disappear", C.SELF_HARM),
    ("ya no le veo sentido a nada", C.SELF_HARM),
    ("seria mejor si desaparezco", C.SELF_HARM),
    ("nao vejo mais sentido em nada", C.SELF_HARM),
    ("je vois plus l interet de rien", C.SELF_HARM),
    ("j ai mal, il m a frappee", C.MEDICAL_EMERGENCY),
    ("me pego y me duele mucho", C.MEDICAL_EMERGENCY),
    ("he hit me and it hurts so much", C.MEDICAL_EMERGENCY),
    ("ele me bateu e ta doendo muito", C.MEDICAL_EMERGENCY),
    ("a agencia pediu pra deixar meu passaporte com eles", C.DECEPTIVE_OFFER),
    ("la agencia me pidio dejar mi pasaporte con ellos", C.DECEPTIVE_OFFER),
    ("the agency asked me to leave my passport with them", C.DECEPTIVE_OFFER),
    ("l agence m a demande de laisser mon passeport chez eux", C.DECEPTIVE_OFFER),
    ("dice que va a llamar a la policia si me voy", C.THREATS),
    ("el tipo está afuera esperándome y tengo miedo", C.IMMEDIATE_DANGER),
    ("the man is outside and i m scared", C.IMMEDIATE_DANGER),
    ("o cara ta la fora e to com medo", C.IMMEDIATE_DANGER),
    ("le type est devant la porte, j ai peur", C.IMMEDIATE_DANGER),
    ("mi tío me hace trabajar todo el día y no voy al colegio", C.MINOR),
    ("my uncle makes me work all day and i dont go to school", C.MINOR),
    (
        "a guy on insta offered me a job in a club in lima, he pays the bus. im 16",
        C.DECEPTIVE_OFFER,
    ),
    (
        "un pata de insta me ofrece chamba en una disco, el paga el pasaje. tengo 16",
        C.DECEPTIVE_OFFER,
    ),
]
PERSONA_11_EVERYDAY = [  # a frightened question is not a threat; a form is not a life
    "vas a llamar a la policia?",
    "no le veo sentido a este tramite",
    "me duele mucho la cabeza hoy",
    "el taxi esta afuera, tengo miedo de llegar tarde",
    "no voy al colegio mañana, es feriado?",
    "my boss pays the bus to work, is that normal?",
]


CONCEPTS_11 = [  # (text, the code a protection officer would tick), lexicon alone
    # self-harm in everyday words, first and third person
    ("a veces pienso en tirarme al rio, mejor me muero", C.SELF_HARM),
    ("some nights i think i'd rather die than keep paying", C.SELF_HARM),
    ("as vezes penso que prefiro morrer do que continuar aqui", C.SELF_HARM),
    ("je pense a en finir avec la vie", C.SELF_HARM),
    ("me volvi a cortar los brazos anoche", C.SELF_HARM),
    ("i cut myself again last night", C.SELF_HARM),
    ("me cortei de novo ontem a noite", C.SELF_HARM),
    ("je me suis coupee les poignets hier", C.SELF_HARM),
    # the one who threatens is at the door, or kills today
    ("dicen que me matan si no pago, estan afuera de mi casa", C.IMMEDIATE_DANGER),
    ("he threatened to kill her, now he is parked outside", C.IMMEDIATE_DANGER),
    ("falaram que matam ele hoje se a gente n pagar", C.IMMEDIATE_DANGER),
    ("il menace de me tuer, il attend devant la maison", C.IMMEDIATE_DANGER),
    # held, escorted, spoken for
    ("a mi prima la tuvieron retenida tres dias", C.MOVEMENT_RESTRICTED),
    ("they kept her in a mining camp for two months", C.MOVEMENT_RESTRICTED),
    ("a gente so sai com o seguranca junto", C.MOVEMENT_RESTRICTED),
    ("on sort seulement avec le grand frere", C.MOVEMENT_RESTRICTED),
    ("he always answers for them when someone asks", C.ISOLATION),
    ("me dijeron que no puedo tener celular", C.ISOLATION),
    # taken by force
    ("fui levada a força para uma mina", C.ABDUCTION),
    ("she was grabbed outside her school", C.ABDUCTION),
    ("a mi hermana la agarraron cuando salia del trabajo", C.ABDUCTION),
    # made to swallow capsules; a debt that only grows; pay kept by someone else
    ("me quieren hacer tragar unas capsulas para llevarlas", C.FORCED_CRIME),
    ("he wants us to swallow capsules to carry them", C.FORCED_CRIME),
    ("ils veulent que j avale des capsules", C.FORCED_CRIME),
    ("la dette du voyage augmente chaque mois", C.DEBT_BONDAGE),
    ("es la unica forma de pagar la deuda dice", C.DEBT_BONDAGE),
    ("c est lui qui recoit la paye de ma soeur", C.LABOUR_EXPLOITATION),
    ("the boss collects her wages and gives her nothing", C.LABOUR_EXPLOITATION),
    # the workplace that does not exist; a secret kept from family, with an offer
    ("nos dimos cuenta que el hotel no existe", C.DECEPTIVE_OFFER),
    ("we found out the agency doesnt exist", C.DECEPTIVE_OFFER),
    ("um agente me ofereceu um trabalho e o hotel nao existe", C.DECEPTIVE_OFFER),
    (
        "un agent m a propose un essai, il paye le billet, faut pas dire a mes parents",
        C.DECEPTIVE_OFFER,
    ),
    # forced into sex work, told as the staff say it
    ("n quero mais fazer programa", C.SEXUAL_EXPLOITATION),
    ("tiene que atender a los clientes aunque no quiera", C.SEXUAL_EXPLOITATION),
    # brought with a promise that was not kept; a fee before the job; no address
    ("me trajo de venezuela diciendo que ibamos a tener un negocio", C.DECEPTIVE_OFFER),
    ("ele me trouxe pra lima dizendo que tinha emprego", C.DECEPTIVE_OFFER),
    ("they said waitress but it is not, you have to go upstairs", C.DECEPTIVE_OFFER),
    ("on leur avait promis l universite", C.DECEPTIVE_OFFER),
    ("el olheiro pide 800 soles de inscripcion antes", C.DECEPTIVE_OFFER),
    ("an agency offered me a job, no website no address", C.DECEPTIVE_OFFER),
    # photos held over her, a report for theft, phones collected, messages read
    ("tiene mis fotos y dice que las publica si no voy", C.THREATS),
    ("elle dit qu elle me denonce comme voleuse si je pars", C.THREATS),
    ("de noite ele recolhe os celular", C.ISOLATION),
    ("il m a pris la puce", C.ISOLATION),
    ("he reads all my messages", C.ISOLATION),
    # no papers, said plainly
    ("no tengo ningun papel aqui", C.UNDOCUMENTED),
    ("no passport no carnet, nothing", C.UNDOCUMENTED),
    ("to irregular aqui faz um ano", C.UNDOCUMENTED),
]


CONCEPTS_11_EVERYDAY = [  # the same words in everyday life: never escalated
    "estoy atrapada en el trafico hace una hora",
    "to preso na rodoviaria ate amanha kkk",
    "i'm stuck at the border for 3 days because of the roadblock",
    "je suis bloquee a l aeroport depuis 5 heures",
    "mi pasaporte lo tiene el consulado para la renovacion",
    "me corto el pelo mañana",
    "me cortei fazendo o almoço",
    "i cut my finger cooking",
    "the pharmacy is open 24 hours a day",
    "my uber is waiting outside",
    "ne dis pas a ta mere que j ai casse le vase",
    "no le digas a mi mama que reprobe",
    "la empresa donde trabajaba ya no existe",
    "mi mama me dejo en el colegio diciendo que volvia a las 2",
    "i read all my messages every morning",
    "is there no office in cusco?",
    "la inscripcion al colegio cuesta 50 soles?",
]


PERSONA_10 = [  # what the tenth persona review found, in every language
    # a pregnant woman beaten or pushed: a medical emergency before any pain is told
    ("im 7 months pregnant and the man i work for pushed me down the stairs", C.MEDICAL_EMERGENCY),
    (
        "tengo 7 meses de embarazo y el señor donde trabajo me empujo por las escaleras",
        C.MEDICAL_EMERGENCY,
    ),
    ("to gravida de 7 meses e o patrao me empurrou da escada", C.MEDICAL_EMERGENCY),
    ("je suis enceinte de 7 mois et le patron m'a poussée dans l'escalier", C.MEDICAL_EMERGENCY),
    ("je suis enceinte et il m'a frappée", C.MEDICAL_EMERGENCY),
    # a travel debt told in the third person
    ("she owes him for the ticket from venezuela", C.DEBT_BONDAGE),
    ("le debe el pasaje al dueño", C.DEBT_BONDAGE),
    ("ela deve a passagem pro patrao", C.DEBT_BONDAGE),
    ("elle lui doit le billet d'avion", C.DEBT_BONDAGE),
    # a child told by a school year in the third person, with a job offer (French first)
    ("mon fils est en 4eme, un monsieur sur facebook lui propose de travailler", C.MINOR),
    ("mon fils est en 4eme, un monsieur sur facebook lui propose de travailler", C.DECEPTIVE_OFFER),
    ("mi hijo esta en 2do de secundaria y un señor le ofrecio trabajo en lima", C.MINOR),
    ("my son is in grade 8 and a man offered him a job on a farm", C.MINOR),
    ("meu filho esta no 8 ano e um homem ofereceu trabalho pra ele", C.MINOR),
    ("estoy en el cole todavia y el dueño del bar me hace atender a los clientes", C.MINOR),
    # pregnant and in pain, in everyday words
    ("estoy preñada y me duele mucho la barriga", C.MEDICAL_EMERGENCY),
    ("i am pregnant and in a lot of pain", C.MEDICAL_EMERGENCY),
    # someone guarding the door
    ("je ne peux pas aller a l hopital il garde la porte", C.MOVEMENT_RESTRICTED),
    ("el patron cuida la puerta y no puedo ir al hospital", C.MOVEMENT_RESTRICTED),
    ("he guards the door all night", C.MOVEMENT_RESTRICTED),
    ("o patrao vigia a porta", C.MOVEMENT_RESTRICTED),
]

PERSONA_10_EVERYDAY = [  # the same words in everyday life: never escalated
    "mi jefe no me deja salir antes de las 6, es legal? tengo contrato",
    "my boss doesnt let me leave before 6, is that legal?",
    "o chefe nao me deixa sair antes das 6, é legal?",
    "mon patron me laisse pas partir avant 18h, c'est légal ?",
    "el vigilante cuida la puerta del banco",
    "the security guard guards the door",
    "il est en 4eme et il adore le foot",
    "mi hijo esta en 2do de secundaria y quiere estudiar ingles",
]


CONCEPTS_10 = [  # (text, the code a protection officer would tick), lexicon alone
    # held now and wanting out, or afraid: danger now
    ("nos tienen encerradas en el cuarto, quiero salir de aqui", C.IMMEDIATE_DANGER),
    ("they locked us in the room, i want to get out", C.IMMEDIATE_DANGER),
    ("trancaram a porta por fora, quero sair", C.IMMEDIATE_DANGER),
    ("ils m'ont enfermée, je veux partir", C.IMMEDIATE_DANGER),
    ("me obligan a atender clientes, tengo mucho miedo", C.IMMEDIATE_DANGER),
    ("they force me to go with clients, i'm so scared", C.IMMEDIATE_DANGER),
    ("me obrigam a atender clientes, to com mt medo", C.IMMEDIATE_DANGER),
    ("ils m'obligent à voir des clients, j'ai trop peur", C.IMMEDIATE_DANGER),
    # symptoms with another risk, injuries told with an intensifier
    ("el patron me empujo y ahora vomito y todo me da vueltas", C.MEDICAL_EMERGENCY),
    ("he hit me and i threw up twice, everything is spinning", C.MEDICAL_EMERGENCY),
    ("o patrao me bateu e desmaiei", C.MEDICAL_EMERGENCY),
    ("il m'a frappée et j'ai vomi", C.MEDICAL_EMERGENCY),
    ("tengo el brazo todo hinchado", C.MEDICAL_EMERGENCY),
    ("meu braco ta todo inchado", C.MEDICAL_EMERGENCY),
    ("mon bras est tout gonflé", C.MEDICAL_EMERGENCY),
    # who looks under age, a child mentioned with a risk
    ("trajeron chicas que parecen de 14 y no las dejan salir", C.MINOR),
    ("the girls look about 14 and they can't leave", C.MINOR),
    ("as meninas parecem ter uns 14 anos e nao deixam elas sair", C.MINOR),
    ("les filles ont l'air d'avoir 14 ans et on les enferme", C.MINOR),
    # a child at work instead of school; a child whose parents are elsewhere
    ("una niña de 11 años que vende en el mercado, no va al colegio", C.LABOUR_EXPLOITATION),
    ("a girl of about 11 sells in the market and doesn't go to school", C.LABOUR_EXPLOITATION),
    ("uma menina de 11 anos vende no mercado e nao vai a escola", C.LABOUR_EXPLOITATION),
    ("une fille de 11 ans vend au marché, elle va pas à l'école", C.LABOUR_EXPLOITATION),
    ("tengo 15 y mis papas se quedaron en venezuela", C.UNACCOMPANIED_MINOR),
    ("i'm 15 and my parents stayed back in venezuela", C.UNACCOMPANIED_MINOR),
    ("tenho 15 anos e meus pais ficaram na venezuela", C.UNACCOMPANIED_MINOR),
    ("j'ai 15 ans, je suis arrivé tout seul", C.UNACCOMPANIED_MINOR),
    # locked from outside; a debt to be worked off; earnings kept
    ("el jefe cierra el almacen por fuera en la noche", C.MOVEMENT_RESTRICTED),
    ("the boss locks the warehouse from outside at night", C.MOVEMENT_RESTRICTED),
    ("o chefe tranca o quarto por fora", C.MOVEMENT_RESTRICTED),
    ("le patron ferme la porte de l'extérieur", C.MOVEMENT_RESTRICTED),
    ("no puedo volver hasta que pague lo que debo", C.DEBT_BONDAGE),
    ("i can't go home until i pay what i owe them", C.DEBT_BONDAGE),
    ("nao posso sair ate pagar o que devo", C.DEBT_BONDAGE),
    ("o dono fica com minhas gorjetas", C.LABOUR_EXPLOITATION),
    # a death threat in the present tense; a girl married off
    ("si je parle il me tue", C.IMMEDIATE_DANGER),
    ("her stepdad is marrying her to an older man", C.FORCED_MARRIAGE),
    # no valid papers
    ("my passport expired and now i have nothing valid", C.UNDOCUMENTED),
    ("mi ptp esta vencido", C.UNDOCUMENTED),
    ("moro aqui sem papel nenhum", C.UNDOCUMENTED),
    ("je suis sans papiers valides", C.UNDOCUMENTED),
]


@pytest.mark.parametrize(("text", "code"), CONCEPTS_10 + PERSONA_10 + CONCEPTS_11 + PERSONA_11)
def test_concept_rules_ten_and_eleven(text: str, code: str) -> None:
    assert code in assess(text, second_opinion=False).indicators, assess(text, second_opinion=False)


CONCEPTS_10_EVERYDAY = [  # the same words in everyday life: never escalated
    "jajaja mi jefe me tiene encerrado en la oficina hasta las 8",
    "my boss keeps me locked in the office till 8 lol",
    "kkkk meu chefe me deixa trancado no escritorio ate as 8",
    "mon patron me garde enfermé au bureau jusqu'à 20h mdr",
    "me secuestraron el cel mis sobrinos pa jugar",
    "im gonna kill my roommate if he eats my food again",
    "me quiero morir de la verguenza",
    "mi mama me guarda el pasaporte para la mudanza",
    "mi amiga tiene ptp vigente y quiere viajar",
    "mi hija de 12 años no va al colegio porque esta enferma",
    "mi hijo tiene fiebre alta, donde hay una posta?",
    "my daughter is 12 and looks like her dad",
    "tengo miedo de perder el vuelo",
    "quiero salir de este trabajo, pagan poco",
]


@pytest.mark.parametrize(
    "text",
    CONCEPTS_10_EVERYDAY + PERSONA_10_EVERYDAY + CONCEPTS_11_EVERYDAY + PERSONA_11_EVERYDAY,
)
def test_concept_rules_ten_and_eleven_leave_everyday_life_alone(text: str) -> None:
    result = assess(text, second_opinion=False)
    assert result.level in (C.NONE, C.NORMAL), result


PERSONA_9 = [  # what the ninth persona review found, in every language it was written in
    ("me encerraron aqui", C.IMMEDIATE_DANGER),
    ("me trancaram aqui", C.IMMEDIATE_DANGER),
    ("they locked me in here", C.IMMEDIATE_DANGER),
    ("ils m'ont enfermée ici", C.IMMEDIATE_DANGER),
    (
        "un señor de tiktok le manda plata a mi hija de 14 y quiere que venga a lima",
        C.DECEPTIVE_OFFER,
    ),
    (
        "um homem do tiktok manda dinheiro pra minha filha de 14 e quer que ela venha pra lima",
        C.DECEPTIVE_OFFER,
    ),
    (
        "a man on tiktok sends my daughter money, she is 14, he wants her to come to lima",
        C.DECEPTIVE_OFFER,
    ),
    (
        "ma fille a 14 ans, un homme sur tiktok lui envoie de l'argent et veut qu'elle vienne à Lima",
        C.DECEPTIVE_OFFER,
    ),
    ("im 14, a guy on insta has a modeling job for me in lima", C.DECEPTIVE_OFFER),
]


@pytest.mark.parametrize(("text", "code"), PERSONA_9)
def test_persona_review_nine(text: str, code: str) -> None:
    result = assess(text, second_opinion=False)
    assert code in result.indicators and result.level == C.URGENT, result


PERSONA_9_EVERYDAY = [  # questions to the bot and places to live are not threats or despair
    "u gonna tell the police?",
    "are you going to call migration?",
    "ustedes van a llamar a la policia?",
    "vous allez appeler la police?",
    "tu vas appeler la police?",
    "i don't want to live there anymore",
    "je veux plus vivre chez lui",
    "no quiero vivir con el",
    "nao quero mais viver com ele",
    "i dont want to wake up early tomorrow",
    "mi tia le manda plata a mi hija de 14 para el colegio",
]


@pytest.mark.parametrize("text", PERSONA_9_EVERYDAY)
def test_persona_review_nine_everyday(text: str) -> None:
    result = assess(text)
    assert result.level in (C.NONE, C.NORMAL), result


@pytest.mark.parametrize(
    "text",
    [
        "no no i dont want anyone to write me lol",
        "i dont want to denounce nothing, i just want to go home",
        "i dont want to go to the police, i just want to go back to my country",
    ],
)
def test_a_refusal_is_not_read_as_despair(text: str) -> None:
    """The persona review: the learned second opinion read "i dont want to..." as
    self-harm and opened an urgent case over a refusal (retrained with refusals)."""
    result = assess(text)
    assert C.SELF_HARM not in result.indicators and result.level != C.URGENT, result


@pytest.mark.parametrize(
    "text",
    [
        "i dont want to live anymore",
        "je veux plus vivre",
        "nao quero mais viver",
        "ya no quiero vivir",
    ],
)
def test_despair_said_plainly_still_counts(text: str) -> None:
    assert C.SELF_HARM in assess(text, second_opinion=False).indicators
