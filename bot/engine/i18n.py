"""Translation catalogs and message templates.

Spanish flow text is the msgid. Catalogs are read straight from the `.po` files with
Babel (no compile step that could go stale), one dictionary per language, and every
lookup names its language: there is no process-global gettext, so two people in two
languages can be served by the same process at once.

A missing or fuzzy translation falls back to Spanish so that a person never gets an
empty message; it is logged once (the msgid is our own content, not personal data)
and recorded in `missing` so the tests fail on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from babel.messages.pofile import read_po

from bot.engine.types import LANGS, SOURCE_LANG

log = logging.getLogger(__name__)

# `{tel:100}` references a line of the vetted hotline table; `{name}` is a parameter.
PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([A-Za-z0-9_-]+))?\}")
CATALOG_DOMAIN = "messages"


def N_(msgid: str) -> str:
    """Mark a Python string for extraction; it is translated where it is shown."""
    return msgid


def placeholders(text: str) -> set[str]:
    """The placeholders of a template, e.g. {'tel:100', 'hours'}."""
    return {m.group(0)[1:-1] for m in PLACEHOLDER.finditer(text)}


def po_path(locales_dir: Path, lang: str) -> Path:
    return locales_dir / lang / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po"


class Catalogs:
    """All four catalogs, loaded once per process."""

    def __init__(self, locales_dir: Path) -> None:
        self._tables: dict[str, dict[str, str]] = {}
        self.missing: set[tuple[str, str]] = set()
        for lang in LANGS:
            table: dict[str, str] = {}
            path = po_path(locales_dir, lang)
            if path.exists():
                with path.open("rb") as fh:
                    catalog = read_po(fh, locale=lang)
                for message in catalog:
                    if message.id and message.string and not message.fuzzy:
                        table[str(message.id)] = str(message.string)
            self._tables[lang] = table

    def gettext(self, lang: str, msgid: str) -> str:
        if not msgid:
            return msgid
        found = self._tables.get(lang, {}).get(msgid)
        if found:
            return found
        if lang != SOURCE_LANG and (lang, msgid) not in self.missing:
            self.missing.add((lang, msgid))
            log.warning("missing %s translation for a %d-char message", lang, len(msgid))
        return msgid


class Translator:
    """Translation and placeholder filling for one language."""

    def __init__(
        self,
        catalogs: Catalogs,
        lang: str,
        phone: Callable[[str], str],
    ) -> None:
        self.catalogs = catalogs
        self.lang = lang if lang in LANGS else SOURCE_LANG
        self._phone = phone

    def __call__(self, msgid: str, **params: object) -> str:
        return self.fill(self.catalogs.gettext(self.lang, msgid), params)

    def fill(self, template: str, params: Mapping[str, object] | None = None) -> str:
        params = params or {}

        def sub(match: re.Match[str]) -> str:
            name, arg = match.group(1), match.group(2)
            if name == "tel" and arg:
                return self._phone(arg)
            if arg is None and name in params:
                return str(params[name])
            return match.group(0)

        return PLACEHOLDER.sub(sub, template)
