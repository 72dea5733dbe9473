"""The senders' HTTP client: form posts to a platform's API over pooled keep-alive
connections that the sender's threads share.

Why not the platforms' own clients for the send itself: on the sender's busiest path
their machinery was most of the cost. Measured here against a local server in another
process, one `sendMessage` through httpx (python-telegram-bot's client) cost about
2.2 ms of CPU, one message through the twilio client 2.3 ms, and the same post through
urllib3's pool 1.0 ms; under `bot run` that CPU is the worker's too. The request is the
one the libraries send (method, URL, form, authorisation), checked against the fake
servers in tests/test_channels_e2e.py; everything else (files, content templates,
webhooks) still goes through the libraries.

The environment is read once, at start, as requests reads it: HTTP(S)_PROXY and
NO_PROXY, and the CA bundle of REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (else certifi's,
requests' default). A deployment that changes them restarts, as for any setting.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3

from bot.channels.delivery import TransientError

CONNECT_SECONDS, READ_SECONDS = 5.0, 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # the parsed JSON, or None when the answer was not JSON


def _proxy(url: str) -> str | None:
    """The proxy the environment names for `url`, or None (NO_PROXY, none set)."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    return proxies.get(parts.scheme)


class Poster:
    """Posts forms under one API root; a connection error or timeout is a
    TransientError named for the platform, any answer is returned as it came."""

    def __init__(
        self, name: str, base_url: str, connections: int, headers: dict[str, str] | None = None
    ) -> None:
        self.name, self.base_url = name, base_url.rstrip("/")
        self.headers = {"Accept": "application/json", **(headers or {})}
        options: dict[str, Any] = {
            "maxsize": connections,
            "timeout": urllib3.Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS),
            "retries": False,  # a post is never repeated here: the outbox decides
            "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or certifi.where(),
        }
        proxy = _proxy(self.base_url)
        self._http = (
            urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        )

    def post(self, path: str, fields: dict[str, str]) -> Answer:
        try:
            response = self._http.request(
                "POST",
                self.base_url + path,
                body=urlencode(fields).encode(),
                headers={**self.headers, "Content-Type": "application/x-www-form-urlencoded"},
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as exc:  # no answer: refused, reset, timed out
            raise TransientError(f"{self.name}: {exc.__class__.__name__}") from exc
        try:
            body = json.loads(response.data) if response.data else None
        except ValueError:
            body = None
        return Answer(response.status, body)

    def close(self) -> None:
        self._http.clear()
