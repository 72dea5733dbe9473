"""Flow validation: every mistake that could strand or misinform a person fails at load."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot import paths
from bot.bootstrap import ENTRY_POINTS
from bot.engine.actions import STOPPED
from bot.engine.engine import Engine
from bot.engine.flows import MAX_CHARS, FlowError, FlowSet, load_flows
from bot.engine.types import Inbound, Session

TOPIC_WORDS = re.compile(
    r"\b(trata|trafficking|tr[aá]fico|traite|explota|exploit|denunc|plainte|complaint|report)", re.I
)


@pytest.fixture
def flows_copy(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(paths.FLOWS_DIR, target)
    return target


def _load(flows_dir: Path, engine: Engine) -> FlowSet:
    return load_flows(flows_dir, engine.phones.keys(), engine.handlers.names(), ENTRY_POINTS)


def _edit(flows_dir: Path, name: str, change) -> None:
    path = flows_dir / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _problems(flows_dir: Path, engine: Engine) -> str:
    with pytest.raises(FlowError) as info:
        _load(flows_dir, engine)
    return str(info.value)


def test_repository_flows_load(engine: Engine) -> None:
    flows = _load(paths.FLOWS_DIR, engine)
    assert {"menu", "emergency", "no_report", "reflection", "rights", "report"} <= set(flows.nodes)


def test_unknown_target_names_file_and_node(flows_copy: Path, engine: Engine) -> None:
    _edit(
        flows_copy,
        "rights.yaml",
        lambda d: d["nodes"]["rights"]["options"].append({"label": "X", "goto": "rights.nowhere"}),
    )
    assert "rights.yaml: node 'rights': leads to unknown node 'rights.nowhere'" in _problems(
        flows_copy, engine
    )


def test_unreachable_node(flows_copy: Path, engine: Engine) -> None:
    _edit(
        flows_copy,
        "rights.yaml",
        lambda d: d["nodes"].update(
            {"rights.orphan": {"type": "message", "text": "Hola.", "fact": False}}
        ),
    )
    assert "rights.yaml: node 'rights.orphan' cannot be reached" in _problems(flows_copy, engine)


def test_dead_end_without_way_back(flows_copy: Path, engine: Engine) -> None:
    def change(d: dict) -> None:
        d["nodes"]["rights.health"]["nav"] = False

    _edit(flows_copy, "rights.yaml", change)
    assert "node 'rights.health' has no way back to the menu" in _problems(flows_copy, engine)


def test_hotline_reference_must_be_vetted(flows_copy: Path, engine: Engine) -> None:
    def change(d: dict) -> None:
        d["nodes"]["emergency"]["text"] += "\nOtra: {tel:1819}"

    _edit(flows_copy, "emergency.yaml", change)
    assert "'{tel:1819}' is not in the vetted hotline table" in _problems(flows_copy, engine)


@pytest.mark.parametrize("number", ["1818", "0800-00-205", "947 951 412", "(01) 625-5555"])
def test_phone_number_typed_in_text_fails(flows_copy: Path, engine: Engine, number: str) -> None:
    def change(d: dict) -> None:
        d["nodes"]["report"]["text"] += f"\nLlama al {number}."

    _edit(flows_copy, "report.yaml", change)
    assert "is written in the text; reference the vetted table" in _problems(flows_copy, engine)


def test_durations_are_not_phone_numbers(engine: Engine) -> None:
    flows = _load(paths.FLOWS_DIR, engine)
    assert "183 días" in flows.node("rights.regularisation").pages[0]


def test_message_over_length_limit(flows_copy: Path, engine: Engine) -> None:
    def change(d: dict) -> None:
        d["nodes"]["rights.health"]["text"] = "palabra " * 100

    _edit(flows_copy, "rights.yaml", change)
    assert f"(max {MAX_CHARS})" in _problems(flows_copy, engine)


def test_fact_without_source(flows_copy: Path, engine: Engine) -> None:
    _edit(flows_copy, "rights.yaml", lambda d: d["nodes"]["rights.legal"].pop("source"))
    assert "node 'rights.legal': states facts but has no 'source:'" in _problems(flows_copy, engine)


def test_hotline_reference_cannot_hide_behind_fact_false(flows_copy: Path, engine: Engine) -> None:
    def change(d: dict) -> None:
        d["nodes"]["emergency"].pop("source")
        d["nodes"]["emergency"]["fact"] = False

    _edit(flows_copy, "emergency.yaml", change)
    assert "node 'emergency': states facts but has no 'source:'" in _problems(flows_copy, engine)


def test_schema_error_names_file_and_path(flows_copy: Path, engine: Engine) -> None:
    _edit(flows_copy, "rights.yaml", lambda d: d["nodes"]["rights"].update({"colour": "red"}))
    assert "rights.yaml: nodes/rights: Additional properties are not allowed" in _problems(
        flows_copy, engine
    )


def test_unknown_action(flows_copy: Path, engine: Engine) -> None:
    _edit(
        flows_copy,
        "hotlines.yaml",
        lambda d: d["nodes"]["hotlines"].update({"action": "nope.nothing"}),
    )
    assert "unknown action 'nope.nothing'" in _problems(flows_copy, engine)


def test_bare_yaml_boolean_in_commands(flows_copy: Path, engine: Engine) -> None:
    path = flows_copy / "commands.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('["no",', "[no,"), encoding="utf-8")
    assert "False is not text; put it in quotes" in _problems(flows_copy, engine)


def test_every_flow_has_a_description(engine: Engine) -> None:
    for flow in engine.flows.flows:
        assert len(flow.description) > 40, flow.file


def test_opening_message_first_line_is_neutral(engine: Engine, lang: str) -> None:
    """A notification preview must not reveal the topic to whoever holds the phone:
    the whole first bubble of the welcome, and the quick-exit answer, say nothing."""
    t = engine.translator(lang)
    for node_id in ("language", "welcome", "quick_exit"):
        node = engine.flows.node(node_id)
        text = t(node.pages[0]) if node.translate else node.pages[0]
        assert not TOPIC_WORDS.search(text), (lang, node_id, text)


def test_reopening_after_silence_first_line_is_neutral(engine: Engine, lang: str) -> None:
    """Whoever writes again, after a stop, a quick exit, an expired session or hours
    in the middle of a topic, and the operator's first words, reveal nothing first."""
    from bot.console.views import OPERATOR_MARK

    sessions = (
        Session(data={STOPPED: True}),
        Session(),
        Session(lang=lang, welcomed=True, node="no_report", data={STOPPED: True}),
        Session(lang=lang, welcomed=True, node="report"),
    )
    for session in sessions:
        for text in ("hola", "hi", "?"):
            first = engine.handle(session, Inbound(text=text)).messages[0].text
            assert not TOPIC_WORDS.search(first.splitlines()[0]), (session, text, first)
    assert not TOPIC_WORDS.search(engine.translator(lang)(OPERATOR_MARK))


def test_the_welcome_says_it_is_automated_and_who_may_read(engine: Engine, lang: str) -> None:
    text = engine.translator(lang)(engine.flows.node("welcome").pages[0]).lower()
    assert any(w in text for w in ("automático", "automated", "automatique")), text


def test_every_fact_node_cites_a_seed(engine: Engine) -> None:
    for node in engine.flows.nodes.values():
        if node.type != "action" and node.fact:
            assert node.source and re.search(r"\b00[0-4]\b|DOMAIN|DESIGN\.md|Ley", node.source), (
                node.id
            )


def test_state_services_carry_the_reporting_duty(engine: Engine) -> None:
    """In the non-reporting and reflection flows, any page that points to a state
    service also says that state services must report, and who helps without one."""
    state = re.compile(r"\{tel:(100|1818|1884|113|fiscalia)\}|comisar|polic|CEM\b")
    for node in engine.flows.nodes.values():
        if node.file not in ("no_report.yaml", "reflection.yaml"):
            continue
        for page in node.pages:
            if state.search(page):
                assert "deben denunciar" in page, node.id
                assert re.search(r"sin (que )?denunci", page), node.id


def test_emergency_message_puts_life_first(engine: Engine) -> None:
    page = engine.flows.node("emergency").pages[0]
    for line in ("105", "113", "100", "1810"):
        assert "{tel:" + line + "}" in page
    assert "denunciar" not in page
