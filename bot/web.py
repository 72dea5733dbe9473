"""Flask app factory: webhooks, health and (with the console) the operator UI."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.config import Config, load_config
from bot.runtime import Runtime
from bot.store.port import StoreUnavailable
from bot.webhooks import Webhooks

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # a platform payload is a few KB; anything bigger is refused (413)
CONSOLE_SESSION = timedelta(hours=12)
health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    """Liveness: 200 while the process runs. Never touches the store: the body says
    what the webhooks last found (ok, unreachable, or unknown before any call)."""
    store_ok = current_app.extensions["bot"].store_ok
    state = "unknown" if store_ok is None else ("ok" if store_ok else "unreachable")
    return jsonify(status="ok", store=state)


@health.get("/readyz")
def readyz() -> Response | tuple[Response, int]:
    rt = current_app.extensions["bot"]
    try:
        ready = bool(rt.bounded(rt.store.ping))
    except StoreUnavailable:
        ready = False
    rt.store_ok = ready
    if ready:
        return jsonify(status="ready")
    return jsonify(status="store unreachable"), 503


def create_app(config: Config | None = None, runtime: Runtime | None = None) -> Flask:
    config = config or (runtime.config if runtime else load_config())
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A console session ends with the shift: its cookie is refused 12 hours after it
        # was written (Flask's default kept a forgotten login open for 31 days).
        PERMANENT_SESSION_LIFETIME=CONSOLE_SESSION,
        SESSION_COOKIE_SECURE=config.production,
    )
    # X-Forwarded-* is believed only from the TRUSTED_PROXIES proxies in front (default
    # none): otherwise anyone could choose the client address the login limiter counts.
    # (Twilio signatures use PUBLIC_BASE_URL in production, not these headers.)
    if runtime is None:  # a production web process (gunicorn): ready before it serves
        runtime = Runtime(config)
        runtime.warm()
    app.extensions["bot"] = runtime

    from bot.console import init_console

    app.register_blueprint(health)
    init_console(app)
    app.wsgi_app = Webhooks(app.wsgi_app, runtime, MAX_BODY)  # type: ignore[method-assign]
    hops = config.trusted_proxies
    if hops:  # outermost, so that the webhooks see the same forwarded URL as Flask
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.before_request
    def refuse_oversized() -> tuple[Response, int] | None:
        """413 before anything else: no signature check or parse on a huge body."""
        if request.content_length is not None and request.content_length > MAX_BODY:
            return jsonify(error="Request Entity Too Large", status=413), 413
        return None

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify(error=exc.name, status=exc.code), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unexpected error")  # the request body is never logged
        return jsonify(error="internal error"), 500

    return app
