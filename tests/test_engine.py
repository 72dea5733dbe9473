"""Conversation behaviour of the engine, driven through the terminal channel."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot import paths
from bot.bootstrap import build_engine
from bot.engine.actions import ActionResult, Context, Registry
from bot.engine.engine import Engine
from bot.engine.i18n import Catalogs
from bot.engine.types import LANGS, Inbound, Outbound, Session

MENU_TARGETS = [
    "emergency",
    "hotlines",
    "no_report",
    "reflection",
    "rights",
    "report",
    "children",
    "someone_else",
    "services",
    "human",
    "language",
]

TYPED_TOPICS: dict[str, dict[str, list[str]]] = {
    "es": {
        "no_report": [
            "no quiero denunciar",
            "No kiero denunciar!!",
            "no quiero denunsiar",
            "NO QUIERO PONER DENUNCIA",
            "n quiero denunciar",
            "mi amiga no quiere denunciar",
        ],
        "reflection": [
            "periodo de reflexión",
            "periodo de reflecsion",
            "necesito tiempo para pensar",
        ],
        "rights": ["mis derechos", "¿qué derechos tengo?", "mis derechoz"],
        "report": ["quiero denunciar", "cómo denuncio?", "kiero denunciar"],
        "hotlines": ["líneas de ayuda", "lineas de ayuda", "a quién llamo"],
        "services": ["servicios cerca", "servicios sercanos", "dónde me pueden ayudar"],
        "human": ["hablar con una persona", "quiero hablar con alguien", "ablar con una persona"],
        "children": ["soy menor de edad"],
        "someone_else": ["quiero ayudar a otra persona"],
    },
    "en": {
        "no_report": [
            "I don't want to report",
            "i dont want to report it",
            "what can she do? she doesnt want police",
        ],
        "reflection": ["reflection period", "i need time to think"],
        "rights": ["my rights", "what are my rights?"],
        "report": ["I want to report", "how do i report"],
        "hotlines": ["helplines", "phone numbers"],
        "services": ["services near me", "where can I get help"],
        "human": ["talk to a person", "can I talk to someone"],
        "children": ["I am under 18"],
        "someone_else": ["help a friend"],
    },
    "pt": {
        "no_report": ["não quero denunciar", "nao quero denunciar", "ela não quer denunciar"],
        "reflection": ["período de reflexão", "periodo de reflexao"],
        "rights": ["meus direitos"],
        "report": ["quero denunciar"],
        "hotlines": ["linhas de ajuda", "telefones"],
        "services": ["serviços perto", "ajuda perto"],
        "human": ["falar com uma pessoa"],
        "children": ["sou menor de idade"],
        "someone_else": ["ajudar outra pessoa"],
    },
    "fr": {
        "no_report": ["je ne veux pas porter plainte", "elle veut pas porter plainte"],
        "reflection": ["période de réflexion", "periode de reflexion"],
        "rights": ["mes droits", "quels sont mes droits"],
        "report": ["je veux porter plainte", "porter plainte"],
        "hotlines": ["lignes d'aide", "numéros de téléphone"],
        "services": ["services à proximité", "aide près de moi"],
        "human": ["parler à quelqu'un", "parler à une personne"],
        "children": ["je suis mineure"],
        "someone_else": ["aider une amie"],
    },
}

COMMANDS = {
    "menu": {"es": "menú", "en": "menu", "pt": "início", "fr": "accueil"},
    "help": {"es": "ayuda", "en": "help", "pt": "ajuda", "fr": "aide"},
    "language": {"es": "idioma", "en": "language", "pt": "idioma", "fr": "langue"},
    "stop.done": {"es": "parar", "en": "stop", "pt": "parar", "fr": "arrêter"},
    "delete": {
        "es": "borrar mis datos",
        "en": "delete my data",
        "pt": "apagar meus dados",
        "fr": "supprimer mes données",
    },
}
EMERGENCY_WORDS = {"es": "emergencia", "en": "emergency", "pt": "emergência", "fr": "urgence"}


def _at(node: str | None, target: str) -> bool:
    """At the flow's entry node, or at the step an action entry leads to."""
    return node == target or (node or "").startswith(target + ".")


EMERGENCY_NODES = ("emergency", "risk.urgent")


def _is_emergency_reply(messages: list[Outbound], engine: Engine, lang: str) -> bool:
    """The emergency numbers, whether as the emergency message or an urgent escalation."""
    text = "\n".join(m.text for m in messages)
    return all(number in text for number in ("105", "113", "100", "1810"))


def _offers_menu(messages: list[Outbound]) -> bool:
    payloads = {b.payload for m in messages for b in m.buttons}
    return "cmd:menu" in payloads or any(
        p.startswith(("opt:menu:", "opt:language:")) for p in payloads
    )


def test_first_contact_shows_the_language_menu(chat) -> None:
    conversation = chat(lang=None, welcomed=False)  # type: ignore[arg-type]
    replies = conversation.say("hola")
    assert "Español" in replies[0] and "Français" in replies[0]
    conversation.say("2")
    assert conversation.session.lang == "en"
    assert conversation.session.node == "safety_check"


def test_language_typed_by_name(chat) -> None:
    conversation = chat(lang=None, welcomed=False)  # type: ignore[arg-type]
    conversation.say("hi")
    conversation.say("Português")
    assert conversation.session.lang == "pt"


@pytest.mark.parametrize(
    ("name", "lang"), [("inglish", "en"), ("ingles", "en"), ("portugues", "pt"), ("frances", "fr")]
)
def test_a_language_typed_as_people_spell_it(chat, name: str, lang: str) -> None:
    """The persona review: "inglish" at the language menu showed the menu again."""
    conversation = chat(lang=None, welcomed=False)  # type: ignore[arg-type]
    conversation.say("hola")
    conversation.say(name)
    assert conversation.session.lang == lang


@pytest.mark.parametrize(
    ("words", "lang"),
    [
        ("no entiendo nada de esto", "es"),
        ("i dont understand this", "en"),
        ("nao entendi nada disso", "pt"),
        ("comment effacer cette conversation", "fr"),
    ],
)
def test_words_at_the_language_menu_choose_their_language(chat, words: str, lang: str) -> None:
    """Someone who writes on instead of typing a number is not shown the menu again
    (a loop), when their words say clearly which language they write ("mi marido lee
    todos mis mensajes" in the persona review; words with no risk in them here, so that
    the welcome follows)."""
    conversation = chat(lang=None, welcomed=False)  # type: ignore[arg-type]
    conversation.say("hola")
    assert conversation.session.node == "language"
    conversation.say(words)
    assert conversation.session.lang == lang
    assert conversation.session.node == "safety_check"


def test_unclear_words_at_the_language_menu_show_it_again(chat) -> None:
    conversation = chat(lang=None, welcomed=False)  # type: ignore[arg-type]
    conversation.say("hola")
    replies = conversation.say("ok")
    assert conversation.session.lang is None
    assert "Español" in replies[0] and "Français" in replies[0]


def test_platform_language_preselects(engine: Engine) -> None:
    result = engine.handle(Session(), Inbound(text="/start", lang_hint="pt-BR"))
    assert result.session.lang == "pt"
    assert result.session.node == "safety_check"


@pytest.mark.parametrize(("number", "target"), list(enumerate(MENU_TARGETS, 1)))
def test_every_menu_entry_by_number(chat, lang: str, number: int, target: str) -> None:
    conversation = chat(lang)
    replies = conversation.say(str(number))
    if target == "emergency":  # the numbers, then the urgent case's notice
        assert replies[0].startswith(conversation.engine.emergency(lang)[0].text)
        assert conversation.session.node == "risk.urgent"
    else:
        assert _at(conversation.session.node, target)
    assert replies and all(r.strip() for r in replies)


@pytest.mark.parametrize("lang_code", LANGS)
def test_every_flow_reachable_by_typed_topic(chat, lang_code: str) -> None:
    for target, phrases in TYPED_TOPICS[lang_code].items():
        for phrase in phrases:
            conversation = chat(lang_code)
            conversation.say("5")  # somewhere else first: topics work from any state
            conversation.say(phrase)
            assert _at(conversation.session.node, target), (
                lang_code,
                phrase,
                conversation.session.node,
            )


def test_longest_topic_wins() -> None:
    engine = build_engine()
    s = Session(lang="es", welcomed=True, node="menu")
    assert engine.handle(s, Inbound(text="no quiero denunciar")).session.node == "no_report"
    assert engine.handle(s, Inbound(text="quiero denunciar")).session.node == "report"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_global_commands_in_every_language(chat, lang: str, command: str) -> None:
    conversation = chat(lang)
    conversation.say("5")
    conversation.say("2")
    conversation.say(COMMANDS[command][lang])
    assert conversation.session.node == command


def test_back_returns_to_the_previous_step(chat, lang: str) -> None:
    conversation = chat(lang)
    conversation.say("5")  # rights
    conversation.say("3")  # rights.health
    assert conversation.session.node == "rights.health"
    conversation.say({"es": "atrás", "en": "back", "pt": "voltar", "fr": "retour"}[lang])
    assert conversation.session.node == "rights"


def test_help_is_not_the_emergency(engine: Engine) -> None:
    s = Session(lang="es", welcomed=True, node="menu")
    assert engine.handle(s, Inbound(text="ayuda")).session.node == "help"
    assert engine.handle(s, Inbound(text="ayuda urgente")).session.node in EMERGENCY_NODES


def test_emergency_word_works_from_every_node(engine: Engine, lang: str) -> None:
    for node_id in engine.flows.nodes:
        for word in (EMERGENCY_WORDS[lang], "SOS", "por favor es urgente!!!"):
            s = Session(lang=lang, welcomed=True, node=node_id)
            result = engine.handle(s, Inbound(text=word))
            assert result.session.node in EMERGENCY_NODES, (node_id, word)
            assert _is_emergency_reply(result.messages, engine, lang), (node_id, word)


def test_emergency_before_choosing_a_language(engine: Engine) -> None:
    result = engine.handle(Session(), Inbound(text="emergencia"))
    assert "105" in result.messages[0].text and "113" in result.messages[0].text


def test_emergency_matches_whole_words_only(engine: Engine) -> None:
    s = Session(lang="es", welcomed=True, node="menu")
    for text in ("sosiego", "no es urgente, solo una consulta", "nada urgente"):
        assert engine.handle(s, Inbound(text=text)).session.node not in EMERGENCY_NODES, text
    for text in ("emergensia", "SOOOS", "¡¡URGENTE!!", "sos por favor"):
        assert engine.handle(s, Inbound(text=text)).session.node in EMERGENCY_NODES, text


def test_unknown_text_is_never_a_dead_end(chat, lang: str, engine: Engine) -> None:
    conversation = chat(lang)
    result = engine.handle(conversation.session, Inbound(text="xqzv blorp"))
    assert "105" in result.messages[0].text
    assert _offers_menu(result.messages)


@pytest.mark.parametrize(
    "inbound", [Inbound.media("voice"), Inbound.media("sticker"), Inbound.location(-12.05, -77.04)]
)
def test_media_and_stray_location_get_a_helpful_reply(engine: Engine, inbound: Inbound) -> None:
    result = engine.handle(Session(lang="es", welcomed=True, node="rights"), inbound)
    assert "105" in result.messages[0].text
    assert _offers_menu(result.messages)


def test_number_out_of_range(chat) -> None:
    conversation = chat("es")
    replies = conversation.say("99")
    assert "No entendí" in replies[0]
    assert conversation.session.node == "menu"


def test_stale_or_forged_payload(engine: Engine) -> None:
    s = Session(lang="es", welcomed=True, node="menu")
    for payload in ("opt:nowhere:1", "opt:menu:99", "cmd:rm -rf", "go:nope", "garbage"):
        result = engine.handle(s, Inbound(payload=payload))
        assert "No entendí" in result.messages[0].text
        assert _offers_menu(result.messages)


def test_long_guidance_is_paged_with_more(chat) -> None:
    conversation = chat("es")
    first = conversation.say("2")  # hotlines: more than one screen
    assert "Más" in first[-1]
    second = conversation.say("más")
    assert second != first and "📞" in second[0]


def test_delete_my_data(chat) -> None:
    events = []
    conversation = chat("es")
    conversation.sink = lambda session, evs: events.extend(evs)
    conversation.say("5")
    conversation.say("borrar mis datos")
    replies = conversation.say("1")
    assert "borramos" in replies[0] and "Telegram" in replies[1]
    assert [e.name for e in events] == ["session.delete"]
    assert conversation.session == Session()


def test_not_now_is_discreet(chat) -> None:
    conversation = chat("es", welcomed=False)
    conversation.say("hola")
    replies = conversation.say("2")  # "Ahora no"
    assert conversation.session.node == "not_now"
    assert "trata" not in replies[0].lower() and "denunc" not in replies[0].lower()


def test_a_failing_handler_answers_with_the_emergency_message(caplog) -> None:
    broken = Registry()

    @broken.register("directory.hotlines")
    def explode(ctx: Context) -> ActionResult:
        raise RuntimeError("boom")

    engine = build_engine()
    engine.handlers.update(broken)
    with caplog.at_level(logging.ERROR):
        result = engine.handle(
            Session(lang="es", welcomed=True, node="menu"), Inbound(payload="opt:menu:1")
        )
    assert "105" in result.messages[0].text and "113" in result.messages[0].text


def test_missing_translation_falls_back_to_spanish_and_logs_once(tmp_path: Path, caplog) -> None:
    catalogs = Catalogs(tmp_path)  # no catalogs at all
    with caplog.at_level(logging.WARNING):
        assert catalogs.gettext("fr", "Hola") == "Hola"
        assert catalogs.gettext("fr", "Hola") == "Hola"
    assert ("fr", "Hola") in catalogs.missing
    assert len([r for r in caplog.records if "missing fr translation" in r.message]) == 1
    assert "Hola" not in caplog.text  # the log names a length, not the text


def test_engine_does_not_import_platforms() -> None:
    """Dependencies point one way: the engine never imports channels, web or stores."""
    forbidden = ("flask", "telegram", "twilio", "redis", "bot.channels", "bot.store", "bot.console")
    for path in (paths.ROOT / "bot" / "engine").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for name in forbidden:
            assert f"import {name}" not in source and f"from {name}" not in source, (path, name)


FIRST_ASKS = {
    "es": ("cuales son mis derechos", "si"),
    "en": ("what are my rights", "yes"),
    "pt": ("quais sao meus direitos", "sim"),
    "fr": ("quels sont mes droits", "oui"),
}


def test_a_first_message_that_asks_is_answered_after_the_welcome(chat, lang: str) -> None:
    """The welcome and the safety check come first (someone may be looking at the
    phone); the "yes" then brings what was asked for, not a menu to choose it again."""
    asked, yes = FIRST_ASKS[lang]
    for conversation in (chat(lang, welcomed=False), chat(None, welcomed=False)):
        first = conversation.say(asked)
        if conversation.session.lang is None:
            conversation.say({"es": "1", "en": "2", "pt": "3", "fr": "4"}[lang])
        assert conversation.session.node == "safety_check", first
        conversation.say(yes)
        assert _at(conversation.session.node, "rights"), conversation.session.node
        assert "pending" not in conversation.session.data


FIRST_NUMBERS = {
    "es": "dame los numeros de emergencia porfa",
    "en": "can u just give me the numbers to call",
    "pt": "voce pode me passar so os numeros de emergencia, obrigada",
    "fr": "donne moi juste les numeros d urgence svp",
}


def test_the_numbers_asked_for_first_are_given_at_once(chat, lang: str) -> None:
    """The tenth persona review: "donne moi juste les numéros d'urgence" waited behind
    "can you write safely?", and the "merci" that followed closed the chat without
    them. Like a request for a person, a request for the numbers is the welcome."""
    for conversation in (chat(lang, welcomed=False), chat(None, welcomed=False)):
        if conversation.session.lang is None:
            conversation.say({"es": "hola", "en": "hello", "pt": "ola", "fr": "bonsoir"}[lang])
        replies = conversation.say(FIRST_NUMBERS[lang])
        assert conversation.session.node == "hotlines", conversation.session.node
        assert "1818" in replies[0] and "105" in replies[0]
        assert conversation.session.lang == lang


def test_a_held_request_is_dropped_once_the_person_goes_elsewhere(chat) -> None:
    conversation = chat("es", welcomed=False)
    conversation.say("cuales son mis derechos")
    conversation.say("quiero denunciar")  # answered at the safety check itself
    assert _at(conversation.session.node, "report")
    conversation.say("menu")
    conversation.say("11")  # the language menu leads to the welcome again
    conversation.say("1")
    conversation.say("si")
    assert conversation.session.node == "menu"


NOT_SAFE_NOW = {
    "es": [
        "el patron esta al lado mio",
        "no puedo hablar esta aqui al lado",
        "mas tarde",
        "mi jefe esta aqui",
        "no puedo",
    ],
    "en": [
        "not now he is next to me",
        "later",
        "someone is watching",
        "wait",
        "not safe",
        "my boss is here",
    ],
    "pt": ["ele ta do meu lado", "agora nao", "depois", "tem alguem olhando"],
    "fr": [
        "pas maintenant il est a cote de moi",
        "attends",
        "plus tard",
        "quelqu'un me regarde",
        "mon mari est a cote",
    ],
}


def test_someone_near_at_the_safety_check_gets_the_discreet_exit(chat, lang: str) -> None:
    """Whatever the words, "not now" never brings the service's description on screen."""
    for text in NOT_SAFE_NOW[lang]:
        conversation = chat(lang, welcomed=False)
        conversation.say("hola")
        conversation.say(text)
        assert conversation.session.node == "not_now", text


def test_a_question_with_have_to_go_is_not_the_discreet_exit(chat) -> None:
    conversation = chat("en")
    conversation.say("do i have to go to the police after?")
    assert conversation.session.node != "not_now"


def test_after_the_discreet_exit_the_next_words_ask_again_neutrally(chat, lang: str) -> None:
    """ "He left, I'm alone now" or a greeting after "not now": the safety check again,
    never the menu with its topic words."""
    for later in ("ok he left, what do i do", "hola", "c bon il est parti"):
        conversation = chat(lang, welcomed=False)
        conversation.say("hola")
        conversation.say(NOT_SAFE_NOW[lang][0])
        replies = conversation.say(later)
        assert conversation.session.node == "safety_check", (later, replies)


def test_everyday_words_for_more_results_and_for_closing(chat) -> None:
    conversation = chat("es")
    conversation.say("estoy en lima")
    before = conversation.session.data["services"]["seen"]
    conversation.say("hay mas?")
    assert len(conversation.session.data["services"]["seen"]) > len(before)
    conversation.say("cerrar")
    assert conversation.session.data == {"stopped": True}


LOST = {
    "es": ["q hago?", "y ahora qué hago", "no sé qué hacer"],
    "en": ["what should i do?", "idk what to do"],
    "pt": ["o que eu faço?", "e agora"],
    "fr": ["je fais quoi ?", "je sais pas quoi faire"],
}


def test_asking_what_to_do_gets_the_ways_on_not_i_did_not_understand(chat, lang: str) -> None:
    """After the caseworker offer is declined, "¿qué hago?" is a question, not noise."""
    for text in LOST[lang]:
        conversation = chat(lang)
        conversation.say("2")  # helplines: any page without an input of its own
        replies = conversation.say(text)
        assert conversation.session.node == "sys.what_now", text
        assert "105" in "\n".join(replies)
        # Not reporting, and a person, among the ways on.
        assert {"opt:sys.what_now:1", "opt:sys.what_now:4"} <= set(conversation.session.options)


def test_what_to_do_comes_after_every_other_reading(chat) -> None:
    """A topic in the same words wins, and so does a node that reads the words itself."""
    conversation = chat("es")
    conversation.say("qué hago si me van a deportar")
    assert _at(conversation.session.node, "rights"), conversation.session.node
    conversation = chat("es", welcomed=False)
    conversation.say("hola")
    conversation.say("no sé qué hacer")  # at the safety check: neither yes nor no
    assert conversation.session.node != "sys.what_now"


FREE = {
    "es": "¿y eso es gratis?",
    "en": "is it free?",
    "pt": "é de graça?",
    "fr": "c'est gratuit ?",
}


def test_is_it_free_is_answered(chat, lang: str) -> None:
    conversation = chat(lang)
    conversation.say(FREE[lang])
    assert conversation.session.node == "about"


def test_what_to_do_while_the_offer_of_a_person_is_open(chat) -> None:
    """The ways on answer the question, and the open offer is asked again after them."""
    conversation = chat("en")
    conversation.say("my boss took my passport")
    replies = "\n".join(conversation.say("so what i do now?"))
    assert "105" in replies and "yes or no" in replies.lower()
    assert "opt:sys.what_now:1" not in conversation.session.options  # the offer is last


@pytest.mark.parametrize(
    ("lang", "disclosure", "arrives"),
    [
        ("es", "vivo con mi pareja y me revisa el celular, tiene mi pasaporte", "ahi viene"),
        (
            "pt",
            "meu marido pegou meus documentos e me obriga a trabalhar sem receber",
            "ele chegou",
        ),
        ("en", "my husband took my documents and he doesnt let me work", "wait he is coming"),
        ("es", "la señora tiene mi pasaporte y no me paga hace 3 meses", "ya llego, me tengo q ir"),
    ],
)
def test_someone_arriving_ends_on_the_discreet_line(chat, lang, disclosure, arrives) -> None:
    """The persona review: with the offer of a person open, "ahí viene" got "answer yes
    or no" (with the abuser at the phone). The discreet exit must be the last thing."""
    conversation = chat(lang)
    conversation.say(disclosure)
    replies = conversation.say(arrives)
    assert conversation.session.node == "not_now", replies
    assert "105" in replies[-1]


def test_arrived_alone_is_someone_there_but_not_inside_other_words(chat) -> None:
    conversation = chat("es")
    conversation.say("ya llegó el dinero que me mandó mi mamá, dónde lo cambio?")
    assert conversation.session.node != "not_now"


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "who can i call"), ("en", "emergency numbers"), ("es", "solo quiero los numeros"),
     ("fr", "donnez-moi juste les numéros"), ("pt", "os números"), ("pt", "tem telefone de ajuda?")],
)  # fmt: skip
def test_asking_for_the_numbers_gets_the_list(chat, lang: str, words: str) -> None:
    """The persona review: most ways of asking for numbers got "I didn't understand",
    and "emergency numbers" opened an urgent case instead of giving the list."""
    conversation = chat(lang)
    conversation.say(words)
    assert conversation.session.node == "hotlines"


@pytest.mark.parametrize(
    ("lang", "refusal"),
    [("es", "no gracias no quiero hablar con nadie"), ("en", "no i dont want to talk to anyone"),
     ("pt", "não quero falar com ninguém"), ("fr", "je ne veux parler à personne"),
     ("en", "nah im good"), ("en", "no, leave me alone"), ("es", "no, déjame en paz"),
     ("es", "prefiero que no"), ("fr", "laissez-moi tranquille"), ("pt", "me deixa em paz"),
     ("pt", "não, valeu")],
)  # fmt: skip
def test_a_refusal_in_more_words_is_a_refusal(chat, lang: str, refusal: str) -> None:
    conversation = chat(lang)
    conversation.say({"es": "el dueño no me deja salir del local", "en": "my boss keeps my passport",
                      "pt": "meu patrão pegou meu passaporte", "fr": "mon patron garde mon passeport"}[lang])  # fmt: skip
    conversation.say(refusal)
    assert conversation.session.node == "risk.refused"


def test_some_place_is_not_someone(chat) -> None:
    """The persona review: "tem algum lugar" read as "tem alguém" (one letter away) asked
    for a person, opened a case and let staff read her messages; she wanted a place."""
    conversation = chat("pt")
    conversation.say("preciso de ajuda com comida, tem algum lugar em lima?")
    assert not (conversation.session.node or "").startswith("human")
    assert "case" not in conversation.session.data


@pytest.mark.parametrize(
    ("lang", "fear"),
    [("es", "y la policía no me va a llevar presa a mí?"), ("en", "will the police arrest me?"),
     ("pt", "a polícia vai me prender?"), ("fr", "est-ce qu'on va m'arrêter ?")],
)  # fmt: skip
def test_the_fear_of_arrest_gets_non_punishment(chat, lang: str, fear: str) -> None:
    """The persona review: "¿la policía no me va a llevar presa?" got "No entendí"."""
    conversation = chat(lang)
    conversation.say(fear)
    assert conversation.session.node == "rights.non_punishment"


@pytest.mark.parametrize(
    ("lang", "fear"),
    [("es", "no se, me da miedo que me boten del pais"), ("en", "im scared of the police"),
     ("pt", "tenho medo de ser deportada"), ("fr", "j'ai peur de la police")],
)  # fmt: skip
def test_a_fear_said_as_a_fear_gets_non_punishment_even_mid_question(
    chat, lang: str, fear: str
) -> None:
    """The tenth persona review: after telling of a passport kept, "j'ai peur de la
    police" got the consent question again; the fear is answered with the rights she
    can invoke, and the question waits."""
    conversation = chat(lang)
    conversation.say({"es": "la señora guarda mi pasaporte", "en": "my boss keeps my passport",
                      "pt": "meu patrão pegou meu passaporte", "fr": "mon patron garde mon passeport"}[lang])  # fmt: skip
    replies = conversation.say(fear)
    invoke = {"es": "principio que puedes invocar", "en": "principle you can invoke",
              "pt": "princípio que você pode invocar", "fr": "principe que vous pouvez invoquer"}  # fmt: skip
    assert invoke[lang] in replies[0], replies


def test_a_keyword_written_apart_matches_as_typed_with_the_apostrophe(chat) -> None:
    """ "c est confidentiel" in the flows, "c'est confidentiel ?" on the phone (normalised
    to "cest"): both spellings are one keyword."""
    conversation = chat("fr")
    conversation.say("c'est confidentiel ?")
    assert conversation.session.node == "about"


@pytest.mark.parametrize(
    "arrives",
    ["he's coming back", "viene mi jefe", "llegó", "meu marido chegou", "mon mari arrive"],
)
def test_more_ways_of_saying_someone_arrives(chat, arrives: str) -> None:
    conversation = chat("es")
    conversation.say("mi esposo me encierra y me pega")
    conversation.say(arrives)
    assert conversation.session.node == "not_now"


@pytest.mark.parametrize(
    ("lang", "first", "ask", "erased"),
    [
        ("es", "hola", "borra todo lo q escribi porfa", "borramos"),
        ("en", "hi", "delete everything i wrote", "deleted"),
        ("pt", "oi", "apaga tudo o que eu escrevi", "apagamos"),
        ("fr", "salut", "efface tout ce que j'ai écrit stp", "supprimé"),
        ("es", "hola", "borra lo q te dije porfa", "borramos"),  # persona review, round 2
        ("en", "hi", "can u delete what i wrote", "deleted"),
        ("pt", "oi", "pode apagar tudo isso?", "apagamos"),
        ("fr", "salut", "tu peux effacer notre conversation ?", "supprimé"),
    ],
)
def test_erasing_what_one_wrote_in_everyday_words_even_before_the_welcome(
    chat, lang: str, first: str, ask: str, erased: str
) -> None:
    """Persona review: these were held behind the language menu or the welcome, or sent
    to the team. The confirmation comes at once; its "yes" erases."""
    events = []
    conversation = chat(lang, welcomed=False)
    conversation.sink = lambda session, evs: events.extend(evs)
    conversation.say(first)
    confirm = conversation.say(ask)
    assert events == [] and len(confirm) == 1, confirm  # the question, nothing erased yet
    replies = conversation.say("1")
    assert erased in replies[0].lower(), replies
    assert [e.name for e in events] == ["session.delete"]


def test_erasing_in_everyday_words_after_telling_of_a_risk(chat) -> None:
    conversation = chat("es")
    conversation.say("me tienen encerrada")
    replies = conversation.say("borra todo lo q escribi porfa")
    assert "borrar tus datos" in replies[-1], replies


@pytest.mark.parametrize(
    ("lang", "ask", "answer"),
    [
        ("es", "ustedes le avisan a migraciones?", "no debe ser detenida"),
        ("en", "will you tell migration about me? i have no papers", "must not be detained"),
        ("pt", "vc vai avisar a migracao?", "não deve ser detida"),
        ("fr", "si je parle a qqn, on va me renvoyer en haiti?", "ne doit pas"),
        # asked of the bot, it read as a threat or got the law first: who we are comes first
        ("es", "¿ustedes le dicen a migraciones?", "No somos la policía ni Migraciones"),
        ("pt", "vocês vão chamar a polícia?", "Não somos a polícia"),
        ("en", "are you going to call the police?", "We are not the police"),
        ("fr", "vous allez appeler la police?", "Nous ne sommes ni la police"),
        ("es", "y a migraciones?", "No somos la policía ni Migraciones"),
        ("pt", "e a migração?", "Não somos a polícia"),
        ("en", "will they deport us?", "must not be detained"),
        ("es", "nos van a deportar?", "no debe ser detenida"),
    ],
)
def test_will_you_tell_migration_or_the_police_is_answered(
    chat, lang: str, ask: str, answer: str
) -> None:
    """Persona reviews: the question that decides whether a person stays."""
    replies = chat(lang).say(ask)
    assert any(answer in r for r in replies), replies


@pytest.mark.parametrize(
    ("lang", "child", "refuse"),
    [
        ("es", "mi hija de 14 trabaja en un bar de noche", "no quiero denunciar"),
        (
            "pt",
            "minha filha de 15 ta presa numa casa e nao deixam ela sair",
            "eu nao quero fazer denuncia",
        ),
        ("en", "my son is 15 and the boss keeps his passport", "i dont want to report"),
        (
            "fr",
            "ma fille a 14 ans et le patron garde son passeport",
            "je ne veux pas porter plainte",
        ),
    ],
)
def test_for_a_child_not_reporting_is_not_offered_as_a_choice(
    chat, lang: str, child: str, refuse: str
) -> None:
    """The persona review: a mother was told "you decide" about her daughter's case."""
    conversation = chat(lang)
    conversation.say(child)
    replies = conversation.say(refuse)
    assert conversation.session.node == "no_report.child", replies
    assert any("1810" in r for r in replies), replies


def test_an_adult_who_does_not_want_to_report_still_decides(chat) -> None:
    conversation = chat("es")
    conversation.say("no quiero denunciar, solo quiero saber qué puedo hacer")
    assert conversation.session.node == "no_report"


@pytest.mark.parametrize(
    ("lang", "disclosure", "question", "more"),
    [
        ("es", "mi jefe me quito el pasaporte", "que es el periodo de reflexion", "mas"),
        ("en", "my boss took my passport", "what is the reflection period", "more"),
        ("pt", "meu patrao pegou meu passaporte", "o que e o periodo de reflexao", "mais"),
        ("fr", "mon patron a pris mon passeport", "c est quoi la periode de reflexion", "plus"),
    ],
)
def test_more_turns_the_answers_pages_while_a_consent_question_is_open(
    chat, lang: str, disclosure: str, question: str, more: str
) -> None:
    """The persona review: with the consent offer open, the reflection period's answer
    is followed by the question again, and "más" found nothing more in the question, so
    the honest pages (the legal gap, the duty to report, no period for children) were
    out of reach."""
    conversation = chat(lang=lang)
    conversation.say(disclosure)  # the consent offer stays open
    conversation.say(question)
    assert conversation.session.node != "reflection"  # the question came after it
    conversation.say(more)
    assert (conversation.session.node, conversation.session.page) == ("reflection", 1)
    conversation.say(more)
    assert (conversation.session.node, conversation.session.page) == ("reflection", 2)
    conversation.say(more)  # the last page: nothing more, said plainly
    assert conversation.session.node != "reflection"
