"""REST clients for connected stores, always behind the store's shared rate limiter.

Every call to a store counts against its `api_rate_limit` (plugin/adapters/redis/ratelimit.py),
whichever process makes it: worker jobs, the bulk job, merchant pages and the storefront widget all
build their clients here. (Connecting a store is the exception: its calls come before the store has
a row, an id and a limit.)
"""

from __future__ import annotations

import redis

from plugin.adapters.redis.ratelimit import StoreRateLimiter
from plugin.adapters.sql.repositories import StoreRecord, StoreRepository
from plugin.errors import TransientError
from plugin.platforms.woocommerce.adapter import WooCommercePlatform
from plugin.platforms.woocommerce.client import DEFAULT_TIMEOUT, WooCommerceClient

JOB_WAIT_S = 60.0  # a job may wait this long for a request slot (then it is retried later)
PAGE_WAIT_S = 5.0  # a merchant page waits at most this long per request for a slot


def rate_limited_client(
    connection: redis.Redis,
    stores: StoreRepository,
    store: StoreRecord,
    *,
    allow_private_addresses: bool,
    timeout: float = DEFAULT_TIMEOUT,
    max_wait: float = JOB_WAIT_S,
    share: StoreRateLimiter | None = None,
) -> tuple[WooCommerceClient, StoreRateLimiter]:
    """The store's REST client and its limiter (to `pause` it after a 429).

    Before each request the client takes a slot of `share` when one is given (a smaller budget
    of the same store, see `StoreRateLimiter.bucket`), then one of the store's own budget,
    waiting at most `max_wait` seconds for each (RateLimitTimeout past that). Redis being away
    is a TransientError: without the limiter the store's limit could not be kept.
    `allow_private_addresses` (development only) lets the client reach loopback and private
    addresses, which every connection otherwise refuses (DNS rebinding).
    """
    limiter = StoreRateLimiter(connection, store.id, store.api_rate_limit, max_wait=max_wait)

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

    credentials = stores.credentials(store.id)
    client = WooCommerceClient(
        credentials.base_url,
        credentials.consumer_key,
        credentials.consumer_secret,
        timeout=timeout,
        throttle=throttle,
        allow_private_addresses=allow_private_addresses,
    )
    return client, limiter


def rate_limited_platform(
    connection: redis.Redis,
    stores: StoreRepository,
    store: StoreRecord,
    *,
    allow_private_addresses: bool,
    timeout: float = DEFAULT_TIMEOUT,
    max_wait: float = JOB_WAIT_S,
) -> tuple[WooCommercePlatform, StoreRateLimiter]:
    """The store's `Platform` over `rate_limited_client`, and its limiter."""
    client, limiter = rate_limited_client(
        connection,
        stores,
        store,
        allow_private_addresses=allow_private_addresses,
        timeout=timeout,
        max_wait=max_wait,
    )
    return WooCommercePlatform(client), limiter
