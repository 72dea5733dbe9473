"""The four catalogs are complete, exact and usable on a phone."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot import paths
from bot.engine.engine import Engine
from bot.engine.flows import MAX_CHARS
from bot.engine.i18n import placeholders, po_path
from bot.engine.types import LANGS, Inbound, Session

TYPEABLE = re.compile(r"«\s*([^»]+?)\s*»")


@cache
def extracted() -> frozenset[str]:
    """Every msgid of the code and flows as `pybabel extract` sees it right now."""
    with (paths.ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found = extract_from_dir(str(paths.ROOT), method_map, options_map, keywords=keywords)
    return frozenset(message for _, _, message, _, _ in found if message)


@cache
def catalog(lang: str) -> Catalog:
    with po_path(paths.LOCALES_DIR, lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def test_extraction_finds_flows_and_python() -> None:
    ids = extracted()
    assert "¿En qué te puedo ayudar? Escribe el número o toca una opción." in ids  # a flow
    assert "24 horas" in ids  # Python
    assert len(ids) > 60


def test_template_is_current() -> None:
    with (paths.LOCALES_DIR / "messages.pot").open("rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    assert template == set(extracted()), "run `make i18n`"


def test_catalog_is_complete(lang: str) -> None:
    cat = catalog(lang)
    missing = [msgid for msgid in extracted() if not (cat.get(msgid) and cat.get(msgid).string)]
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:3]}"
    assert not fuzzy, f"{lang}: fuzzy entries need review: {fuzzy[:3]}"


def test_placeholders_match(lang: str) -> None:
    for message in catalog(lang):
        if message.id and message.string:
            assert placeholders(message.id) == placeholders(message.string), (lang, message.id)


def test_translations_fit_a_phone_screen(engine: Engine, lang: str) -> None:
    t = engine.translator(lang)
    for msgid in extracted():
        assert len(t(msgid)) <= MAX_CHARS, (lang, msgid[:60])


def test_typeable_words_work_in_their_language(engine: Engine, lang: str) -> None:
    """A word the bot tells people to type («menú», «emergency»...) must do something."""
    t = engine.translator(lang)
    for msgid in extracted():
        for word in TYPEABLE.findall(t(msgid)):
            session = Session(lang=lang, welcomed=True, node="rights")
            result = engine.handle(session, Inbound(text=word))
            unknown = engine.translator(lang)(engine.flows.node("sys.unknown").pages[0])
            assert result.messages[0].text != unknown, (lang, word)


def test_runtime_uses_no_fallback(engine: Engine, lang: str) -> None:
    """Walking every node in every language triggers no Spanish fallback."""
    for node_id in engine.flows.nodes:
        engine.handle(
            Session(lang=lang, welcomed=True, node=node_id),
            Inbound(payload=f"go:{node_id}", internal=True),
        )
    assert not [m for m in engine.catalogs.missing if m[0] == lang]


@pytest.mark.parametrize("code", LANGS)
def test_catalog_header_language(code: str) -> None:
    assert str(catalog(code).locale).startswith(code)


TU = re.compile(r"\b(tu|ton|ta|tes|toi|te|t')(?=\W)", re.IGNORECASE)
VOUS = re.compile(r"\b(vous|votre|vos)\b", re.IGNORECASE)
# The Spanish sources written for a child (`urgent_notice_text`, the children's nodes):
# French says "tu" to a child. Every other French message says "vous".
CHILD_WORDS = ("cuidarte", "protección de la niñez", "Línea {tel:1810} o a la Policía",
               "te va a escribir aquí en unos 15", "importante, y no es tu culpa",
               "llama a las líneas de arriba")  # fmt: skip


def test_french_says_vous_to_adults_and_tu_only_to_a_child() -> None:
    """The persona review: one French conversation said "tu" in one message and "vous"
    in the next (the self-harm answer)."""
    mixed = []
    for message in catalog("fr"):
        text = message.string if isinstance(message.string, str) else " ".join(message.string)
        if not message.id or not TU.search(text):
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        if VOUS.search(text) or not any(w in source for w in CHILD_WORDS):
            mixed.append(source[:60])
    assert mixed == [], mixed
