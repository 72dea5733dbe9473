"""Babel extractor for flow files, so `pybabel extract` covers flows and Python alike.

Registered in babel.cfg (and as a `babel.extractors` entry point). It yields every
translatable string of a flow file: node text (each page) and option labels, with
the node id and its `source:` as translator comments. Nodes marked
`translate: false` (the language menu, written in each language's own name) are
skipped. YAML is composed, not loaded, to keep line numbers for the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

Extracted = tuple[int, str | None, str, list[str]]


def _mapping(node: yaml.Node) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _scalars(node: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                yield item


def extract_flows(
    fileobj: IO[bytes],
    keywords: Any,
    comment_tags: Any,
    options: dict[str, Any],
) -> Iterator[Extracted]:
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if root is None:
        return
    for node_id, node in _mapping(_mapping(root).get("nodes", yaml.ScalarNode("", ""))).items():
        fields = _mapping(node)
        translate = fields.get("translate")
        if isinstance(translate, yaml.ScalarNode) and translate.value.lower() == "false":
            continue
        source = fields.get("source")
        comments = [f"node: {node_id}"]
        if isinstance(source, yaml.ScalarNode):
            comments.append(f"source: {source.value}")
        for scalar in _scalars(fields.get("text")):
            yield scalar.start_mark.line + 1, None, scalar.value.strip(), comments
        options_node = fields.get("options")
        if isinstance(options_node, yaml.SequenceNode):
            for option in options_node.value:
                label = _mapping(option).get("label")
                if isinstance(label, yaml.ScalarNode):
                    yield label.start_mark.line + 1, None, label.value, [*comments, "button label"]
