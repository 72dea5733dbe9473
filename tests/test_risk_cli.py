"""`python -m bot assess` as DESIGN.md "Command line" describes it, through `main`."""

from __future__ import annotations

import io
import json

from bot.risk.cli import main


def run(argv: list[str], stdin: str = "") -> tuple[int, list[dict[str, object]]]:
    out = io.StringIO()
    status = main(argv, io.StringIO(stdin), out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def test_text_argument() -> None:
    status, rows = run(["me", "quitaron", "el", "pasaporte"])
    assert status == 0
    assert rows == [
        {
            "level": "high",
            "indicators": ["documents_withheld"],
            "triggers": {"documents_withheld": ["me quitaron el pasaporte"]},
        }
    ]


def test_stdin_one_output_per_line_in_order() -> None:
    stdin = (
        "me quitaron el pasaporte\n"
        '{"text": "tengo 15 años y me obligan a trabajar", "lang": "es"}\n'
        "\n"
        "{not json\n"
        '{"lang": "en"}\n'
        "hola\n"
    )
    status, rows = run([], stdin)
    assert status == 0
    assert [r["level"] for r in rows] == ["high", "urgent", "none", "none", "none", "none"]
    assert rows[1]["indicators"] == ["labour_exploitation", "minor"]
    assert all(list(r) == ["level", "indicators", "triggers"] for r in rows)


def test_no_argv_and_empty_stdin_prints_nothing() -> None:
    """argv may be [] or None (no TEXT): both read stdin."""
    assert run([], "") == (0, [])
    out = io.StringIO()
    assert main(None, io.StringIO("ayuda por favor\n"), out) == 0
    assert json.loads(out.getvalue())["indicators"] == ["asks_for_help"]


def test_output_keeps_non_ascii_readable() -> None:
    out = io.StringIO()
    main(["el", "patrón", "me", "quitó", "la", "cédula"], io.StringIO(), out)
    assert "cédula" in out.getvalue()


def test_windows_line_endings() -> None:
    _, rows = run([], "necesito ayuda\r\n🆘\r\n")
    assert rows[0]["indicators"] == ["asks_for_help"]
    assert rows[1]["level"] == "urgent"
