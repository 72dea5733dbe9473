"""Composition root: builds the engine from the data files and the capabilities.

This is the only module that knows every capability; the engine only knows the
handler names that the flows use.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from bot import interim, paths
from bot.directory import handlers as directory_handlers
from bot.directory.gazetteer import Gazetteer
from bot.directory.hotlines import handlers as hotline_handlers
from bot.directory.model import load_directory
from bot.engine.actions import Registry, builtin
from bot.engine.engine import Engine
from bot.engine.flows import load_flows
from bot.engine.i18n import Catalogs

# Where a location shared at any point of the conversation lands.
LOCATION_NODE = "services.near"


def build_engine(
    flows_dir: Path = paths.FLOWS_DIR,
    locales_dir: Path = paths.LOCALES_DIR,
    directory_path: Path = paths.DIRECTORY_PATH,
) -> Engine:
    directory = load_directory(directory_path)
    lines = directory.hotlines
    registry = Registry()
    registry.update(builtin)
    registry.update(interim.handlers(lines))
    registry.update(hotline_handlers(lines))
    registry.update(directory_handlers.handlers(directory, Gazetteer()))
    flows = load_flows(flows_dir, lines.keys(), registry.names(), (LOCATION_NODE,))
    catalogs = Catalogs(locales_dir)
    phones = {line_id: line.number for line_id, line in lines.items()}
    return Engine(flows, catalogs, phones, registry, location_node=LOCATION_NODE)


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine on the repository's own data, built once per process."""
    return build_engine()
