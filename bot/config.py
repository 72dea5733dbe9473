"""Configuration from the environment (DESIGN.md "Configuration").

In development, missing secrets are generated once into DATA_DIR and reported; in
production (PUBLIC_BASE_URL set) a missing secret stops start-up with a clear message,
because a silently generated key would make yesterday's encrypted data unreadable on
the next host.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_HOURS = "mon-fri 08:00-18:00"
SECRETS_FILE = "secrets.json"


class ConfigError(RuntimeError):
    """The configuration cannot run safely; the message says what to set."""


# What the Bot API accepts as chat_id: a numeric id, or @username for public channels.
TELEGRAM_CHAT_ID = re.compile(r"^-?\d{1,20}$")
TELEGRAM_CHANNEL_NAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")


@dataclass(frozen=True)
class Config:
    data_dir: Path
    port: int = 8000
    redis_url: str | None = None
    secret_key: str = ""
    data_keys: tuple[str, ...] = ()
    public_base_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_number: str | None = None
    twilio_sms_number: str | None = None  # SMS is served only with its own number
    trusted_proxies: int = 0  # reverse proxies whose X-Forwarded-For is believed
    twilio_api_base_url: str = "https://api.twilio.com"
    # An approved WhatsApp template (Content API SID) for an operator's message outside
    # the 24-hour window. Its wording must reveal nothing ("Hola, tienes un mensaje
    # nuevo. Responde a este chat para leerlo.").
    twilio_operator_template_sid: str | None = None
    operator_hours: str = DEFAULT_HOURS
    operator_alert_telegram_chat: str | None = None
    closed_case_days: int = 30  # a closed case and its messages, then counts only
    # Messages per second a channel may send in all (the per-chat limit is fixed):
    # Telegram allows about 30 per bot; a Twilio WhatsApp sender 10 by default, up to 50
    # once Twilio approves more (what exceeds it waits in Twilio's queue, up to 4 h).
    telegram_mps: float = 28.0
    twilio_mps: float = 10.0

    @property
    def production(self) -> bool:
        return bool(self.public_base_url)


def new_data_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets generated once for this machine, kept beside the data (mode 0600)."""
    path = data_dir / SECRETS_FILE
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    generated = {"SECRET_KEY": secrets.token_urlsafe(48), "DATA_KEY": new_data_key()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(generated, fh)
    log.warning("development secrets generated in %s (never use them in production)", path)
    return generated


GENERATE = (
    "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
    "(SECRET_KEY) or `python -c 'from bot.config import new_data_key; print(new_data_key())'` "
    "(DATA_KEY)"
)
MIN_SECRET_BYTES = 32  # 256 bits


def _data_key_bytes(key: str) -> bytes:
    """A DATA_KEY entry decoded; a clear ConfigError, never a traceback, if malformed."""
    try:
        raw = base64.urlsafe_b64decode(key.encode() + b"=" * (-len(key) % 4))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"DATA_KEY is not url-safe base64; {GENERATE}") from exc
    if len(raw) != 32:
        raise ConfigError(f"each DATA_KEY entry must decode to 32 bytes; {GENERATE}")
    return raw


def _secret_bytes(secret: str) -> bytes:
    """SECRET_KEY's bytes: decoded when it is base64 (so that a DATA_KEY without its
    padding is recognised as the same secret), else as written."""
    try:
        return base64.urlsafe_b64decode(secret.encode() + b"=" * (-len(secret) % 4))
    except (ValueError, TypeError):
        return secret.encode()


def _weak(raw: bytes) -> bool:
    """Too short, or too few distinct bytes to be random ("changeme", all zeros)."""
    return len(raw) < MIN_SECRET_BYTES or len(set(raw)) < 16


def _require_strong(secret_key: str, data_keys: list[bytes]) -> None:
    """Production refuses secrets a person could guess: with a weak SECRET_KEY anyone
    can sign a supervisor's session cookie."""
    raw = _secret_bytes(secret_key)
    if _weak(raw) and _weak(secret_key.encode()):
        raise ConfigError(f"SECRET_KEY is too short or not random (at least 256 bits); {GENERATE}")
    if any(_weak(d) for d in data_keys):
        raise ConfigError(f"a DATA_KEY entry is not random (all zeros, repeated bytes); {GENERATE}")


def _require_channel_secrets(env: Mapping[str, str]) -> None:
    """A configured channel without its webhook secret would answer every webhook 403:
    a silent total outage. Production stops at start-up instead."""
    if env.get("TELEGRAM_BOT_TOKEN") and not env.get("TELEGRAM_WEBHOOK_SECRET"):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is set but TELEGRAM_WEBHOOK_SECRET is missing: every Telegram "
            "webhook would be refused. Set it (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`) and run `python -m bot telegram set-webhook`."
        )
    twilio = env.get("TWILIO_WHATSAPP_NUMBER") or env.get("TWILIO_SMS_NUMBER")
    if twilio and not (env.get("TWILIO_AUTH_TOKEN") and env.get("TWILIO_ACCOUNT_SID")):
        raise ConfigError(
            "a Twilio number is set but TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is missing: "
            "every WhatsApp or SMS webhook would be refused. Set both from the Twilio console."
        )


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    data_dir = Path(env.get("DATA_DIR") or "./var").resolve()
    public = env.get("PUBLIC_BASE_URL") or None
    secret_key, data_key = env.get("SECRET_KEY"), env.get("DATA_KEY")
    if public:
        missing = [n for n, v in (("SECRET_KEY", secret_key), ("DATA_KEY", data_key)) if not v]
        if missing:
            raise ConfigError(
                f"PUBLIC_BASE_URL is set (production) but {', '.join(missing)} is missing. "
                "Set it in the environment; generate a DATA_KEY with "
                "`python -c 'from bot.config import new_data_key; print(new_data_key())'`."
            )
    elif not (secret_key and data_key):
        generated = _dev_secrets(data_dir)
        secret_key = secret_key or generated["SECRET_KEY"]
        data_key = data_key or generated["DATA_KEY"]
    keys = tuple(k.strip() for k in (data_key or "").split(",") if k.strip())
    decoded = [_data_key_bytes(k) for k in keys]
    if secret_key and any(_secret_bytes(secret_key) == d for d in decoded):
        raise ConfigError("DATA_KEY must differ from SECRET_KEY")
    if public:
        _require_strong(secret_key or "", decoded)
        _require_channel_secrets(env)
    alert_chat = (env.get("OPERATOR_ALERT_TELEGRAM_CHAT") or "").strip()
    if alert_chat and not (
        TELEGRAM_CHAT_ID.match(alert_chat) or TELEGRAM_CHANNEL_NAME.match(alert_chat)
    ):
        raise ConfigError(
            "OPERATOR_ALERT_TELEGRAM_CHAT must be a numeric chat id or an @channel name"
        )
    try:
        port = int(env.get("PORT") or 8000)
    except ValueError as exc:
        raise ConfigError(f"PORT must be a number, not {env.get('PORT')!r}") from exc
    try:
        trusted_proxies = int(env.get("TRUSTED_PROXIES") or 0)
    except ValueError as exc:
        raise ConfigError("TRUSTED_PROXIES must be a number of proxies (0, 1, 2...)") from exc
    closed_case_days = _days(env, "CLOSED_CASE_DAYS", 30)
    telegram_mps = _rate(env, "TELEGRAM_MESSAGES_PER_SECOND", 28.0)
    twilio_mps = _rate(env, "TWILIO_MESSAGES_PER_SECOND", 10.0)
    return Config(
        data_dir=data_dir,
        port=port,
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret_key or "",
        data_keys=keys,
        public_base_url=public.rstrip("/") if public else None,
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
        telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or "https://api.telegram.org",
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_whatsapp_number=env.get("TWILIO_WHATSAPP_NUMBER") or None,
        twilio_sms_number=env.get("TWILIO_SMS_NUMBER") or None,
        trusted_proxies=max(0, trusted_proxies),
        twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or "https://api.twilio.com",
        twilio_operator_template_sid=env.get("TWILIO_OPERATOR_TEMPLATE_SID") or None,
        operator_hours=env.get("OPERATOR_HOURS") or DEFAULT_HOURS,
        operator_alert_telegram_chat=env.get("OPERATOR_ALERT_TELEGRAM_CHAT") or None,
        closed_case_days=closed_case_days,
        telegram_mps=telegram_mps,
        twilio_mps=twilio_mps,
    )


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    try:
        rate = float(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of messages per second, not {raw!r}") from exc
    if not 0 < rate <= 100_000:
        raise ConfigError(f"{name} must be a positive number of messages per second")
    return rate


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    """A retention period in whole days, between 1 and 365 (a year is the longest any
    record is kept)."""
    raw = (env.get(name) or "").strip()
    try:
        days = int(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of days, not {raw!r}") from exc
    if not 1 <= days <= 365:
        raise ConfigError(f"{name} must be between 1 and 365 days, not {days}")
    return days
