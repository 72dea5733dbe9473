"""Arbitrary input from every node: no exception, always a reply with a way to the menu."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.actions import STOPPED
from bot.engine.engine import Engine
from bot.engine.types import Inbound, Session

from test_engine import _offers_menu

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\n\n\n",
        "\x00\x01\x02\x1b[31m",
        "\u200b\u200c\u200d\ufeff",
        "🆘🆘🆘",
        "👍",
        "🙏🏽😢",
        "a" * 100_000,
        ("no me " * 20_000),
        "é" * 100_000,
        "1" * 5000,
        "-1",
        "0",
        "999999999999",
        "«»",
        "{tel:100}",
        "{tel:nope}",
        "%s %d {0}",
        "/location",
        "\u202e\u2066",
        "ÁÉÍÓÚ ÑÑÑ",
    ]
)
TEXT = st.one_of(
    NASTY, st.text(max_size=300), st.text(alphabet=st.characters(), min_size=1000, max_size=3000)
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    text=TEXT,
    node_index=st.integers(min_value=0, max_value=10_000),
    lang=st.sampled_from([None, "es", "en", "pt", "fr"]),
    welcomed=st.booleans(),
)
def test_any_text_from_any_node(engine: Engine, text: str, node_index: int, lang, welcomed) -> None:
    nodes = sorted(engine.flows.nodes)
    session = Session(lang=lang, welcomed=welcomed, node=nodes[node_index % len(nodes)])
    result = engine.handle(session, Inbound(text=text))
    assert result.messages and all(m.text.strip() for m in result.messages)
    assert _offers_menu(result.messages)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.text(max_size=80), node_index=st.integers(min_value=0, max_value=10_000))
def test_any_payload_from_any_node(engine: Engine, payload: str, node_index: int) -> None:
    nodes = sorted(engine.flows.nodes)
    session = Session(lang="es", welcomed=True, node=nodes[node_index % len(nodes)])
    result = engine.handle(session, Inbound(payload=payload or "x"))
    assert result.messages and _offers_menu(result.messages)


def test_every_node_every_language_walk(engine: Engine) -> None:
    """Show every node in every language: each yields text and a way on."""
    for lang in ("es", "en", "pt", "fr"):
        for node_id in engine.flows.nodes:
            result = engine.handle(
                Session(lang=lang, welcomed=True, node="menu"),
                Inbound(payload=f"go:{node_id}", internal=True),
            )
            assert result.messages, (lang, node_id)
            ended = result.session in (
                Session(),
                Session(data={STOPPED: True}),
            )  # delete, quick exit
            assert _offers_menu(result.messages) or ended, (lang, node_id)
