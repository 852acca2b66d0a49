"""Use case: connecting a store and disconnecting it, whatever its platform.

Two ways in: the merchant pastes the store URL and a key pair, or we send them through the
platform's app authorization (WooCommerce: `/wc-auth/v1/authorize`) and the store POSTs the keys
to our callback. Either way `connect_store` checks the URL (public addresses only, outside
development), has the platform check the keys with a cheap read, stores them encrypted, creates
a fresh webhook secret and has the platform subscribe our webhooks, whose ids it records.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from plugin.core.addresses import is_public_address
from plugin.errors import ConnectError, InvalidKeys, InvalidState, InvalidStoreUrl
from plugin.ports import NonceClaims, PlatformDriver, PlatformDrivers, StoreConnection

logger = logging.getLogger(__name__)

STATE_MAX_AGE = 15 * 60  # seconds an authorization may take, from click to callback
_STATE_SALT = "backorders.wc-auth.state"

Resolver = Callable[[str, int], Iterable[str]]


# -- store URL checks --------------------------------------------------------------------------


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidStoreUrl(f"The store's host name {host!r} does not resolve.") from exc
    return sorted({str(info[4][0]) for info in infos})


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


# What the `stores` table holds: `base_url` VARCHAR(500) and `name` VARCHAR(200). PostgreSQL
# refuses longer text (SQLite kept it), so a longer URL is refused here with a reason.
MAX_STORE_URL_LENGTH = 500
MAX_STORE_NAME_LENGTH = 200


def validate_store_url(url: str, *, development: bool, resolve: Resolver = resolve_host) -> str:
    """The store's base URL, normalised (no trailing slash), or InvalidStoreUrl.

    https only; http is accepted for a loopback host in development (the sandbox). Outside
    development the host must resolve only to public addresses, so a merchant cannot point our
    workers at our own network. Redirects are never followed by the client (see
    connectors/woocommerce/client.py), so the checked host is the one we talk to.
    """
    url = (url or "").strip()
    if len(url.rstrip("/")) > MAX_STORE_URL_LENGTH:
        raise InvalidStoreUrl(f"The store URL is longer than {MAX_STORE_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidStoreUrl("The store URL is not a valid URL.") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("https", "http") or not host:
        raise InvalidStoreUrl("The store URL must start with https:// and name a host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidStoreUrl("The store URL must not contain a user name or password.")
    if parts.query or parts.fragment:
        raise InvalidStoreUrl("The store URL must not contain a query or fragment.")
    addresses = list(resolve(host, port or (443 if scheme == "https" else 80)))
    if not addresses:
        raise InvalidStoreUrl(f"The store's host name {host!r} does not resolve.")
    if scheme == "http":
        if not development:
            raise InvalidStoreUrl("The store URL must use https://.")
        if not all(_is_loopback(a) for a in addresses):
            raise InvalidStoreUrl("http:// is only allowed for a store on this machine.")
    elif not development and not all(is_public_address(a) for a in addresses):
        raise InvalidStoreUrl("The store URL points at a private or reserved network address.")
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, "", ""))


def webhook_delivery_url(public_url: str, store_id: int, platform: str) -> str:
    """Where a store delivers its webhooks for `store_id` (webhooks/receive.py)."""
    return f"{public_url.rstrip('/')}/webhooks/{platform}/{store_id}"


# -- connecting ------------------------------------------------------------------------------


def _checked_connection(
    driver: PlatformDriver,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    development: bool,
    resolve: Resolver,
) -> tuple[str, str, str, StoreConnection]:
    """The store's normalised URL and keys, and its connection once the keys are checked (one
    cheap read); InvalidStoreUrl / InvalidKeys / the driver's errors when refused."""
    base_url = validate_store_url(base_url, development=development, resolve=resolve)
    consumer_key, consumer_secret = (consumer_key or "").strip(), (consumer_secret or "").strip()
    if not consumer_key or not consumer_secret:
        raise InvalidKeys("Both the consumer key and the consumer secret are needed.")
    connection = driver.connection(
        base_url, consumer_key, consumer_secret, allow_private=development
    )
    connection.check_credentials()
    return base_url, consumer_key, consumer_secret, connection


def connect_store(
    stores: Any,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    driver: PlatformDriver,
    public_url: str,
    development: bool,
    name: str | None = None,
    merchant_id: int | None = None,
    webhook_secret: str | None = None,
    resolve: Resolver = resolve_host,
) -> int:
    """Connect a store: check URL and keys, store them encrypted, register webhooks.

    `webhook_secret` is for a platform that signs deliveries with a secret of its own (Shopify:
    the app's); otherwise a fresh one is made for the store. Returns the new store's id. A bad
    URL or key pair keeps nothing; when registering the webhooks fails, the webhooks already
    made are deleted and the store row stays disconnected.
    """
    base_url, consumer_key, consumer_secret, connection = _checked_connection(
        driver, base_url, consumer_key, consumer_secret, development=development, resolve=resolve
    )
    # Fresh per store unless the platform signs with its own; signs the store's deliveries.
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    store_id = int(
        stores.create(
            name=(name or urlsplit(base_url).netloc)[:MAX_STORE_NAME_LENGTH],
            base_url=base_url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            webhook_secret=webhook_secret,
            platform=driver.name,
            merchant_id=merchant_id,
        ).id
    )
    try:
        # The store pings the delivery URL while creating each webhook, so the store row
        # (holding the secret) must exist first (shared/reference/woocommerce/README.md).
        webhook_ids = connection.register_webhooks(
            delivery_url=webhook_delivery_url(public_url, store_id, driver.name),
            secret=webhook_secret,
        )
    except Exception:
        stores.set_status(store_id, "disconnected")
        raise
    stores.update(store_id, webhook_ids=webhook_ids)
    logger.info("store connected store_id=%s webhooks=%s", store_id, webhook_ids)
    return store_id


# A store whose account uninstalled our app (its token revoked), as plugin/adapters/sql/privacy.py
# marks it.
UNINSTALLED = "uninstalled"


def connect_account(
    stores: Any,
    account_stores: Sequence[int],
    base_url: str,
    account: str,
    access_token: str,
    *,
    driver: PlatformDriver,
    public_url: str,
    development: bool,
    merchant_id: int | None,
    webhook_secret: str,
) -> int:
    """Connect an account (a Shopify shop) whose existing stores are `account_stores`: refused
    while one of them is connected (two stores of one account would both act on every order);
    the merchant's own store that the account uninstalled is connected again (`reconnect_store`:
    same id, settings and history); otherwise a new store (`connect_store`)."""
    reinstalled: int | None = None
    for store_id in account_stores:
        store = stores.get(store_id)
        if store is None:
            continue
        ours = store.merchant_id == merchant_id
        if store.is_connected:
            raise ConnectError(
                f"{account} is connected already"
                + (f" as store {store_id}; disconnect it first." if ours else "."),
                reason="already_connected",
            )
        if store.status == UNINSTALLED and ours and reinstalled is None:
            reinstalled = store_id
    if reinstalled is not None:
        return reconnect_store(
            stores, reinstalled, base_url, account, access_token,
            driver=driver, public_url=public_url, development=development,
            webhook_secret=webhook_secret,
        )  # fmt: skip
    return connect_store(
        stores, base_url, account, access_token,
        driver=driver, public_url=public_url, development=development, name=account,
        merchant_id=merchant_id, webhook_secret=webhook_secret,
    )  # fmt: skip


def reconnect_store(
    stores: Any,
    store_id: int,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    driver: PlatformDriver,
    public_url: str,
    development: bool,
    webhook_secret: str | None = None,
    resolve: Resolver = resolve_host,
) -> int:
    """Connect an existing store row again (an app reinstalled on a shop that uninstalled it):
    the same id, settings, ledgers and audit trail, with the new keys and fresh webhooks. The
    keys are checked first; refused, nothing changes. Returns `store_id`."""
    base_url, consumer_key, consumer_secret, connection = _checked_connection(
        driver, base_url, consumer_key, consumer_secret, development=development, resolve=resolve
    )
    old = stores.get(store_id)
    # Subscriptions left from before (an uninstall deletes them on Shopify: gone is fine).
    connection.delete_webhooks((old.webhook_ids if old is not None else None) or [])
    webhook_secret = webhook_secret or stores.credentials(store_id).webhook_secret
    stores.update_credentials(
        store_id,
        base_url=base_url,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        webhook_secret=webhook_secret,
    )
    webhook_ids = connection.register_webhooks(
        delivery_url=webhook_delivery_url(public_url, store_id, driver.name),
        secret=webhook_secret,
    )
    stores.update(store_id, webhook_ids=webhook_ids, status="connected")
    logger.info("store reconnected store_id=%s webhooks=%s", store_id, webhook_ids)
    return int(store_id)


def ensure_connected(
    stores: Any,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    driver: PlatformDriver,
    public_url: str,
    development: bool,
    name: str | None = None,
    webhook_secret: str | None = None,
    resolve: Resolver = resolve_host,
) -> int:
    """Idempotent connect for `make run`: reuse a connected store with this URL and keys,
    re-registering its webhooks only when they are no longer all there. `webhook_secret` as
    for `connect_store` (a new connection only)."""
    normalised = validate_store_url(base_url, development=development, resolve=resolve)
    for store in stores.list(status="connected"):
        if store.base_url != normalised or store.platform != driver.name:
            continue
        credentials = stores.credentials(store.id)
        connection = driver.connection(
            normalised, consumer_key, consumer_secret, allow_private=development
        )
        connection.check_credentials()
        if (credentials.consumer_key, credentials.consumer_secret) != (
            consumer_key,
            consumer_secret,
        ):
            # New keys for the same store: keep one connection (two would split every order
            # twice), with the keys that work now.
            stores.update_credentials(
                store.id, consumer_key=consumer_key, consumer_secret=consumer_secret
            )
            logger.info("store keys replaced store_id=%s", store.id)
        delivery_url = webhook_delivery_url(public_url, store.id, driver.name)
        if not connection.webhooks_intact(store.webhook_ids or [], delivery_url):
            connection.delete_webhooks(store.webhook_ids or [])
            webhook_ids = connection.register_webhooks(
                delivery_url=delivery_url, secret=credentials.webhook_secret
            )
            stores.update(store.id, webhook_ids=webhook_ids)
            logger.info("webhooks re-registered store_id=%s webhooks=%s", store.id, webhook_ids)
        return int(store.id)
    return connect_store(
        stores,
        normalised,
        consumer_key,
        consumer_secret,
        driver=driver,
        public_url=public_url,
        development=development,
        name=name,
        webhook_secret=webhook_secret,
        resolve=resolve,
    )


def disconnect_store(
    stores: Any, store_id: int, *, drivers: PlatformDrivers, development: bool = False
) -> list[int]:
    """Delete the store's webhooks and mark it disconnected. Returns webhook ids that could
    not be deleted (the store is disconnected anyway; its deliveries will be refused)."""
    store = stores.get(store_id)
    if store is None:
        raise ConnectError(f"Store {store_id} does not exist.", reason="unknown_store")
    credentials = stores.credentials(store_id)
    connection = drivers.driver(store.platform).connection(
        credentials.base_url,
        credentials.consumer_key,
        credentials.consumer_secret,
        allow_private=development,
    )
    failed = connection.delete_webhooks(store.webhook_ids or [])
    stores.update(store_id, webhook_ids=failed)
    stores.set_status(store_id, "disconnected")
    logger.info("store disconnected store_id=%s undeleted_webhooks=%s", store_id, failed)
    return failed


# -- the platform's app authorization ----------------------------------------------------------


@dataclass(frozen=True)
class PendingAuthorization:
    """What the signed state carries from the authorize click to the callback."""

    store_url: str
    nonce: str
    merchant_id: int | None = None


class AuthorizationStates:
    """Signed, expiring, single-use state tokens for the authorize flow.

    The token goes to the store with the authorize URL and comes back with the keys (WooCommerce
    echoes it as `user_id`) and as the last path segment of our callback URL; the keys the store
    POSTs carry nothing else to tie them to a store.
    """

    def __init__(
        self, secret_key: str, claims: NonceClaims, *, max_age: int = STATE_MAX_AGE
    ) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_STATE_SALT)
        self._claims = claims
        self._max_age = max_age

    def issue(self, store_url: str, *, merchant_id: int | None = None) -> str:
        payload = {"u": store_url, "n": secrets.token_urlsafe(16), "m": merchant_id}
        return str(self._serializer.dumps(payload))

    def peek(self, token: str) -> PendingAuthorization:
        """Check signature and age without using the token up."""
        try:
            payload = self._serializer.loads(token, max_age=self._max_age)
        except SignatureExpired as exc:
            raise InvalidState("This authorization has expired; please start again.") from exc
        except BadSignature as exc:
            raise InvalidState("This authorization is not one we started.") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("u"), str):
            raise InvalidState("This authorization is not one we started.")
        merchant = payload.get("m")
        return PendingAuthorization(
            payload["u"], str(payload.get("n", "")), merchant if isinstance(merchant, int) else None
        )

    def redeem(self, token: str) -> PendingAuthorization:
        """Check the token and use it up; a second redeem raises InvalidState."""
        pending = self.peek(token)
        if not pending.nonce or not self._claims.claim(pending.nonce, self._max_age):
            raise InvalidState("This authorization was already used.")
        return pending


def accept_app_keys(
    stores: Any,
    states: AuthorizationStates,
    token: str,
    body: object,
    *,
    driver: PlatformDriver,
    public_url: str,
    development: bool,
    resolve: Resolver = resolve_host,
) -> int:
    """Handle the store's callback POST: redeem the state once, then connect the store."""
    keys = driver.parse_app_keys(body)
    if not secrets.compare_digest(keys.user_id.encode(), token.encode()):
        raise InvalidState("The callback does not belong to this authorization.")
    pending = states.redeem(token)
    return connect_store(
        stores,
        pending.store_url,
        keys.consumer_key,
        keys.consumer_secret,
        driver=driver,
        public_url=public_url,
        development=development,
        merchant_id=pending.merchant_id,
        resolve=resolve,
    )
