"""The flow diagram checked in under flows/ is the graph the bot runs."""

from bot import paths
from bot.engine.diagram import document, embed
from bot.engine.engine import Engine


def test_diagram_is_current(engine: Engine) -> None:
    current = (paths.FLOWS_DIR / "DIAGRAM.md").read_text(encoding="utf-8")
    assert current == document(engine.flows), "run `make diagram`"


def test_diagram_draws_every_edge(engine: Engine) -> None:
    text = document(engine.flows)
    assert "no_report --> no_report_needs" in text
    assert text.count("subgraph") == len(engine.flows.flows)


def test_readme_diagram_is_current(engine: Engine) -> None:
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == embed(readme, engine.flows), "run `make diagram`"
