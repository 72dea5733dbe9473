"""`python -m bot services [--near LAT,LON | --place NAME] [--need CODE] [--limit N] [--json]`.

For caseworkers, scripts and checks. Bad input (malformed coordinates, an unknown or
empty need) gets a one-line explanation and exit status 2; an unknown place or a point
outside Peru is not an error: the answer says so and lists the national options.
"""

from __future__ import annotations

import json
import re
from typing import TextIO

from bot.directory import render
from bot.directory.gazetteer import Gazetteer
from bot.directory.hotlines import localized
from bot.directory.model import DirectoryError, load_directory
from bot.directory.search import Searcher, SearchError
from bot.engine.i18n import Catalogs, Translator
from bot.paths import LOCALES_DIR

COORDS = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def parse_point(text: str) -> tuple[float, float]:
    match = COORDS.match(text)
    if not match:
        raise SearchError(
            f"--near wants LAT,LON in decimal degrees, e.g. -12.05,-77.04 (got '{text}')"
        )
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise SearchError(f"--near: {lat},{lon} is not a point on Earth")
    return lat, lon


def run(
    out: TextIO,
    err: TextIO,
    near: str | None = None,
    place: str | None = None,
    need: str | None = None,
    limit: int = 5,
    as_json: bool = False,
    lang: str = "es",
) -> int:
    try:
        if limit < 1:
            raise SearchError("--limit must be at least 1")
        directory = load_directory()
        searcher = Searcher(directory, Gazetteer())
        point = parse_point(near) if near is not None else None
        result = searcher.search(point=point, place=place, need=need, limit=limit)
    except (SearchError, DirectoryError) as exc:
        err.write(f"error: {exc}\n")
        return 2
    result.national = result.national[:limit]
    if as_json:
        json.dump(render.as_json(result, directory, lang), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return 0
    translator = Translator(Catalogs(LOCALES_DIR), lang, lambda i: directory.hotlines[i].number)
    for page in render.pages(result, directory, translator, with_distance=point is not None):
        out.write(page + "\n\n")
    lines = ", ".join(f"{h.number} ({localized(h.name, lang)})" for h in result.hotlines)
    out.write(f"24h / {lines}\n")
    return 0
