"""Conversation flows as data: loading and validation of `flows/*.yaml`.

Protection staff edit guidance in YAML, not Python. Every mistake that could leave a
frightened person stuck or misinformed is a load error naming the file and node:
an unknown target, an unreachable node, a node with no way back to the menu, a phone
number typed into the text instead of referenced from the vetted table, a message
too long for a phone screen, a fact without its `source:`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot.engine.i18n import PLACEHOLDER

MAX_CHARS = 700
MENU = "menu"
LANGUAGE = "language"
EMERGENCY = "emergency"
WELCOME = "welcome"
NOT_NOW = "not_now"  # the discreet exit; the next greeting asks the safety check again
SAFETY_CHECK = "safety_check"  # the welcome's question; a held request waits for its "yes"
HELP = "help"
STOP = "stop"
DELETE = "delete"
UNKNOWN = "sys.unknown"
MEDIA = "sys.media"
# A reply suited to a media kind, where one exists: "sys.media.<kind>", else MEDIA.
MEDIA_SUITED = tuple(f"{MEDIA}.{kind}" for kind in ("document", "contact", "other"))
LOCATION_UNHANDLED = "sys.location"
NO_MORE = "sys.no_more"
THANKS = "thanks"
QUICK_EXIT = "quick_exit"
# Asking for a person opens a case at once, even as the first message, before the
# language menu and the welcome (DESIGN.md: any explicit request for a person).
ASK_PERSON = "human"
HOTLINES = "hotlines"  # the list of numbers
# Nodes the engine itself shows (commands, first contact, input it cannot use).
SYSTEM_NODES = (
    ASK_PERSON,
    MENU,
    LANGUAGE,
    EMERGENCY,
    WELCOME,
    HELP,
    STOP,
    DELETE,
    UNKNOWN,
    MEDIA,
    LOCATION_UNHANDLED,
    NO_MORE,
    THANKS,
    QUICK_EXIT,
    *MEDIA_SUITED,
)
COMMANDS_FILE = "commands.yaml"
COMMAND_NAMES = (
    "menu", "back", "help", "language", "stop", "delete", "more", "start", "thanks", "exit",
)  # fmt: skip
# A run of three or more digits, possibly split by spaces or dashes, is a phone number
# unless a unit of time follows it ("183 días").
PHONE_LIKE = re.compile(
    r"(?<![\w{:])\d(?:[\s-]?\d){2,}(?![\d}])(?!\s*(?:días|dias|days|jours|horas|hours|heures))",
    re.IGNORECASE,
)
_SCHEMA_PATH = Path(__file__).resolve().parents[2] / "flows" / "schema.json"


class FlowError(ValueError):
    """The flows cannot be served. The message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid flows:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Option:
    label: str
    goto: str | None = None
    action: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    id: str
    file: str
    type: str
    pages: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    next: str | None = None
    action: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    outcomes: Mapping[str, str] = field(default_factory=dict)
    input: str | None = None
    location: str | None = None
    keywords: tuple[str, ...] = ()
    if_negated: str | None = None
    # Phrases of someone who does not know what to ask ("¿y ahora qué hago?"): they lead
    # here only when no topic, option or node's own reading understood the message, and
    # only when they make at least half of it.
    when_lost: tuple[str, ...] = ()
    source: str | None = None
    fact: bool = True
    nav: bool = True
    translate: bool = True
    request_location: bool = False
    choice: str | None = None  # a choice code recorded when the node is shown
    answers: Mapping[str, int] = field(default_factory=dict)  # yes/no/unsure -> option
    unknown: str | None = None  # where text the node cannot use leads (default: itself)

    def targets(self) -> list[str]:
        """Nodes this node can lead to by its own edges."""
        out = [o.goto for o in self.options if o.goto]
        if self.next:
            out.append(self.next)
        if self.if_negated:
            out.append(self.if_negated)
        out.extend(self.outcomes.values())
        if self.unknown:
            out.append(self.unknown)
        return out

    def texts(self) -> list[str]:
        """Every translatable string of the node (pages and option labels)."""
        return [*self.pages, *(o.label for o in self.options)]


@dataclass(frozen=True)
class Flow:
    name: str
    file: str
    title: str
    description: str
    entry: str


@dataclass
class FlowSet:
    flows: list[Flow]
    nodes: dict[str, Node]
    commands: dict[str, tuple[str, ...]]
    emergency_words: tuple[str, ...]
    negations: tuple[str, ...]

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def topics(self) -> Iterable[tuple[str, str]]:
        for node in self.nodes.values():
            for word in node.keywords:
                yield word, node.id

    def lost(self) -> Iterable[tuple[str, str]]:
        for node in self.nodes.values():
            for phrase in node.when_lost:
                yield phrase, node.id


def _schema() -> dict[str, Any]:
    with _SCHEMA_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path.name}: cannot be read: {exc}")
        return None


def _check_words(value: Any, where: str, problems: list[str]) -> None:
    """YAML reads a bare `no`, `on` or `yes` as a boolean: every word must be text."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_words(item, f"{where}: {key}", problems)
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                problems.append(f"{where}: {item!r} is not text; put it in quotes")


def _as_pages(text: str | list[str] | None) -> tuple[str, ...]:
    if text is None:
        return ()
    if isinstance(text, str):
        return (text.strip(),)
    return tuple(t.strip() for t in text)


def _build_node(node_id: str, file: str, raw: Mapping[str, Any]) -> Node:
    return Node(
        id=node_id,
        file=file,
        type=raw["type"],
        pages=_as_pages(raw.get("text")),
        options=tuple(
            Option(o["label"], o.get("goto"), o.get("action"), dict(o.get("params") or {}))
            for o in raw.get("options") or []
        ),
        next=raw.get("next"),
        action=raw.get("action"),
        params=dict(raw.get("params") or {}),
        outcomes=dict(raw.get("outcomes") or {}),
        input=raw.get("input"),
        location=raw.get("location"),
        keywords=tuple(raw.get("keywords") or ()),
        if_negated=raw.get("if_negated"),
        when_lost=tuple(raw.get("when_lost") or ()),
        source=raw.get("source"),
        fact=raw.get("fact", True),
        nav=raw.get("nav", True),
        translate=raw.get("translate", True),
        request_location=raw.get("request_location", False),
        choice=raw.get("choice"),
        answers=dict(raw.get("answers") or {}),
        unknown=raw.get("unknown"),
    )


def load_flows(
    flows_dir: Path,
    hotline_ids: Iterable[str],
    handler_names: Iterable[str],
    entry_points: Iterable[str] = (),
) -> FlowSet:
    """Load and validate every flow file; raise FlowError listing all problems.

    `entry_points` are nodes the engine shows on its own besides the system nodes
    (e.g. where a shared location lands); they must exist and count as reachable.
    """
    problems: list[str] = []
    validator = jsonschema.Draft202012Validator(_schema())
    flows: list[Flow] = []
    nodes: dict[str, Node] = {}
    for path in sorted(flows_dir.glob("*.yaml")):
        if path.name == COMMANDS_FILE:
            continue
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
        for err in errors:
            where = "/".join(str(p) for p in err.absolute_path) or "(top)"
            problems.append(f"{path.name}: {where}: {err.message}")
        if errors:
            continue
        flows.append(
            Flow(raw["flow"], path.name, raw["title"], raw["description"].strip(), raw["entry"])
        )
        for node_id, node_raw in raw["nodes"].items():
            for key in node_raw.get("outcomes") or {}:
                if not isinstance(key, str):
                    problems.append(
                        f"{path.name}: node '{node_id}': outcome {key!r} is not text; "
                        "YAML reads a bare yes/no/on as true/false: put it in quotes"
                    )
            if node_id in nodes:
                problems.append(
                    f"{path.name}: node '{node_id}' is already defined in {nodes[node_id].file}"
                )
                continue
            nodes[node_id] = _build_node(node_id, path.name, node_raw)

    commands_raw = _read_yaml(flows_dir / COMMANDS_FILE, problems) or {}
    _check_words(commands_raw, COMMANDS_FILE, problems)
    commands = {
        name: tuple(commands_raw.get("commands", {}).get(name) or ()) for name in COMMAND_NAMES
    }
    for name, words in commands.items():
        if not words:
            problems.append(f"{COMMANDS_FILE}: command '{name}' has no words")
    emergency_words = tuple(commands_raw.get("emergency") or ())
    if not emergency_words:
        problems.append(f"{COMMANDS_FILE}: no emergency words")
    negations = tuple(commands_raw.get("negations") or ())

    flowset = FlowSet(flows, nodes, commands, emergency_words, negations)
    problems.extend(_check(flowset, set(hotline_ids), set(handler_names), set(entry_points)))
    if problems:
        raise FlowError(problems)
    return flowset


def _check(
    fs: FlowSet, hotlines: set[str], handlers: set[str], entry_points: set[str]
) -> list[str]:
    problems: list[str] = []
    nodes = fs.nodes
    for required in (*SYSTEM_NODES, *sorted(entry_points)):
        if required not in nodes:
            problems.append(f"the required node '{required}' is missing")
    for flow in fs.flows:
        if flow.entry not in nodes:
            problems.append(f"{flow.file}: entry '{flow.entry}' is not a node")

    for node in nodes.values():
        where = f"{node.file}: node '{node.id}'"
        for target in node.targets():
            if target not in nodes:
                problems.append(f"{where}: leads to unknown node '{target}'")
        names = [node.action, node.input, node.location, *(o.action for o in node.options)]
        for name in names:
            if name and name not in handlers:
                problems.append(f"{where}: unknown action '{name}'")
        if node.type == "action" and not node.action:
            problems.append(f"{where}: an action node needs 'action'")
        if node.type == "menu" and not node.options:
            problems.append(f"{where}: a menu needs options")
        if node.type != "action" and not node.pages:
            problems.append(f"{where}: has no text")
        for text in node.texts():
            for match in PLACEHOLDER.finditer(text):
                if match.group(1) == "tel" and match.group(2) not in hotlines:
                    problems.append(
                        f"{where}: '{match.group(0)}' is not in the vetted hotline table"
                    )
            stripped = PLACEHOLDER.sub("", text)
            for number in PHONE_LIKE.findall(stripped):
                problems.append(
                    f"{where}: the number '{number.strip()}' is written in the text; "
                    "reference the vetted table with {tel:ID}"
                )
        for i, page in enumerate(node.pages, 1):
            if len(page) > MAX_CHARS:
                problems.append(f"{where}: page {i} has {len(page)} characters (max {MAX_CHARS})")
        states_fact = any("{tel:" in t for t in node.texts())
        shows_text = bool(node.pages)
        if (node.fact or states_fact) and shows_text and not node.source:
            problems.append(f"{where}: states facts but has no 'source:'")

    # Reachability: from the nodes the engine shows itself and from every typed topic.
    roots = (
        set(SYSTEM_NODES) | entry_points | {node_id for _, node_id in [*fs.topics(), *fs.lost()]}
    )
    seen: set[str] = set()
    todo = [r for r in roots if r in nodes]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(t for t in nodes[current].targets() if t in nodes)
    for node_id in sorted(set(nodes) - seen):
        problems.append(f"{nodes[node_id].file}: node '{node_id}' cannot be reached")

    # A way back to the menu: the navigation buttons, or the node's own edges.
    # The quick exit ends the conversation on purpose, buttonless: its next message
    # starts again from the welcome.
    back: set[str] = {MENU, QUICK_EXIT} | {n.id for n in nodes.values() if n.nav}
    changed = True
    while changed:
        changed = False
        for node in nodes.values():
            if node.id not in back and any(t in back for t in node.targets()):
                back.add(node.id)
                changed = True
    for node_id in sorted(set(nodes) - back):
        problems.append(f"{nodes[node_id].file}: node '{node_id}' has no way back to the menu")
    return problems
