"""The benchmark's baseline: an empty Flask endpoint served exactly as `bot run` serves
the bot (waitress with `bot.serve.WAITRESS`). `python -m benchmarks.empty_app PORT`."""

from __future__ import annotations

import sys

from flask import Flask, jsonify
from waitress.server import create_server

from bot.serve import WAITRESS


def app() -> Flask:
    empty = Flask(__name__)

    @empty.post("/webhooks/<channel>")
    def webhook(channel: str):
        return jsonify(ok=True)

    @empty.get("/healthz")
    def healthz():
        return "ok"

    return empty


if __name__ == "__main__":
    create_server(app(), host="127.0.0.1", port=int(sys.argv[1]), **WAITRESS).run()
