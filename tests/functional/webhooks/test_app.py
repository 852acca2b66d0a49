from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.config import ConfigError

from .conftest import SECRET_KEY, make_config, state


def test_create_app_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server: EmbeddedRedis
) -> None:
    monkeypatch.setenv("BACKORDERS_HOME", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("MAX_WEBHOOK_BYTES", "4096")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    app = create_app(max_webhook_bytes=8192, TESTING=True)
    try:
        assert (app.config["MAX_CONTENT_LENGTH"], app.config["TESTING"]) == (8192, True)
        assert state(app).config.database_url == f"sqlite:///{tmp_path / 'backorders.db'}"
        assert (tmp_path / "backorders.db").exists()
        assert "webhooks" in app.blueprints
    finally:
        state(app).db.dispose()


def test_create_app_refuses_bad_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKORDERS_HOME", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DEVELOPMENT", raising=False)
    with pytest.raises(ConfigError, match="^SECRET_KEY"):
        create_app()
    assert not (tmp_path / "backorders.db").exists()


def test_create_app_rejects_unknown_overrides(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    with pytest.raises(TypeError, match="colour"):
        create_app(make_config(tmp_path, redis_server.url), colour="blue")
