"""Reading a services request typed in a person's own words (`typed.yaml`).

Outside the "services near me" steps people write "estoy en tacna", "i need a
shelter in puerto maldonado" or just "sjl". This finds the kind of help named, and
whether a message that names a place is asking for help there, with the same
tolerant phrase matcher as the conversation.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.directory.gazetteer import Gazetteer, Place
from bot.directory.model import NEEDS
from bot.engine.matching import PhraseIndex

TYPED_PATH = Path(__file__).with_name("typed.yaml")
ASKING = "asking"


class TypedRequest:
    def __init__(self, gazetteer: Gazetteer, path: Path = TYPED_PATH) -> None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        unknown = set(raw["needs"]) - set(NEEDS)
        if unknown:
            raise ValueError(f"{path.name}: unknown need codes {sorted(unknown)}")
        entries = [(w, code) for code, words in raw["needs"].items() for w in words]
        self._needs = PhraseIndex(entries)
        self._asking = PhraseIndex((w, ASKING) for w in raw[ASKING])
        self.gazetteer = gazetteer

    def need(self, text: str) -> str | None:
        """The kind of help named: the longest phrase wins ("asesoria legal")."""
        found = self._needs.find(self._needs.prepare(text))
        return max(found, key=lambda m: (m.length, -m.start)).target if found else None

    def place_asked(self, text: str) -> Place | None:
        """The place a message asks about: a known place with an asking word or a need,
        or a message that is nothing but the place ("tacna", "sjl")."""
        place = self.gazetteer.resolve(text)
        if place is None:
            return None
        if self.need(text) or self._asking.find(self._asking.prepare(text)):
            return place
        return place if self.gazetteer.resolve_whole(text) else None
