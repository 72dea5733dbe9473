"""Mermaid diagram of the flow graph, generated from `flows/` (make diagram).

The README embeds it; a test regenerates it and fails when the checked-in copy is
stale, so the picture protection staff look at is the graph the bot really runs.
"""

from __future__ import annotations

import sys

from bot.engine.flows import FlowSet


def _id(node_id: str) -> str:
    return node_id.replace(".", "_")


def mermaid(flows: FlowSet) -> str:
    lines = ["flowchart LR"]
    for flow in flows.flows:
        lines.append(f'  subgraph flow_{flow.name}["{flow.title}"]')
        for node in flows.nodes.values():
            if node.file == flow.file:
                shape = {"menu": ("{{", "}}"), "action": ("[[", "]]")}.get(node.type, ("[", "]"))
                label = node.id + (f"<br/><i>{node.action}</i>" if node.action else "")
                lines.append(f'    {_id(node.id)}{shape[0]}"{label}"{shape[1]}')
        lines.append("  end")
    for node in flows.nodes.values():
        for target in dict.fromkeys(node.targets()):
            lines.append(f"  {_id(node.id)} --> {_id(target)}")
    return "\n".join(lines)


def document(flows: FlowSet) -> str:
    return (
        "# Flow graph\n\n"
        "Generated from `flows/*.yaml` by `make diagram`; a test fails when it is stale.\n"
        "Every node also has the global commands (menu, back, help, language, stop,\n"
        "delete) and the emergency words, which are not drawn.\n\n"
        "```mermaid\n" + mermaid(flows) + "\n```\n"
    )


START, END = "<!-- diagram:start -->", "<!-- diagram:end -->"


def embed(readme: str, flows: FlowSet) -> str:
    """The README with its diagram section replaced by the current graph."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n```mermaid\n{mermaid(flows)}\n```\n{END}{tail}"


def main() -> int:
    from bot import paths
    from bot.bootstrap import default_engine

    flows = default_engine().flows
    (paths.FLOWS_DIR / "DIAGRAM.md").write_text(document(flows), encoding="utf-8")
    readme = paths.ROOT / "README.md"
    readme.write_text(embed(readme.read_text(encoding="utf-8"), flows), encoding="utf-8")
    sys.stdout.write("flows/DIAGRAM.md and README.md updated\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
