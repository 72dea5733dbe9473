"""Composition root: builds the engine from the data files and the capabilities.

This is the only module that knows every capability; the engine only knows the
handler names that the flows use.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from bot import paths
from bot.cases import handlers as case_handlers
from bot.config import DEFAULT_HOURS
from bot.directory import handlers as directory_handlers
from bot.directory.gazetteer import Gazetteer
from bot.directory.hotlines import handlers as hotline_handlers
from bot.directory.model import load_directory
from bot.engine.actions import Registry, builtin
from bot.engine.engine import Engine
from bot.engine.flows import load_flows
from bot.engine.i18n import Catalogs
from bot.hours import OperatorHours
from bot.risk import assess

# Where a location shared at any point of the conversation lands.
LOCATION_NODE = "services.near"
TYPED_NODE = "services.typed"  # words not otherwise understood, read as a services request
# Nodes the engine reaches without an edge of the flows.
ENTRY_POINTS = (LOCATION_NODE, TYPED_NODE, *case_handlers.ENTRY_NODES)


def build_engine(
    flows_dir: Path = paths.FLOWS_DIR,
    locales_dir: Path = paths.LOCALES_DIR,
    directory_path: Path = paths.DIRECTORY_PATH,
    operator_hours: str | None = None,
    clock: Callable[[], datetime] | None = None,
    on_call: bool | None = None,
) -> Engine:
    """The production engine. `on_call`: urgent cases also alert an on-call chat
    (default: whether OPERATOR_ALERT_TELEGRAM_CHAT is set), which the urgent notice says."""
    directory = load_directory(directory_path)
    lines = directory.hotlines
    registry = Registry()
    registry.update(builtin)
    registry.update(hotline_handlers(lines))
    registry.update(directory_handlers.handlers(directory, Gazetteer()))
    hours = OperatorHours.parse(operator_hours or os.environ.get("OPERATOR_HOURS") or DEFAULT_HOURS)
    if on_call is None:
        on_call = bool(os.environ.get("OPERATOR_ALERT_TELEGRAM_CHAT"))
    registry.update(case_handlers.handlers(hours, on_call=on_call))
    flows = load_flows(flows_dir, lines.keys(), registry.names(), ENTRY_POINTS)
    catalogs = Catalogs(locales_dir)
    phones = {line_id: line.number for line_id, line in lines.items()}
    return Engine(
        flows,
        catalogs,
        phones,
        registry,
        interceptors=[case_handlers.interceptor(assess)],
        location_node=LOCATION_NODE,
        fallback_node=TYPED_NODE,
        emergency_follow=case_handlers.EMERGENCY_NODE,
        **({"clock": clock} if clock else {}),
    )


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine on the repository's own data, built once per process."""
    return build_engine()
