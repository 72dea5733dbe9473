"""Nearest-service search, its command line, and the chat flow around it."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from bot import paths
from bot.directory.gazetteer import Gazetteer, haversine_km
from bot.directory.model import NEEDS, load_directory
from bot.directory.search import Searcher, SearchError
from bot.engine.engine import Engine
from bot.engine.types import LANGS, Inbound, Session


@pytest.fixture(scope="module")
def searcher() -> Searcher:
    return Searcher(load_directory(), Gazetteer())


@pytest.mark.parametrize(("typed", "name", "region"), [
    ("tumbes", "Tumbes", "Tumbes"), ("TUMBES!!", "Tumbes", "Tumbes"), ("SJL", "San Juan de Lurigancho", "Lima"),
    ("san juan de lurigancho", "San Juan de Lurigancho", "Lima"), ("Cuzco", "Cusco", "Cusco"),
    ("lima norte", "Lima Norte", "Lima"), ("estoy en huanuco", "Huánuco", "Huánuco"),
    ("Callao", "Callao", "Callao"), ("iquitos", "Iquitos", "Loreto"), ("puerto maldonado", "Puerto Maldonado", "Madre de Dios"),
])  # fmt: skip
def test_typed_places_resolve(typed: str, name: str, region: str) -> None:
    place = Gazetteer().resolve(typed)
    assert place is not None and place.name == name and place.region == region


def test_gazetteer_has_every_region() -> None:
    regions = {r.name for r in Gazetteer().regions}
    assert len(regions) == 26  # 25 regions (Lima split into Metropolitana and Provincias) + Callao
    assert {"Callao", "Lima", "Lima Provincias", "Tumbes", "Madre de Dios", "Ucayali"} <= regions


def test_tumbes_legal_lists_tumbes_first(searcher: Searcher) -> None:
    result = searcher.search(place="Tumbes", need="legal")
    assert result.local and all(h.office.region == "Tumbes" for h in result.local)
    assert all("legal" in h.service.needs for h in result.local)
    assert any(h.id == "1884" for h in result.hotlines)


def test_cusco_point_lists_cusco_first(searcher: Searcher) -> None:
    result = searcher.search(point=(-13.53, -71.97))
    assert result.origin and result.origin.region == "Cusco"
    assert result.local[0].office.region == "Cusco"
    distances = [h.distance_km for h in result.local]
    assert distances == sorted(distances)


def test_national_services_and_hotlines_follow_the_local_ones(searcher: Searcher) -> None:
    result = searcher.search(place="Tumbes")
    local_ids = {h.service.id for h in result.local}
    assert result.national and not local_ids & {s.id for s in result.national}
    assert {"105", "100", "1818", "1810", "113"} <= {h.id for h in result.hotlines}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"place": "Atlantis"},
        {"point": (40.4, -3.7)},
        {"point": (-4.2, -69.94)},
        {"region": "Narnia"},
    ],
)
def test_outside_peru_or_unknown_place_gets_national_options(searcher: Searcher, kwargs) -> None:
    result = searcher.search(**kwargs)
    assert result.outside_peru or result.unknown_place
    assert not result.local and result.national and result.hotlines


def test_region_without_a_local_office_is_told_so(searcher: Searcher, engine: Engine) -> None:
    from bot.directory import render

    empty = [
        (region.name, need)
        for region in Gazetteer().regions
        for need in NEEDS
        if not searcher.search(region=region.name, need=need).local
    ]
    assert empty
    region, need = empty[0]
    result = searcher.search(region=region, need=need)
    assert result.nearby and all(h.office.region != region for h in result.nearby)
    text = render.screen(result, searcher.directory, engine.translator("es"), False).text
    assert text.startswith(f"No encontramos oficinas en {region}")


@pytest.mark.parametrize("need", ["", "  ", "lawyer", "LEGAL"])
def test_bad_need_is_a_clear_error(searcher: Searcher, need: str) -> None:
    with pytest.raises(SearchError, match="use one of any, emergency"):
        searcher.search(place="Lima", need=need)


def test_search_matches_brute_force_on_a_synthetic_directory() -> None:
    """The nearest office per service, by great-circle distance, as a brute force finds it."""
    from benchmarks.synthetic import synthetic_directory

    directory = synthetic_directory(2000, seed=7)
    searcher = Searcher(directory, Gazetteer())
    rng = random.Random(3)
    for _ in range(20):
        point = (rng.uniform(-17, -4), rng.uniform(-79, -70))
        result = searcher.search(point=point, limit=10_000)
        if result.origin is None:
            continue
        best = {}
        for service in directory.services:
            for office in service.offices:
                if office.region != result.origin.region:
                    continue
                km = haversine_km(*point, office.lat, office.lon)
                if service.id not in best or km < best[service.id]:
                    best[service.id] = km
        for hit in result.local:
            assert hit.distance_km == pytest.approx(best[hit.service.id])


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "services", *args],
        capture_output=True,
        text=True,
        cwd=paths.ROOT,
        timeout=60,
    )


def test_cli_place_and_need() -> None:
    done = cli("--place", "Tumbes", "--need", "legal", "--json")
    data = json.loads(done.stdout)
    assert done.returncode == 0 and data["local"][0]["region"] == "Tumbes"


def test_cli_near_cusco_text() -> None:
    done = cli("--near", "-13.53,-71.97")
    first = next(line for line in done.stdout.splitlines() if line.startswith("📍"))
    assert done.returncode == 0 and "Cusco" in first and "Cusco" in done.stdout.splitlines()[0]


@pytest.mark.parametrize(("args", "message"), [
    (("--near", "abc"), "--near wants LAT,LON"), (("--near", "95,200"), "not a point on Earth"),
    (("--need", ""), "the need is empty"), (("--need", "lawyer"), "unknown need 'lawyer'"),
    (("--limit", "0"), "--limit must be at least 1"),
])  # fmt: skip
def test_cli_bad_input(args: tuple[str, ...], message: str) -> None:
    done = cli(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--place", "Atlantis"), "No encontré ese lugar"), (("--near", "40.4,-3.7"), "fuera del Perú"),
])  # fmt: skip
def test_cli_unknown_place_or_abroad(args: tuple[str, ...], message: str) -> None:
    done = cli(*args)
    assert done.returncode == 0 and message in done.stdout and "En todo el país" in done.stdout


def test_chat_location_after_services_near_me_gives_tumbes(chat) -> None:
    conversation = chat("es")
    conversation.say("9")  # services near me
    conversation.say("1")  # any help
    replies = conversation.say("/location -3.57,-80.45")
    assert "Tumbes" in replies[0].splitlines()[0]
    assert "Llama antes de ir" in replies[0] and "Datos de ene 2023" in replies[0]
    stored = json.dumps(conversation.session.to_dict())
    assert "3.57" not in stored and "80.45" not in stored  # the point is not kept
    assert conversation.session.data["services"]["region"] == "Tumbes"


def test_chat_typed_place_region_list_and_more(chat) -> None:
    conversation = chat("es")
    conversation.say("servicios cerca")
    conversation.say("3")  # shelter (third button: any, legal, psychosocial, shelter...)
    replies = conversation.say("Cuzco")
    assert "Cusco" in replies[0]
    more = conversation.say("más")
    assert more and more[0] != replies[0]
    conversation.say("servicios cerca")
    conversation.say("1")
    regions = conversation.say("Elegir mi región")
    assert "Tumbes" in regions[0] and "Ucayali" in regions[0]
    picked = conversation.say("Tumbes")
    assert "Tumbes" in picked[0].splitlines()[0]


TYPED_NEEDS = {
    "es": ("sjl", "legal"),
    "en": ("tacna", "shelter"),
    "pt": ("cusco", "saude"),
    "fr": ("tumbes", "juridique"),
}


@pytest.mark.parametrize("lang_code", LANGS)
def test_the_kind_of_help_can_be_typed_or_skipped_with_a_place(chat, lang_code: str) -> None:
    """At "what kind of help?", a typed place means any help there; a word of a need
    picks it; anything else asks again with both ways, never a dead end."""
    place, need = TYPED_NEEDS[lang_code]
    conversation = chat(lang_code)
    conversation.say("9")
    at_place = conversation.say(place)
    assert conversation.session.data["services"]["need"] is None
    assert conversation.session.data["services"]["origin"], at_place
    conversation.say("menu")
    conversation.say("9")
    conversation.say(need)
    assert conversation.session.node == "services.where"
    assert conversation.session.data["services"]["need"] is not None
    conversation.say("menu")
    conversation.say("9")
    again = conversation.say("xyzzy")
    assert conversation.session.node == "services.need"
    assert len(conversation.session.options) > 5, again


@pytest.mark.parametrize("lang_code", LANGS)
def test_chat_outside_peru_is_honest(engine: Engine, lang_code: str) -> None:
    session = Session(
        lang=lang_code, welcomed=True, node="services.where", data={"services": {"need": None}}
    )
    result = engine.handle(session, Inbound.location(40.4, -3.7))
    expected = engine.translator(lang_code)(
        "Parece que estás fuera del Perú. Estas opciones atienden en todo el país:"
    )
    assert result.messages[0].text.startswith(expected)


def test_location_shared_anywhere_searches(engine: Engine) -> None:
    result = engine.handle(
        Session(lang="es", welcomed=True, node="rights"), Inbound.location(-3.57, -80.45)
    )
    assert "Tumbes" in result.messages[0].text.splitlines()[0]


def test_referral_contacts_never_reach_a_person(engine: Engine) -> None:
    """Named focal points are for caseworkers: no search, in any language, shows them."""
    directory = load_directory()
    public = json.dumps([[s.phones, s.whatsapp, s.emails, s.web] for s in directory.services])
    secret: set[str] = set()
    for service in directory.services:
        for contact in service.caseworker_view()["referral_contacts"]:
            secret |= {
                v
                for k, v in contact.items()
                if k in ("name", "phone", "email") and v and v not in public
            }
    assert secret
    searcher = Searcher(directory, Gazetteer())
    from bot.directory import render

    outputs = []
    for region in Gazetteer().regions:
        for need in (None, *NEEDS):
            result = searcher.search(region=region.name, need=need, limit=50)
            outputs.append(json.dumps(render.as_json(result, directory, "es"), ensure_ascii=False))
            for lang in LANGS:
                outputs += render.pages(result, directory, engine.translator(lang), True)
    for lang in LANGS:
        for region in Gazetteer().regions[:5]:
            session = Session(
                lang=lang, welcomed=True, node="services.where", data={"services": {"need": None}}
            )
            outputs += [m.text for m in engine.handle(session, Inbound(text=region.name)).messages]
    blob = "\n".join(outputs)
    leaked = sorted(value for value in secret if value in blob)
    assert not leaked


ASKED_ANYWHERE = {
    "es": [("estoy en tacna", "Tacna", None), ("necesito un psicologo en arequipa cercado", "Arequipa", "psychosocial")],
    "en": [("i am in tacna. where i can go for help?", "Tacna", None), ("i need a shelter in puerto maldonado", "Puerto Maldonado", "shelter")],
    "pt": [("to em iñapari, tem ajuda aqui?", "Iñapari", None), ("sjl", "San Juan de Lurigancho", None)],
    "fr": [("je suis a cusco, ou je peux trouver de l'aide ?", "Cusco", None), ("je cherche un hebergement a lima", "Lima", "shelter")],
}  # fmt: skip


@pytest.mark.parametrize("lang_code", LANGS)
def test_a_place_asked_about_in_own_words_gets_a_search_from_anywhere(chat, lang_code: str) -> None:
    """At the menu or in the middle of a topic, "estoy en tacna" is a search there,
    with the kind of help the words name; a place in a story is not."""
    for text, origin, need in ASKED_ANYWHERE[lang_code]:
        conversation = chat(lang_code)
        conversation.say("5")  # somewhere else first: the rights menu
        replies = conversation.say(text)
        st = conversation.session.data["services"]
        assert (st["origin"], st["need"]) == (origin, need), (text, replies)
        assert conversation.session.stack, "back returns to where they were"
    conversation = chat("en")
    conversation.say("i ate nothing today")
    assert "services" not in conversation.session.data


def test_a_kind_of_help_named_alone_asks_only_where(chat) -> None:
    conversation = chat("es")
    conversation.say("alojamiento")
    assert conversation.session.node == "services.where"
    assert conversation.session.data["services"]["need"] == "shelter"
    conversation.say("menu")
    conversation.say("hay algun albergue?")  # the services topic, with its need
    assert conversation.session.node == "services.where"
