"""Settings are validated at start; production refuses weak or missing secrets by name."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from mailmind.config import ConfigError, Settings, describe_validation_error, parse_rate

STRONG_JWT = "Jq3v9K2mX8pL4tR7wZ1cN6bH5yF0sD3gA8eU2iO9"
KEY = "k1:" + base64.urlsafe_b64encode(os.urandom(32)).decode()
PROD = {
    "APP_ENV": "production",
    "JWT_SECRET": STRONG_JWT,
    "ENCRYPTION_KEY": KEY,
    "ALLOWED_HOSTS": "mail.example.com",
    "REDIS_URL": "redis://redis:6379/0",
    "DATABASE_URL": "postgresql://u:p@db/mailmind",
}


def settings_error(**env: str) -> str:
    with pytest.raises((ValidationError, ConfigError)) as info:
        Settings(**env)
    return describe_validation_error(info.value)


def test_production_with_every_secret_starts():
    settings = Settings(**PROD)
    assert settings.is_production
    assert settings.allowed_hosts == ["mail.example.com"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"JWT_SECRET": "a" * 40}, "JWT_SECRET"),  # long but not random
        ({"JWT_SECRET": "mailmind-development-jwt-secret-do-not-use-in-production"}, "JWT_SECRET"),
        ({"ENCRYPTION_KEY": "not base64 !!"}, "ENCRYPTION_KEY"),
        ({"ENCRYPTION_KEY": base64.b64encode(b"too short").decode()}, "ENCRYPTION_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"PORT": "not-a-port"}, "PORT"),
    ],
)
def test_production_refuses_and_names_the_variable(change, named):
    assert named in settings_error(**{**PROD, **change})


def test_missing_secrets_in_production_are_named():
    env = {k: v for k, v in PROD.items() if k != "ENCRYPTION_KEY"}
    assert "ENCRYPTION_KEY" in settings_error(**env)
    env = {k: v for k, v in PROD.items() if k != "REDIS_URL"}
    assert "REDIS_URL" in settings_error(**env)


def test_node_env_is_an_alias_of_app_env():
    env = {k: v for k, v in PROD.items() if k != "APP_ENV"}
    assert Settings(NODE_ENV="production", **env).is_production
    assert "JWT_SECRET" in settings_error(NODE_ENV="production", JWT_SECRET="weak")


def test_development_runs_on_defaults():
    settings = Settings()
    assert settings.uses_embedded_database
    assert settings.public_url == "http://localhost:9000"


def test_encryption_keys_rotate_by_id():
    new = base64.urlsafe_b64encode(os.urandom(32)).decode()
    old = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings = Settings(ENCRYPTION_KEY=f"k2:{new},k1:{old}")
    assert list(settings.encryption_keys) == ["k2", "k1"]


def test_rates_parse():
    assert parse_rate("100/min") == (100, 60)
    assert parse_rate("50/h") == (50, 3600)
    with pytest.raises(ConfigError):
        parse_rate("lots/min")


def test_cli_exits_naming_the_variable():
    env = {**os.environ, **PROD, "JWT_SECRET": "weak"}
    result = subprocess.run(
        [sys.executable, "-m", "mailmind.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr
