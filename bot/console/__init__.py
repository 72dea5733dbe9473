"""Operator console (Flask blueprint under /console/)."""

from __future__ import annotations

from flask import Flask, Request, Response, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.console import auth

csrf = CSRFProtect()
PREFIX = "/console"


class ConsoleSessions(SecureCookieSessionInterface):
    """The signed-cookie session belongs to the console alone. Webhooks are
    authenticated by the platforms' signatures and health checks by nothing: for them
    no cookie is read, verified or written (Flask would otherwise build a signer and
    open a session on every webhook, about a sixth of the request's own time)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if self.is_null_session(session):
            return
        super().save_session(app, session, response)


def init_console(app: Flask) -> None:
    from bot.console.views import bp

    app.session_interface = ConsoleSessions()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.extensions["console_limiter"] = auth.LoginLimiter(
        app.extensions["bot"].store, app.config["SECRET_KEY"]
    )
    csrf.init_app(app)
    manager = LoginManager()
    manager.login_view = "console.login"
    manager.session_protection = "strong"
    manager.init_app(app)

    @manager.user_loader
    def load(user_id: str) -> auth.User | None:
        return auth.load_user(app.extensions["bot"].store, user_id)

    @manager.unauthorized_handler
    def unauthorized() -> Response:
        if request.path.endswith(".json"):
            return jsonify(error="login required"), 401  # type: ignore[return-value]
        return redirect(url_for("console.login"))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[Response, int]:
        return jsonify(error="CSRF token missing or invalid"), 400

    app.register_blueprint(bp)
