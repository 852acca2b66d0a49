from __future__ import annotations

from pathlib import Path

import pytest

from plugin.config import Config, ConfigError, ShopifyApp, WorkerTimings

KEY = "tX9-vq2LmR7_wKd4ZpE1sYhN6cBfJ3uA0gTiVo8"  # a made-up generated-looking key


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
            "TRUSTED_PROXY_HOPS": "2",
            "BACKORDERS_EXTRA_PLATFORMS": " tests.platforms.toyshop.driver:TOYSHOP , a.b:C",
        }
    )
    assert config.trusted_proxy_hops == 2
    assert config.extra_platforms == ("tests.platforms.toyshop.driver:TOYSHOP", "a.b:C")
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
        (
            "TRUSTED_PROXY_HOPS",
            "-1",
            "TRUSTED_PROXY_HOPS: must be at least 0 and at most 10, got -1",
        ),
        ("TRUSTED_PROXY_HOPS", "one", "TRUSTED_PROXY_HOPS: expected a whole number, got 'one'"),
        (
            "BACKORDERS_EXTRA_PLATFORMS",
            "tests.platforms.toyshop.driver",
            "BACKORDERS_EXTRA_PLATFORMS: 'tests.platforms.toyshop.driver' is not module:ATTRIBUTE",
        ),
    ],
)
def test_bad_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    environ = {"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY, variable: value}
    with pytest.raises(ConfigError) as caught:
        Config.from_env(environ)
    assert (caught.value.variable, str(caught.value)) == (variable, message)


# Each refused in production, with the reason the message gives.
WEAK_KEYS = [
    ("aaaaaaaaaaaaaaaa", "repeats a short block of characters"),  # the report
    ("changeme-changeme", "looks like a placeholder from an example, not a generated key"),
    ("CHANGE_ME_to_a_long_random_value_0123", "looks like a placeholder"),
    ("your-secret-key-goes-here-9f8e7d6c5b4a", "looks like a placeholder"),
    ("replace-me-with-a-real-key-before-deploying", "looks like a placeholder"),
    ("s" * 64, "repeats a short block of characters"),
    ("k3y!" * 10, "repeats a short block of characters"),
    ("abcdefghijklmnopqrstuvwxyz0123456789", "is mostly a run of consecutive characters"),
    ("9876543210zyxwvutsrqponmlkjihgfedcba", "is mostly a run of consecutive characters"),
    ("tX9-vq2LmR7_wKd4ZpE1", "must be at least 32 characters long in production"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "has too little entropy (about 6 bits, at least 80)"),
    ("acacacacacacacacacacacacacacacad", "has too little entropy (about 37 bits, at least 80)"),
    ("Passw0rd-Passw0rd-Passw0rd-Passw0rd", "repeats a short block of characters"),
]


@pytest.mark.parametrize(("key", "reason"), WEAK_KEYS)
def test_production_refuses_a_weak_secret_key_and_says_how_to_make_one(
    tmp_path: Path, key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": key})
    message = str(caught.value)
    assert caught.value.variable == "SECRET_KEY"
    assert message.startswith(f"SECRET_KEY: {reason}"), message
    assert message.endswith(
        'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
    )
    assert key not in message
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_development_accepts_any_key_of_16_characters(tmp_path: Path) -> None:
    environ = {"BACKORDERS_HOME": str(tmp_path), "DEVELOPMENT": "1"}
    config = Config.from_env({**environ, "SECRET_KEY": "aaaaaaaaaaaaaaaa"})
    assert config.secret_key == "aaaaaaaaaaaaaaaa"


def test_generated_keys_pass() -> None:
    import base64
    import secrets
    import uuid

    from plugin.config import weak_secret_key

    for _ in range(2000):
        for key in (
            secrets.token_urlsafe(32),
            secrets.token_hex(16),
            secrets.token_hex(32),
            uuid.uuid4().hex,
            base64.b64encode(secrets.token_bytes(32)).decode(),
        ):
            assert weak_secret_key(key) is None, key


def test_a_weak_key_stops_the_web_app_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import create_app

    monkeypatch.setenv("BACKORDERS_HOME", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "aaaaaaaaaaaaaaaa")
    monkeypatch.delenv("DEVELOPMENT", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY: repeats a short block"):
        create_app()
    assert list(tmp_path.iterdir()) == []  # no database was created


def test_the_workers_knobs_and_mail_from_are_parsed_here(tmp_path: Path) -> None:
    base = {"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY}
    assert Config.from_env(base).worker == WorkerTimings(10.0, 40.0, 10, 15, 60, 60, 300, 30)
    assert Config.from_env(base).mail_from == "Backorders <backorders@localhost>"
    config = Config.from_env(
        {
            **base,
            "BACKORDERS_REAP_TICK": "0.5",
            "BACKORDERS_REAP_STALE": "4",
            "BACKORDERS_HEARTBEAT": "1",
            "BACKORDERS_REAP_INTERVAL": "2",
            "BACKORDERS_REQUEUE_INTERVAL": "10",
            "BACKORDERS_RECONCILE_TICK": "11",
            "BACKORDERS_DELAY_TICK": "12",
            "BACKORDERS_MAINTENANCE_INTERVAL": "5",
            "BACKORDERS_AUTHORISATION_TICK": "13",
            "BACKORDERS_AUTHORISATION_WARNING": "86400",
            "MAIL_FROM": " Mug Shop <shop@mugs.test> ",
        }
    )
    assert config.worker == WorkerTimings(0.5, 4.0, 1, 2, 10, 11, 12, 5, 13, 86400.0)
    assert config.mail_from == "Mug Shop <shop@mugs.test>"
    # Below their floors the knobs are raised to them, as the worker always did.
    floors = Config.from_env(
        {
            **base,
            "BACKORDERS_REAP_TICK": "0",
            "BACKORDERS_HEARTBEAT": "0",
            "BACKORDERS_AUTHORISATION_TICK": "0",
            "BACKORDERS_AUTHORISATION_WARNING": "-5",
        }
    )
    assert (floors.worker.reap_tick, floors.worker.heartbeat) == (0.2, 1)
    assert (floors.worker.authorisation_tick, floors.worker.authorisation_warning) == (1, 0.0)


@pytest.mark.parametrize("variable", ["BACKORDERS_REAP_TICK", "BACKORDERS_RECONCILE_TICK"])
@pytest.mark.parametrize("value", ["soon", "nan"])
def test_a_knob_that_is_no_number_names_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    environ = {"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY, variable: value}
    with pytest.raises(ConfigError) as caught:
        Config.from_env(environ)
    assert (caught.value.variable, str(caught.value)) == (
        variable,
        f"{variable}: expected a number of seconds, got {value!r}",
    )


def test_the_shopify_app_is_parsed_here_and_its_secret_never_shown(tmp_path: Path) -> None:
    base = {"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY}
    assert Config.from_env(base).shopify == ShopifyApp("", "", "")
    assert not Config.from_env(base).shopify.is_configured
    config = Config.from_env(
        base
        | {
            "SHOPIFY_CLIENT_ID": " client-1 ",
            "SHOPIFY_CLIENT_SECRET": "shpss_0123456789abcdef",
            "DEVELOPMENT": "1",
            "SHOPIFY_SHOP_URL": "http://127.0.0.1:8002/",
        }
    )
    assert config.shopify == ShopifyApp(
        "client-1", "shpss_0123456789abcdef", "http://127.0.0.1:8002"
    )
    assert config.shopify.is_configured
    assert config.shopify.base_url("ada.myshopify.com") == "http://127.0.0.1:8002"
    assert ShopifyApp("a", "b").base_url("ada.myshopify.com") == "https://ada.myshopify.com"
    assert "shpss_0123456789abcdef" not in repr(config)


@pytest.mark.parametrize(
    ("environ", "variable", "problem"),
    [
        ({"SHOPIFY_CLIENT_ID": "client-1"}, "SHOPIFY_CLIENT_SECRET", "is required with"),
        ({"SHOPIFY_CLIENT_SECRET": "shpss_x"}, "SHOPIFY_CLIENT_ID", "is required with"),
        (
            {"SHOPIFY_CLIENT_ID": "a\x07b", "SHOPIFY_CLIENT_SECRET": "s"},
            "SHOPIFY_CLIENT_ID",
            "printable",
        ),
        # Outside development every shop is its own https address.
        ({"SHOPIFY_SHOP_URL": "http://127.0.0.1:8002"}, "SHOPIFY_SHOP_URL", "DEVELOPMENT=1"),
        (
            {"SHOPIFY_SHOP_URL": "ftp://127.0.0.1", "DEVELOPMENT": "1"},
            "SHOPIFY_SHOP_URL",
            "http:// or https://",
        ),
    ],
)
def test_a_bad_shopify_app_names_the_variable(
    tmp_path: Path, environ: dict[str, str], variable: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as raised:
        Config.from_env({"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": KEY} | environ)
    assert raised.value.variable == variable
    assert "shpss_x" not in str(raised.value)
