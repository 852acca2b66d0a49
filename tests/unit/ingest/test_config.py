from __future__ import annotations

from pathlib import Path

import pytest

from plugin.config import Config, ConfigError

KEY = "s" * 32


def test_defaults_in_production(tmp_path: Path) -> None:
    config = Config.from_env({"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY})
    assert config == Config(
        home=tmp_path,
        secret_key=KEY,
        database_url=f"sqlite:///{tmp_path / 'backorders.db'}",
        redis_url="",
        development=False,
        public_url="http://127.0.0.1:8000",
        port=8000,
        sandbox_port=8001,
        workers=1,
        max_webhook_bytes=1_048_576,
        log_level="INFO",
        smtp_url="",
    )
    assert config.redis_data_file == tmp_path / "redis.rdb"
    assert KEY not in repr(config)


def test_every_variable_parsed(tmp_path: Path) -> None:
    config = Config.from_env(
        {
            "BACKORDERS_HOME": str(tmp_path),
            "SECRET_KEY": KEY,
            "DATABASE_URL": "postgresql+psycopg://u:p@127.0.0.1/backorders",
            "REDIS_URL": "unix:///tmp/r.sock",
            "DEVELOPMENT": "1",
            "PORT": "9000",
            "PUBLIC_URL": "https://shop-hooks.example/",
            "SANDBOX_PORT": "9001",
            "WORKERS": "3",
            "MAX_WEBHOOK_BYTES": "2048",
            "LOG_LEVEL": "debug",
            "SMTP_URL": "smtp://127.0.0.1:2525",
        }
    )
    assert (
        config.database_url,
        config.redis_url,
        config.development,
        config.port,
        config.public_url,
        config.sandbox_port,
        config.workers,
        config.max_webhook_bytes,
        config.log_level,
        config.smtp_url,
    ) == (
        "postgresql+psycopg://u:p@127.0.0.1/backorders",
        "unix:///tmp/r.sock",
        True,
        9000,
        "https://shop-hooks.example",
        9001,
        3,
        2048,
        "DEBUG",
        "smtp://127.0.0.1:2525",
    )
    assert "u:p@" not in repr(config)


def test_public_url_default_follows_port(tmp_path: Path) -> None:
    config = Config.from_env({"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY, "PORT": "8123"})
    assert config.public_url == "http://127.0.0.1:8123"


def test_production_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"BACKORDERS_HOME": str(tmp_path)})
    assert caught.value.variable == "SECRET_KEY"
    assert str(caught.value).startswith("SECRET_KEY: is required")
    assert list(tmp_path.iterdir()) == []


def test_development_generates_and_keeps_a_secret_key(tmp_path: Path) -> None:
    environ = {"BACKORDERS_HOME": str(tmp_path / "home"), "DEVELOPMENT": "1"}
    first = Config.from_env(environ)
    second = Config.from_env(environ)
    key_file = tmp_path / "home" / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text()
    assert len(first.secret_key) >= 32
    assert key_file.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PORT", "eighty", "PORT: expected a whole number, got 'eighty'"),
        ("PORT", "70000", "PORT: must be at least 1 and at most 65535, got 70000"),
        ("SANDBOX_PORT", "0", "SANDBOX_PORT: must be at least 1 and at most 65535, got 0"),
        ("WORKERS", "0", "WORKERS: must be at least 1 and at most 256, got 0"),
        ("WORKERS", "1.5", "WORKERS: expected a whole number, got '1.5'"),
        ("MAX_WEBHOOK_BYTES", "10", "MAX_WEBHOOK_BYTES: must be at least 1024, got 10"),
        ("DEVELOPMENT", "maybe", "DEVELOPMENT: expected 1 or 0, got 'maybe'"),
        (
            "LOG_LEVEL",
            "LOUD",
            "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'",
        ),
        (
            "REDIS_URL",
            "localhost:6379",
            "REDIS_URL: must start with redis://, rediss:// or unix://",
        ),
        ("DATABASE_URL", "not a url", "DATABASE_URL: is not a database URL"),
        # SQLAlchemy would load psycopg2 (not installed) or a database the storage cannot use.
        *(
            (
                "DATABASE_URL",
                url,
                "DATABASE_URL: must be sqlite:///<file> or "
                "postgresql+psycopg://<user>:<password>@<host>/<database>",
            )
            for url in (
                "postgres://u:p@db/backorders",
                "postgresql+psycopg2://u:p@db/backorders",
                "postgresql+asyncpg://u:p@db/backorders",
                "mysql://u:p@db/backorders",
            )
        ),
        ("PUBLIC_URL", "ftp://x", "PUBLIC_URL: must be an http:// or https:// URL, got 'ftp://x'"),
        (
            "SMTP_URL",
            "mail.local",
            "SMTP_URL: must look like smtp://host:port or smtps://host:port",
        ),
        ("SECRET_KEY", "short", "SECRET_KEY: must be at least 16 characters long"),
    ],
)
def test_bad_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    environ = {"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY, variable: value}
    with pytest.raises(ConfigError) as caught:
        Config.from_env(environ)
    assert (caught.value.variable, str(caught.value)) == (variable, message)
