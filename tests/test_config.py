"""Configuration: fail fast in production, generate once in development."""

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, new_data_key


def test_production_without_secrets_stops(tmp_path: Path) -> None:
    env = {"PUBLIC_BASE_URL": "https://bot.example.org", "DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="SECRET_KEY, DATA_KEY is missing"):
        load_config(env)
    with pytest.raises(ConfigError, match="DATA_KEY is missing"):
        load_config({**env, "SECRET_KEY": "s" * 40})
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
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "x" * 40, "DATA_KEY": f"{new}, {old}"}
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
