"""Nearest-service search: from a shared point, a typed place or a chosen region.

Local offices come first, by great-circle distance; then the services that cover the
whole country, then the 24-hour lines, which are always there. A person outside Peru,
at an unknown place, or in a region with no local office is told so plainly and still
gets the national options: a search never comes back empty.

The shared point is an argument, never stored or logged; the result carries only the
region, which is all the session may keep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bot.directory.gazetteer import EARTH_RADIUS_KM, Gazetteer, Place
from bot.directory.hotlines import Hotline, ordered
from bot.directory.model import NEEDS, Directory, Office, Service

ANY = "any"
_Entry = tuple[Service, Office, float, float, float]


class SearchError(ValueError):
    """A search request that cannot be understood (e.g. an unknown need)."""


@dataclass(frozen=True)
class Hit:
    service: Service
    office: Office
    distance_km: float | None


@dataclass
class SearchResult:
    need: str | None
    origin: Place | None = None
    outside_peru: bool = False
    unknown_place: bool = False
    local: list[Hit] = field(default_factory=list)
    nearby: list[Hit] = field(default_factory=list)
    national: list[Service] = field(default_factory=list)
    hotlines: list[Hotline] = field(default_factory=list)
    more_local: int = 0
    continued: bool = False  # a "see more" page: the local offices were shown before

    @property
    def region(self) -> str | None:
        return self.origin.region if self.origin else None


def check_need(need: str | None) -> str | None:
    """None or "any" means every need; an empty or unknown code is a clear error."""
    choices = ", ".join((ANY, *NEEDS))
    if need is None or need == ANY:
        return None
    if not need.strip():
        raise SearchError(f"the need is empty: use one of {choices}")
    if need not in NEEDS:
        raise SearchError(f"unknown need '{need}': use one of {choices}")
    return need


def _serves(service: Service, need: str | None) -> bool:
    return need is None or need in service.needs


class Searcher:
    """Search over one directory; offices are flattened once at construction."""

    def __init__(self, directory: Directory, gazetteer: Gazetteer) -> None:
        self.directory = directory
        self.gazetteer = gazetteer
        # Offices with their coordinates in radians and the cosine of their latitude,
        # computed once: the distance loop below is the hot path of every search.
        self._offices: list[_Entry] = [
            (s, o, math.radians(o.lat), math.radians(o.lon), math.cos(math.radians(o.lat)))
            for s in directory.public_services()
            if s.kind != "hotline"
            for o in s.offices
        ]
        # Local results only ever come from the origin's region, so a search touches
        # that region's offices; the whole country is scanned only when it has none.
        self._by_region: dict[str, list[_Entry]] = {}
        for entry in self._offices:
            self._by_region.setdefault(entry[1].region, []).append(entry)

    def search(
        self,
        *,
        point: tuple[float, float] | None = None,
        place: str | None = None,
        region: str | None = None,
        need: str | None = None,
        limit: int = 3,
    ) -> SearchResult:
        need = check_need(need)
        result = SearchResult(need=need)
        if point is not None:
            result.origin = self.gazetteer.locate(*point)
            result.outside_peru = result.origin is None
        elif place is not None:
            result.origin = self.gazetteer.resolve(place)
            result.unknown_place = result.origin is None
        elif region is not None:
            result.origin = self.gazetteer.region(region)
            result.unknown_place = result.origin is None

        if result.origin is not None:
            lat, lon = point if point is not None else (result.origin.lat, result.origin.lon)
            local = self._nearest(self._by_region.get(result.origin.region, []), lat, lon, need)
            result.local = local[:limit]
            result.more_local = max(0, len(local) - limit)
            if not local:
                result.nearby = self._nearest(self._offices, lat, lon, need)[:limit]

        shown = {h.service.id for h in (*result.local, *result.nearby)}
        result.national = [
            s
            for s in self.directory.public_services()
            if s.national and s.kind != "hotline" and _serves(s, need) and s.id not in shown
        ]
        lines = ordered(self.directory.hotlines)
        result.hotlines = [
            h
            for h in lines
            if h.hours_24h or "emergency" in h.needs or (need is not None and need in h.needs)
        ]
        return result

    @staticmethod
    def _nearest(entries: list[_Entry], lat: float, lon: float, need: str | None) -> list[Hit]:
        """The nearest office of each service that serves the need, nearest first.

        Haversine, inlined over precomputed radians (same formula as haversine_km).
        """
        lat_r, lon_r = math.radians(lat), math.radians(lon)
        cos_lat = math.cos(lat_r)
        sin, asin, sqrt = math.sin, math.asin, math.sqrt
        best: dict[str, tuple[float, Service, Office]] = {}
        for service, office, o_lat, o_lon, o_cos in entries:
            if need is not None and need not in service.needs:
                continue
            a = sin((o_lat - lat_r) / 2) ** 2 + cos_lat * o_cos * sin((o_lon - lon_r) / 2) ** 2
            km = 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(a)))
            current = best.get(service.id)
            if current is None or km < current[0]:
                best[service.id] = (km, service, office)
        ranked = sorted(best.values(), key=lambda b: (b[0], b[1].id))
        return [Hit(service, office, km) for km, service, office in ranked]
