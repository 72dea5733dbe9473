"""Nearest-service search over 10,000 synthetic offices, against two baselines measured
in the same run:

- one ordinary conversation turn (a menu pick) on the production engine;
- one HTTP round trip to a local server: the least that delivering any reply costs
  (a real Telegram or Twilio call crosses the internet and costs far more).

A ratio under 1 against the second baseline means the search is invisible in a
conversation. Run: make bench
"""

from __future__ import annotations

import http.server
import random
import threading
import urllib.request

from benchmarks.synthetic import synthetic_directory
from benchmarks.timing import timed
from bot.bootstrap import build_engine
from bot.directory.gazetteer import Gazetteer
from bot.directory.search import Searcher
from bot.engine.types import Inbound, Session


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def http_round_trip(repeat: int) -> float:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/sendMessage"
    body = b'{"chat_id": 1, "text": "hola"}'

    def call() -> None:
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - localhost
            response.read()

    try:
        return timed(call, repeat)
    finally:
        server.shutdown()


def main() -> None:
    engine = build_engine()
    session = Session(lang="es", welcomed=True, node="menu")
    turn = timed(lambda: engine.handle(session, Inbound(text="5")), 300)

    directory = synthetic_directory(10_000)
    searcher = Searcher(directory, Gazetteer())
    rng = random.Random(11)
    points = [(rng.uniform(-17, -4), rng.uniform(-79, -70)) for _ in range(50)]
    it = iter(points * 10)
    near = timed(lambda: searcher.search(point=next(it), need="legal"), 200)
    place = timed(lambda: searcher.search(place="san juan de lurigancho"), 200)

    everything = searcher._offices
    country = timed(lambda: searcher._nearest(everything, -9.0, -75.0, None), 50)
    http = http_round_trip(200)

    offices = sum(len(s.offices) for s in directory.services)
    print(f"offices: {offices}")
    print(f"baseline A, one conversation turn:      {turn * 1000:8.3f} ms")
    print(f"baseline B, one localhost HTTP call:    {http * 1000:8.3f} ms")
    for label, value in (
        ("search from a point, need=legal", near),
        ("search from a typed place, any need", place),
        ("search with a full-country scan", country),
    ):
        print(
            f"{label:38s} {value * 1000:8.3f} ms  = {value / turn:6.1f}x A, {value / http:5.2f}x B"
        )


if __name__ == "__main__":
    main()
