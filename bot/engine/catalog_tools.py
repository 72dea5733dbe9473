"""Catalog maintenance used by `make i18n`.

`fill-source` keeps the Spanish catalog an identity catalog: Spanish is the source
language, so its msgstr is the msgid. Editing Spanish wording means editing the flow;
the other catalogs then come back fuzzy for a translator to review.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def fill_source(path: Path) -> int:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="es")
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, omit_header=False)
    return 0


def set_translation(path: Path, msgid: str, msgstr: str) -> int:
    """Set one reviewed translation and clear its fuzzy flag (for small edits)."""
    with path.open("rb") as fh:
        catalog = read_po(fh)
    message = catalog.get(msgid)
    if message is None:
        sys.stderr.write("no such msgid in the catalog\n")
        return 1
    message.string = msgstr
    message.flags.discard("fuzzy")
    message.previous_id = []
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0, omit_header=False)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "fill-source":
        return fill_source(Path(argv[1]))
    if len(argv) == 4 and argv[0] == "set":
        return set_translation(Path(argv[1]), argv[2], argv[3])
    sys.stderr.write(
        "usage: python -m bot.engine.catalog_tools fill-source FILE.po\n"
        "       python -m bot.engine.catalog_tools set FILE.po MSGID MSGSTR\n"
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
