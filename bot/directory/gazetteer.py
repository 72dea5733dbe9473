"""Peru gazetteer: typed place names to coordinates and regions.

People type "tumbes", "SJL", "Cuzco", "lima norte", often without accents or with a
typo; the same tolerant phrase matcher as the conversation resolves them. A shared
point is mapped to a region (the nearest known place) only so the session can keep
the region, never the point.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from bot.engine.matching import PhraseIndex
from bot.engine.normalize import normalize

GAZETTEER_PATH = Path(__file__).with_name("gazetteer.json")
EARTH_RADIUS_KM = 6371.0088
# Peru's bounding box, and how far from any known Peruvian place a point may be before
# we say honestly that it looks outside Peru (Leticia, Colombia is ~370 km from Iquitos).
PERU_BOX = (-18.40, -0.03, -81.40, -68.60)
MAX_KM_FROM_KNOWN_PLACE = 300.0


@dataclass(frozen=True)
class Place:
    name: str
    region: str
    lat: float
    lon: float
    kind: str  # region | city | district | area


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class Gazetteer:
    def __init__(self, path: Path = GAZETTEER_PATH) -> None:
        with path.open(encoding="utf-8") as fh:
            raw = json.load(fh)
        self.regions: list[Place] = [
            Place(r["name"], r["name"], r["lat"], r["lon"], "region") for r in raw["regions"]
        ]
        self.places: list[Place] = [
            Place(p["name"], p["region"], p["lat"], p["lon"], p["kind"]) for p in raw["places"]
        ]
        entries: list[tuple[str, Place]] = []
        for raw_region, place in zip(raw["regions"], self.regions, strict=True):
            entries += [(v, place) for v in {raw_region["name"], *raw_region.get("variants", [])}]
        for raw_place, place in zip(raw["places"], self.places, strict=True):
            entries += [(v, place) for v in {raw_place["name"], *raw_place.get("variants", [])}]
        self._index = PhraseIndex(entries)
        self._by_region = {normalize(r.name): r for r in self.regions}

    def region(self, name: str) -> Place | None:
        return self._by_region.get(normalize(name))

    def resolve(self, text: str) -> Place | None:
        """The place a person typed: the longest name found in the message.

        A city or district wins over a region of the same length ("Tumbes" the
        city, not the department), since it is the more precise point.
        """
        matches = self._index.find(self._index.prepare(text))
        if not matches:
            return None
        # "arequipa cercado": a place in a region the message also names wins over a
        # same-named place elsewhere (Cercado de Lima).
        named = {m.target.region for m in matches if m.target.kind in ("region", "city")}
        inside = [m for m in matches if m.target.region in named]
        if named and inside:
            matches = inside
        precision = {"district": 3, "area": 2, "city": 2, "region": 1}
        best = max(matches, key=lambda m: (m.length, precision.get(m.target.kind, 0)))
        return best.target

    def resolve_whole(self, text: str) -> Place | None:
        """The place when the message is nothing but its name ("tacna", "sjl")."""
        return self._index.exact(self._index.prepare(text))

    def locate(self, lat: float, lon: float) -> Place | None:
        """The nearest known place to a point, or None when the point is outside Peru."""
        south, north, west, east = PERU_BOX
        if not (south <= lat <= north and west <= lon <= east):
            return None
        nearest = min(
            [*self.places, *self.regions], key=lambda p: haversine_km(lat, lon, p.lat, p.lon)
        )
        if haversine_km(lat, lon, nearest.lat, nearest.lon) > MAX_KM_FROM_KNOWN_PLACE:
            return None
        return nearest
