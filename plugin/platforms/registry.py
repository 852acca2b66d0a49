"""The platforms we know, by the name a store row records (`stores.platform`), and the one way
to reach a connected store: `Registry.for_store`, always behind the store's shared rate limiter.

Every call to a store counts against its `api_rate_limit` (plugin/adapters/redis/ratelimit.py),
whichever process makes it: worker jobs, the bulk job, merchant pages and the storefront widget all
open their store here. (Connecting a store is the exception: its calls come before the store has
a row, an id and a limit; `PlatformDriver.connection`.) WooCommerce and Shopify are registered by
default; a new platform is one folder under `plugin/platforms/` with a driver registered here
(tests may register their own).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, cast

import redis

from plugin.adapters.redis.ratelimit import StoreRateLimiter
from plugin.config import ConfigError
from plugin.errors import PermanentError, TransientError
from plugin.platforms.shopify.driver import SHOPIFY
from plugin.platforms.woocommerce.driver import WOOCOMMERCE
from plugin.ports import Platform, PlatformDriver, StoreAccess

JOB_WAIT_S = 60.0  # a job may wait this long for a request slot (then it is retried later)
PAGE_WAIT_S = 5.0  # a merchant page waits at most this long per request for a slot
DEFAULT_TIMEOUT = 30.0  # seconds a store request may take (a job's)


class UnknownPlatform(PermanentError):
    """A store row names a platform no driver is registered for."""

    reason = "unknown_platform"


def load_drivers(names: Iterable[str]) -> list[PlatformDriver]:
    """The drivers named `module:ATTRIBUTE` (`BACKORDERS_EXTRA_PLATFORMS`), imported; a name
    that does not lead to a driver is a ConfigError."""
    drivers = []
    for name in names:
        module, _, attribute = name.partition(":")
        try:
            driver = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as error:
            raise ConfigError("BACKORDERS_EXTRA_PLATFORMS", f"{name}: {error}") from error
        if not (isinstance(getattr(driver, "name", None), str) and callable(driver.open)):
            raise ConfigError("BACKORDERS_EXTRA_PLATFORMS", f"{name} is not a platform driver")
        drivers.append(cast(PlatformDriver, driver))
    return drivers


class StoreRow(Protocol):
    """What opening a store needs of its row (`plugin.adapters.sql.stores.StoreRecord`)."""

    @property
    def id(self) -> int: ...

    @property
    def platform(self) -> str: ...

    @property
    def api_rate_limit(self) -> float: ...

    @property
    def webhook_ids(self) -> Sequence[int]: ...

    @property
    def split_mode(self) -> str: ...


class Credentials(Protocol):
    @property
    def base_url(self) -> str: ...

    @property
    def consumer_key(self) -> str: ...

    @property
    def consumer_secret(self) -> str: ...


class CredentialStore(Protocol):
    def credentials(self, store_id: int) -> Credentials: ...


class Registry:
    """`plugin.ports.PlatformDrivers`, and the stores' platforms behind their rate limiters."""

    def __init__(
        self,
        connection: redis.Redis | Callable[[], redis.Redis] | None,
        stores: CredentialStore | None,
        *,
        public_url: str = "",
        allow_private_addresses: bool = False,
        drivers: Iterable[PlatformDriver] = (WOOCOMMERCE, SHOPIFY),
        extra: Iterable[str] = (),
    ) -> None:
        """`connection` (or a function giving it, called when the first store is opened) and
        `stores` are needed by `for_store` only; `allow_private_addresses`
        (development only) lets clients reach loopback and private addresses, which every
        connection otherwise refuses (DNS rebinding). `extra` names more drivers
        (`load_drivers`)."""
        self.connection = connection
        self.stores = stores
        self.public_url = public_url
        self.allow_private_addresses = allow_private_addresses
        self._drivers: dict[str, PlatformDriver] = {}
        for driver in (*drivers, *load_drivers(extra)):
            self.register(driver)

    def register(self, driver: PlatformDriver) -> None:
        """Know `driver` under its name from now on (a second one of a name replaces it)."""
        self._drivers[driver.name] = driver

    def names(self) -> list[str]:
        return sorted(self._drivers)

    def driver(self, name: str) -> PlatformDriver:
        """The driver of platform `name`; UnknownPlatform when none is registered."""
        try:
            return self._drivers[name]
        except KeyError:
            raise UnknownPlatform(f"no platform {name!r} is known") from None

    def for_store(
        self,
        store: StoreRow,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_wait: float = JOB_WAIT_S,
        share: StoreRateLimiter | None = None,
    ) -> tuple[Platform, StoreRateLimiter]:
        """The store's platform and its limiter (to `pause` it after a 429).

        Before each request the platform's client takes a slot of `share` when one is given (a
        smaller budget of the same store, see `StoreRateLimiter.bucket`), then one of the
        store's own budget, waiting at most `max_wait` seconds for each (RateLimitTimeout past
        that). Redis being away is a TransientError: without the limiter the store's limit
        could not be kept.
        """
        if self.connection is None or self.stores is None:
            raise RuntimeError("this registry opens no store (no Redis or store repository)")
        driver = self.driver(store.platform)
        if callable(self.connection):
            self.connection = self.connection()
        limiter = StoreRateLimiter(
            self.connection, store.id, store.api_rate_limit, max_wait=max_wait
        )

        def throttle() -> None:
            try:
                if share is not None:
                    share.acquire()
                limiter.acquire()
            except redis.RedisError as error:
                raise TransientError(
                    f"store {store.id}: rate limiter unavailable ({type(error).__name__})",
                    reason="rate_limiter_unavailable",
                ) from error

        credentials = self.stores.credentials(store.id)
        platform = driver.open(
            StoreAccess(
                store_id=store.id,
                base_url=credentials.base_url,
                consumer_key=credentials.consumer_key,
                consumer_secret=credentials.consumer_secret,
                webhook_ids=tuple(store.webhook_ids),
                public_url=self.public_url,
                throttle=throttle,
                pause=limiter.pause,
                timeout=timeout,
                allow_private_addresses=self.allow_private_addresses,
                split_mode=store.split_mode,
            )
        )
        return platform, limiter
