"""Every sentence true to the seeds, and the guidance that must arrive without a tap
(issue 12). Each fact test fails if the old, wrong wording comes back in any language."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot import paths
from bot.engine.engine import Engine

LANGS = ("es", "en", "pt", "fr")


def _catalog_text(lang: str) -> str:
    """Every source and translated string of one catalog, as one text."""
    path = Path(paths.LOCALES_DIR) / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    out = []
    for message in catalog:
        if message.id:
            out.append(message.id if lang == "es" else (message.string or ""))
    return "\n".join(out)


@pytest.fixture(scope="module")
def catalogs() -> dict[str, str]:
    return {lang: _catalog_text(lang) for lang in LANGS}


# (what the seeds do not say, in the languages where it was written)
WRONG = {
    "113 as a 24-hour line as a whole": {
        "es": ["Emergencia médica. Opción 5: salud mental, 24 horas"]
    },
    "not being expelled as a promise": {
        "es": ["No te pueden expulsar"],
        "en": ["They cannot expel you", "You cannot be expelled"],
        "pt": ["Não podem te expulsar", "não podem expulsar você"],
        "fr": ["On ne peut pas vous expulser"],
    },
    "the same rights as a Peruvian person": {
        "es": ["mismos derechos de ayuda y protección que una persona peruana"],
        "fr": ["mêmes droits à l'aide et à la protection qu'une personne péruvienne"],
    },
    "the reflection period's length as a habit": {
        "es": ["Suele ser de semanas"],
        "fr": ["Elle dure en général"],
    },
    "the gap as practice, not law": {"es": ["en la práctica, los servicios del Estado se activan"]},
    "recovery instead of reintegration": {"es": ["proceso de recuperación"]},
    "free health care": {"es": ["Salud gratuita"]},
    "the special status instead of the humanitarian one": {
        "es": ["Si no, Migraciones puede darte"]
    },
    "UNHCR for everyone": {"es": ["OIM y ACNUR ayudan sin denuncia", "OIM, ACNUR (busca"]},
    "a 24-hour organisation the bot never gives": {
        "es": ["Guarda un contacto de una organización que atienda las 24 horas"],
    },
    "small text errors": {
        "fr": ["nous sommes toujours là"],
        "pt": ["O Ministerio de Justicia", "Protocolo Intersectorial"],
        "en": ["«"],
        "es": ["llama a la {tel:100}", "pasaporte, DNI u otro documento", "te escriba aquí"],
    },
}


@pytest.mark.parametrize("fact", sorted(WRONG))
def test_old_wording_does_not_return(catalogs: dict[str, str], fact: str) -> None:
    for lang, phrases in WRONG[fact].items():
        for phrase in phrases:
            assert phrase not in catalogs[lang], f"{fact} ({lang}): {phrase!r}"


def test_the_sources_point_at_the_passages(engine: Engine) -> None:
    nodes = engine.flows.nodes
    assert "en su defecto" in nodes["rights.regularisation"].source
    assert "Ministerio Público" in nodes["rights.regularisation"].source
    assert "si decide denunciar" in nodes["rights.legal"].source
    assert "post rescate" in nodes["reflection"].source
    assert "1884" in nodes["no_report"].source and "1818" in nodes["no_report"].source


def test_emergency_care_carries_no_reporting_warning(engine: Engine) -> None:
    health = "\n".join(engine.flows.node("rights.health").pages)
    assert "{tel:113}" in health and "deben denunciar" not in health


def test_113_is_24_hours_only_for_option_5(engine: Engine, lang: str) -> None:
    from bot.directory.hotlines import describe
    from bot.directory.model import load_directory

    line = load_directory().hotlines["113"]
    block = describe(line, engine.translator(lang))
    assert not line.hours_24h
    assert "(24" not in block and "5" in block.split("(")[-1], block


def test_services_footer_does_not_call_113_a_24_hour_line(chat) -> None:
    conversation = chat("es")
    replies = "\n".join(conversation.say("servicios cerca") + conversation.say("1")
                        + conversation.say("lima"))  # fmt: skip
    footers = [line for line in replies.splitlines() if line.startswith("Líneas 24 horas")]
    assert footers, replies
    assert all("113" not in line for line in footers)
    assert "Emergencia médica: 113" in replies


# -------------------------------------------------------- without extra taps
FIRST = {
    "no_report": {"es": "no quiero denunciar", "en": "i dont want to report",
                  "pt": "nao quero denunciar", "fr": "je ne veux pas porter plainte"},
    "report": {"es": "quiero denunciar", "en": "i want to report",
               "pt": "quero denunciar", "fr": "je veux porter plainte"},
    "rights": {"es": "mis derechos", "en": "my rights", "pt": "meus direitos", "fr": "mes droits"},
}  # fmt: skip
RIGHTS_WORDS = {
    "es": ("expulsad", "castigad"), "en": ("expelled", "punished"),
    "pt": ("expuls", "punid"), "fr": ("expulsé", "punie"),
}  # fmt: skip
ANONYMOUS = {"es": "sin dar tu nombre", "en": "name", "pt": "nome", "fr": "nom"}


def test_not_reporting_gives_1884_100_and_1818_at_once(chat, lang: str) -> None:
    first = chat(lang).say(FIRST["no_report"][lang])[0]
    for number in ("1884", "100", "1818"):
        assert number in first, (lang, first)


def test_reporting_says_1818_is_anonymous_and_needs_no_document(chat, lang: str) -> None:
    first = chat(lang).say(FIRST["report"][lang])[0]
    assert "1818" in first and ANONYMOUS[lang] in first.lower(), (lang, first)


def test_rights_name_non_expulsion_and_non_punishment_at_once(chat, lang: str) -> None:
    first = chat(lang).say(FIRST["rights"][lang])[0].lower()
    for word in RIGHTS_WORDS[lang]:
        assert word in first, (lang, word, first)


def test_all_six_numbers_are_on_the_first_screen_of_the_hotlines(chat, lang: str) -> None:
    first = chat(lang).say("líneas de ayuda")[0]
    for number in ("105", "113", "100", "1818", "1884", "1810"):
        assert f"📞 {number} " in first, (lang, number, first)


# ------------------------------------------------------------- services search
def _page_through(chat, place: str) -> list[str]:
    """Every office shown for `place`, tapping "Ver más" until there is no more."""
    conversation = chat("es")
    conversation.say("servicios cerca")
    conversation.say("1")
    shown: list[str] = []
    replies = conversation.say(place)
    for _ in range(40):
        shown += [line for reply in replies for line in reply.splitlines() if line.startswith("🏢")]
        if not any("Ver más" in reply for reply in replies):
            break
        replies = conversation.say("ver más")
    return shown


def test_see_more_continues_from_the_same_place(chat) -> None:
    shown = _page_through(chat, "SJL")
    caremi = next(i for i, s in enumerate(shown) if "CAREMI" in s)
    acnur = next(i for i, s in enumerate(shown) if "ACNUR" in s and "Refugiados" in s)
    fistrap = next(i for i, s in enumerate(shown) if "FISTRAP" in s and "Lima Norte" in s)
    assert caremi < fistrap < acnur, shown  # San Juan de Lurigancho first, then Lima
    assert caremi <= 2, shown


def test_a_name_is_not_repeated_after_its_organisation(chat) -> None:
    for line in _page_through(chat, "SJL"):
        head, _, tail = line[2:].partition(": ")
        assert not tail or head.strip().casefold() not in tail.casefold(), line


@pytest.mark.parametrize(
    ("typed", "region"),
    [("arequipa cercado", "Arequipa"), ("La Rinconada", "Puno"), ("mazuko", "Madre de Dios"),
     ("Huaycán", "Lima"), ("cercado", "Lima")],
)  # fmt: skip
def test_places_the_seeds_name_are_found(typed: str, region: str) -> None:
    from bot.directory.gazetteer import Gazetteer

    place = Gazetteer().resolve(typed)
    assert place is not None and place.region == region, (typed, place)


def test_a_place_named_in_the_question_is_not_asked_again(chat) -> None:
    conversation = chat("es")
    conversation.say("donde me pueden ayudar en tacna")
    replies = conversation.say("1")  # any kind of help
    assert replies[0].startswith("Ayuda cerca de Tacna"), replies
    assert not any("¿Dónde buscas ayuda?" in r for r in replies)


def test_no_public_result_lacks_a_way_to_reach_it(engine: Engine, lang: str) -> None:
    """Every office a person can be shown carries a phone, a line, an email, a web page
    or, with none in the sources, the way through this service's own team."""
    from bot.directory.model import load_directory
    from bot.directory.render import hit_block
    from bot.directory.search import Hit

    directory = load_directory()
    t = engine.translator(lang)
    for service in directory.public_services():
        for office in service.offices:
            block = hit_block(Hit(service, office, None), directory, t, with_distance=False)
            assert any(mark in block for mark in ("☎️", "✉️", "🌐", "WhatsApp")), block
    fistrap = next(s for s in directory.public_services() if s.id == "fistrap-cusco")
    assert "0800-00-205" in hit_block(Hit(fistrap, fistrap.offices[0], None), directory, t, False)


def test_no_public_text_carries_editorial_notes() -> None:
    text = (Path(paths.ROOT) / "directory.json").read_text(encoding="utf-8")
    for note in ("La ficha también", "The listing also", "A ficha também", "La fiche indique",
                 "sin precisar", "without saying through which"):  # fmt: skip
        assert note not in text, note


# --------------------------------------------------------------- discretion
QUICK_EXIT = {"es": "receta", "en": "recipe", "pt": "receita", "fr": "recette"}


def test_the_quick_exit_word_answers_neutrally_and_forgets(engine: Engine, lang: str) -> None:
    from bot.engine.actions import STOP_EVENT, STOPPED
    from bot.engine.types import Inbound, Session

    session = engine.handle(Session(), Inbound(text="hola", lang_hint=lang)).session
    session = engine.handle(session, Inbound(text="no quiero denunciar")).session
    result = engine.handle(session, Inbound(text=QUICK_EXIT[lang]))
    [reply] = result.messages
    assert len(reply.text) < 20 and not reply.buttons, reply
    assert result.session.node is None and result.session.data == {STOPPED: True}
    assert any(e.name == STOP_EVENT for e in result.events)  # nobody writes to them now
    helptext = engine.translator(lang)(engine.flows.node("help").pages[0])
    assert QUICK_EXIT[lang] in helptext.lower()


def test_services_reached_from_the_non_reporting_route_carry_the_reporting_duty(chat) -> None:
    conversation = chat("es")
    conversation.say("no quiero denunciar")
    conversation.say("1")  # what help can I get
    conversation.say("servicios cerca")
    conversation.say("alojamiento")
    shown = "\n".join(conversation.say("lima"))
    assert "deben denunciar" in shown and "sin denuncia" in shown, shown
    plain = chat("es")  # the same search from the menu: no such line
    plain.say("servicios cerca")
    plain.say("alojamiento")
    assert "deben denunciar" not in "\n".join(plain.say("lima"))


# ----------------------------------------------- from the persona reviews (issue 12)
@pytest.mark.parametrize("text", ["recipe pls", "receta porfa", "recette svp", "receita por favor"])
def test_the_quick_exit_works_with_a_polite_word(engine: Engine, text: str) -> None:
    from bot.engine.types import Inbound, Session

    result = engine.handle(Session(lang="es", welcomed=True, node="menu"), Inbound(text=text))
    assert len(result.messages) == 1 and len(result.messages[0].text) < 20, result.messages


@pytest.mark.parametrize("lang", LANGS)
def test_the_quick_exit_says_nothing_even_first_or_twice(engine: Engine, lang: str) -> None:
    from bot.engine.types import Inbound, Session

    session = Session()
    for _ in range(2):
        result = engine.handle(session, Inbound(text=QUICK_EXIT[lang], lang_hint=lang))
        session = result.session
        assert len(result.messages) == 1 and len(result.messages[0].text) < 20, result.messages


def test_the_topic_waits_for_the_safety_check(chat) -> None:
    conversation = chat("es", welcomed=False)
    first = conversation.say("hola")
    assert "explotación" not in "\n".join(first)  # welcome and safety question only
    assert "explotación" in "\n".join(conversation.say("sí"))


def test_typing_the_health_label_does_not_open_an_emergency(chat) -> None:
    conversation = chat("es")
    conversation.say("mis derechos")
    replies = "\n".join(conversation.say("Salud y atención médica"))
    assert "Tienes derecho a la atención de salud" in replies
    assert "Ya avisamos" not in replies


def test_the_caseworker_offer_carries_the_numbers(chat) -> None:
    replies = "\n".join(chat("es").say("la señora no me deja salir y tiene mi pasaporte"))
    assert "¿Quieres que una persona" in replies
    for number in ("105", "100", "1818"):
        assert number in replies


@pytest.mark.parametrize("text", ["me pueden botar del pais?", "can i be deported",
                                  "can they deport me", "podem me deportar"])  # fmt: skip
def test_a_deportation_question_reaches_the_right_not_to_be_expelled(chat, text: str) -> None:
    replies = "\n".join(chat("es").say(text)).lower()
    assert "expulsad" in replies, replies


def test_the_end_of_a_list_is_not_called_an_empty_region(chat) -> None:
    """After the last Cusco office, "see more" must not say there is none in Cusco."""
    conversation = chat("es")
    conversation.say("servicios cerca")
    conversation.say("1")
    replies = conversation.say("cusco")
    heads = [replies[0].splitlines()[0]]
    for _ in range(15):
        if not any("Ver más" in r for r in replies):
            break
        replies = conversation.say("ver más")
        heads.append(replies[0].splitlines()[0])
    assert not any(h.startswith("No encontramos oficinas en Cusco") for h in heads), heads
    assert any(h.startswith("Ya viste todas las oficinas cerca de Cusco") for h in heads), heads


@pytest.mark.parametrize(
    "text",
    ["je nai pas de papiers, je peux aller a lhopital?", "sans papiers est ce que je peux me soigner",
     "i dont have papers can i go to the hospital", "no tengo papeles, me atienden en el hospital?"],
)  # fmt: skip
def test_a_health_question_in_free_text_reaches_the_right_to_care(chat, text: str) -> None:
    replies = "\n".join(chat("fr").say(text))
    assert "113" in replies and ("soins" in replies or "salud" in replies), replies
