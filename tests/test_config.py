"""Configuration: fail fast in production, generate once in development."""

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, new_data_key


def test_production_without_secrets_stops(tmp_path: Path) -> None:
    env = {"PUBLIC_BASE_URL": "https://bot.example.org", "DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="SECRET_KEY, DATA_KEY is missing"):
        load_config(env)
    with pytest.raises(ConfigError, match="DATA_KEY is missing"):
        load_config({**env, "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU"})
    assert not (tmp_path / "secrets.json").exists()  # never generated in production


def test_development_generates_once(tmp_path: Path) -> None:
    first = load_config({"DATA_DIR": str(tmp_path)})
    second = load_config({"DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key and first.data_keys == second.data_keys
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert not first.production


def test_data_key_list_rotates_and_differs_from_secret(tmp_path: Path) -> None:
    new, old = new_data_key(), new_data_key()
    config = load_config(
        {
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU",
            "DATA_KEY": f"{new}, {old}",
        }
    )
    assert config.data_keys == (new, old)
    with pytest.raises(ConfigError, match="must differ"):
        load_config({"DATA_DIR": str(tmp_path), "SECRET_KEY": new, "DATA_KEY": new})


def test_defaults(tmp_path: Path) -> None:
    config = load_config({"DATA_DIR": str(tmp_path)})
    assert config.port == 8000 and config.operator_hours == "mon-fri 08:00-18:00"
    assert config.redis_url is None
    with pytest.raises(ConfigError, match="PORT"):
        load_config({"DATA_DIR": str(tmp_path), "PORT": "eighty"})
    assert config.closed_case_days == 30


@pytest.mark.parametrize("value", ["0", "400", "a week"])
def test_closed_case_days_is_a_period_of_at_most_a_year(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="CLOSED_CASE_DAYS"):
        load_config({"DATA_DIR": str(tmp_path), "CLOSED_CASE_DAYS": value})
    assert load_config({"DATA_DIR": str(tmp_path), "CLOSED_CASE_DAYS": "7"}).closed_case_days == 7


STRONG = "tEsT-0nly_k9Qz2VwX7pL4mR8sN1bC6yH3jF5dG0aU"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY is too short or not random"),
        ({"SECRET_KEY": "a"}, "SECRET_KEY is too short or not random"),
        ({"SECRET_KEY": "s" * 64}, "SECRET_KEY is too short or not random"),
        ({"DATA_KEY": "A" * 43 + "="}, "not random"),  # 32 zero bytes
        ({"DATA_KEY": "not base64 at all!"}, "DATA_KEY"),
        ({"DATA_KEY": "c2hvcnQ="}, "must decode to 32 bytes"),
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, "TELEGRAM_WEBHOOK_SECRET is missing"),
        ({"TWILIO_WHATSAPP_NUMBER": "+1"}, "TWILIO_AUTH_TOKEN is missing"),
    ],
)
def test_production_refuses_guessable_or_missing_secrets(
    tmp_path: Path, change: dict, message: str
) -> None:
    """A weak SECRET_KEY lets anyone sign a supervisor's cookie; a channel without its
    webhook secret would refuse every webhook. Start-up stops and says what to set."""
    env = {"DATA_DIR": str(tmp_path), "PUBLIC_BASE_URL": "https://x.example",
           "SECRET_KEY": STRONG, "DATA_KEY": new_data_key(), **change}  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        load_config(env)


def test_a_data_key_without_its_padding_is_the_same_secret(tmp_path: Path) -> None:
    key = new_data_key()
    env = {"DATA_DIR": str(tmp_path), "PUBLIC_BASE_URL": "https://x.example",
           "SECRET_KEY": key.rstrip("="), "DATA_KEY": key}  # fmt: skip
    with pytest.raises(ConfigError, match="must differ"):
        load_config(env)
    assert load_config({**env, "SECRET_KEY": STRONG}).production
