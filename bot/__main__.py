"""Command line: `python -m bot run|chat|assess|services|operators|telegram|keys`.

The sub-commands and their flags are a stable contract (DESIGN.md "Command line"):
operators, scripts and external checks call them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.config import ConfigError
from bot.engine.types import LANGS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the whole system on the embedded default")
    worker = sub.add_parser("worker", help="run the worker and the sender (Procfile 'worker')")
    worker.add_argument("--role", choices=("both", "worker", "sender"), default="both")
    worker.add_argument(
        "--attached", action="store_true", help=argparse.SUPPRESS
    )  # bot run's child
    worker.add_argument("--notify-fd", type=int, help=argparse.SUPPRESS)  # bot run's worker child
    chat = sub.add_parser("chat", help="a conversation in the terminal")
    chat.add_argument("--lang", choices=LANGS, help="skip the language menu")
    chat.add_argument(
        "--events",
        action="store_true",
        help="also print each engine event to stderr as one JSON line (codes, never text)",
    )
    assess = sub.add_parser("assess", help="risk assessment of TEXT or of stdin lines")
    assess.add_argument("text", nargs="*", help="text to assess (default: stdin)")
    services = sub.add_parser("services", help="find the nearest services")
    where = services.add_mutually_exclusive_group()
    where.add_argument("--near", metavar="LAT,LON")
    where.add_argument("--place", metavar="NAME")
    services.add_argument("--need", metavar="CODE")
    services.add_argument("--limit", type=int, default=5)
    services.add_argument("--json", action="store_true")
    services.add_argument("--lang", choices=LANGS, default="es")
    operators = sub.add_parser("operators", help="manage console operators")
    op_sub = operators.add_subparsers(dest="action", required=True)
    add = op_sub.add_parser("add")
    add.add_argument("username")
    add.add_argument("--role", choices=("operator", "supervisor"), default="operator")
    telegram = sub.add_parser("telegram", help="Telegram set-up")
    tg_sub = telegram.add_subparsers(dest="action", required=True)
    tg_sub.add_parser("set-webhook")
    keys = sub.add_parser("keys", help="encryption keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    keys_sub.add_parser(
        "rotate", help="re-encrypt every stored item with the newest DATA_KEY (resumable)"
    )
    return parser


def _chat(lang: str | None, events: bool = False) -> int:
    from bot.bootstrap import default_engine
    from bot.channels.terminal import TerminalChat, event_printer, run
    from bot.config import load_config
    from bot.conversation import ConversationService
    from bot.store import open_store
    from bot.store.crypto import Crypto

    config = load_config()
    engine = default_engine()
    store = open_store(config)
    hooks = [event_printer(sys.stderr)] if events else []
    service = ConversationService(engine, store, Crypto(config.data_keys), on_events=hooks)
    chat = TerminalChat(engine, lang=lang, service=service)
    try:
        return run(chat, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
    finally:
        store.close()


def _add_operator(username: str, role: str) -> int:
    """The password is read from stdin (never from the command line, which ps shows)."""
    import getpass

    from bot.config import load_config
    from bot.console.auth import create_operator
    from bot.store import open_store

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            sys.stderr.write("error: the passwords differ\n")
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    store = open_store(load_config())
    try:
        operator = create_operator(store, username, password, role)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    finally:
        store.close()
    sys.stdout.write(f"operator '{operator.username}' saved ({operator.role})\n")
    return 0


def _rotate_keys() -> int:
    import time

    from bot.config import load_config
    from bot.spool import Spool
    from bot.store import open_store
    from bot.store.crypto import Crypto
    from bot.store.rotation import run

    config = load_config()
    crypto = Crypto(config.data_keys)
    spooled = Spool(config.data_dir, crypto).needing_old_key()
    store = open_store(config)
    try:
        return run(store, spooled, crypto.rotating, time.time(), sys.stdout, sys.stderr)
    finally:
        store.close()


def _negative_values(argv: Sequence[str]) -> list[str]:
    """Let `--near -13.53,-71.97` work: argparse would read the value as an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--near" and arg[:2].replace(".", "0")[1:].isdigit():
            out[-1] = f"--near={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _main(argv)
    except ConfigError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        return 2


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(_negative_values(sys.argv[1:] if argv is None else argv))
    if args.command == "chat":
        return _chat(args.lang, args.events)
    if args.command == "run":
        from bot.serve import run

        return run()
    if args.command == "worker":
        from bot.serve import worker

        return worker(args.role, attached=args.attached, notify_fd=args.notify_fd)
    if args.command == "operators" and args.action == "add":
        return _add_operator(args.username, args.role)
    if args.command == "keys" and args.action == "rotate":
        return _rotate_keys()
    if args.command == "telegram" and args.action == "set-webhook":
        from bot.serve import set_webhook

        return set_webhook()
    if args.command == "assess":
        from bot.risk.cli import main as assess_main

        return assess_main(args.text, sys.stdin, sys.stdout)
    if args.command == "services":
        from bot.directory.cli import run as services_run

        return services_run(
            sys.stdout,
            sys.stderr,
            near=args.near,
            place=args.place,
            need=args.need,
            limit=args.limit,
            as_json=args.json,
            lang=args.lang,
        )
    sys.stderr.write(f"'{args.command}' is not available in this version yet.\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
