"""Composition root: builds the engine from the data files and the capabilities.

This is the only module that knows every capability; the engine only knows the
handler names that the flows use.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from bot import interim, paths
from bot.directory.hotlines import handlers as hotline_handlers
from bot.directory.hotlines import load_hotlines
from bot.engine.actions import Registry, builtin
from bot.engine.engine import Engine
from bot.engine.flows import load_flows
from bot.engine.i18n import Catalogs


def build_engine(
    flows_dir: Path = paths.FLOWS_DIR,
    locales_dir: Path = paths.LOCALES_DIR,
    directory_path: Path = paths.DIRECTORY_PATH,
) -> Engine:
    lines = load_hotlines(directory_path)
    registry = Registry()
    registry.update(builtin)
    registry.update(interim.handlers(lines))
    registry.update(hotline_handlers(lines))
    flows = load_flows(flows_dir, lines.keys(), registry.names())
    catalogs = Catalogs(locales_dir)
    phones = {line_id: line.number for line_id, line in lines.items()}
    return Engine(flows, catalogs, phones, registry)


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine on the repository's own data, built once per process."""
    return build_engine()
