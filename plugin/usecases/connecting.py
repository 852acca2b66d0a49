"""Connecting a WooCommerce store: URL checks, key check, encrypted storage, webhooks.

Two ways in: the merchant pastes the store URL and a REST key pair, or we send them through
WooCommerce's app authorization (`/wc-auth/v1/authorize`, see
shared/reference/woocommerce/authentication.md) and the store POSTs the keys to our callback.
Either way `connect_store` checks the keys with a cheap read, stores them encrypted, creates a
fresh webhook secret and registers the webhooks whose ids it records.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from plugin.errors import AuthenticationFailed, NotFound, PermanentError
from plugin.platforms.addresses import is_public_address

logger = logging.getLogger(__name__)

# What a store must tell us about (shared/reference/woocommerce/webhooks.md, "Topics").
WEBHOOK_TOPICS = ("order.created", "order.updated", "product.updated")
WEBHOOK_NAME = "Backorders {topic}"
APP_NAME = "Backorders"
AUTH_SCOPE = "read_write"
AUTHORIZE_PATH = "/wc-auth/v1/authorize"
STATE_MAX_AGE = 15 * 60  # seconds an authorization may take, from click to callback
_STATE_SALT = "backorders.wc-auth.state"

Resolver = Callable[[str, int], Iterable[str]]


class ConnectError(PermanentError):
    """The store could not be connected; `reason` says why, the message says it to a human."""

    reason = "connect_failed"


class InvalidStoreUrl(ConnectError):
    reason = "invalid_store_url"


class InvalidState(ConnectError):
    reason = "invalid_state"


class InvalidKeys(ConnectError):
    reason = "invalid_keys"


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


def webhook_delivery_url(public_url: str, store_id: int) -> str:
    """Where a store delivers its webhooks for `store_id` (see webhooks/)."""
    return f"{public_url.rstrip('/')}/webhooks/woocommerce/{store_id}"


# -- connecting ------------------------------------------------------------------------------


class StoreClient(Protocol):
    """The part of connectors/woocommerce/client.py:WooCommerceClient we use here."""

    def check_credentials(self) -> None: ...

    def list_webhooks(self) -> list[dict[str, Any]]: ...

    def create_webhook(
        self, *, topic: str, delivery_url: str, secret: str, name: str = ..., status: str = ...
    ) -> dict[str, Any]: ...

    def delete_webhook(self, webhook_id: int | str) -> dict[str, Any]: ...


ClientFactory = Callable[[str, str, str], StoreClient]


def default_client_factory(development: bool) -> ClientFactory:
    """WooCommerceClients for stores (imported late so this module stays light); outside
    development they connect to public addresses only, checked on every connection."""

    def client(base_url: str, consumer_key: str, consumer_secret: str) -> StoreClient:
        from plugin.platforms.woocommerce.client import WooCommerceClient

        made: StoreClient = WooCommerceClient(
            base_url, consumer_key, consumer_secret, allow_private_addresses=development
        )
        return made

    return client


def check_keys(client: StoreClient) -> None:
    """One cheap authenticated read; InvalidKeys when the store refuses the key pair."""
    try:
        client.check_credentials()
    except AuthenticationFailed as exc:
        raise InvalidKeys(
            "The store refused these keys. Check the consumer key and secret, and that the key "
            "has Read/Write access."
        ) from exc
    except NotFound as exc:
        raise ConnectError(
            "No WooCommerce REST API was found at this URL (is it the store's home page?)."
        ) from exc


def register_webhooks(
    client: StoreClient, *, delivery_url: str, secret: str, topics: Iterable[str] = WEBHOOK_TOPICS
) -> list[int]:
    """Create one webhook per topic; on failure delete those already created and re-raise."""
    created: list[int] = []
    try:
        for topic in topics:
            webhook = client.create_webhook(
                name=WEBHOOK_NAME.format(topic=topic),
                topic=topic,
                delivery_url=delivery_url,
                secret=secret,
            )
            created.append(int(webhook["id"]))
    except Exception:
        delete_webhooks(client, created)
        raise
    return created


def delete_webhooks(client: StoreClient, webhook_ids: Iterable[int]) -> list[int]:
    """Delete our webhooks; returns the ids that could not be deleted (already gone is fine)."""
    failed: list[int] = []
    for webhook_id in webhook_ids:
        try:
            client.delete_webhook(int(webhook_id))
        except NotFound:
            continue
        except Exception:  # noqa: BLE001 - best effort: report, keep deleting the others
            logger.warning("could not delete webhook id=%s", webhook_id, exc_info=True)
            failed.append(int(webhook_id))
    return failed


def _webhooks_intact(client: StoreClient, webhook_ids: Iterable[int], delivery_url: str) -> bool:
    """True when every recorded webhook still exists, is active and points at us."""
    expected = {int(i) for i in webhook_ids}
    if not expected:
        return False
    found = {int(w["id"]): w for w in client.list_webhooks() if int(w.get("id", 0)) in expected}
    return set(found) == expected and all(
        w.get("status") == "active" and w.get("delivery_url") == delivery_url
        for w in found.values()
    )


def connect_store(
    stores: Any,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    public_url: str,
    development: bool,
    name: str | None = None,
    merchant_id: int | None = None,
    client_factory: ClientFactory | None = None,
    resolve: Resolver = resolve_host,
) -> int:
    """Connect a store: check URL and keys, store them encrypted, register webhooks.

    Returns the new store's id. A bad URL or key pair keeps nothing; when registering the
    webhooks fails, the webhooks already made are deleted and the store row stays disconnected.
    """
    base_url = validate_store_url(base_url, development=development, resolve=resolve)
    consumer_key, consumer_secret = (consumer_key or "").strip(), (consumer_secret or "").strip()
    if not consumer_key or not consumer_secret:
        raise InvalidKeys("Both the consumer key and the consumer secret are needed.")
    client = (client_factory or default_client_factory(development))(
        base_url, consumer_key, consumer_secret
    )
    check_keys(client)
    webhook_secret = secrets.token_urlsafe(32)  # fresh per store; signs its deliveries
    store_id = int(
        stores.create(
            name=(name or urlsplit(base_url).netloc)[:MAX_STORE_NAME_LENGTH],
            base_url=base_url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            webhook_secret=webhook_secret,
            merchant_id=merchant_id,
        ).id
    )
    try:
        # The store pings the delivery URL while creating each webhook, so the store row
        # (holding the secret) must exist first (shared/reference/woocommerce/README.md).
        webhook_ids = register_webhooks(
            client, delivery_url=webhook_delivery_url(public_url, store_id), secret=webhook_secret
        )
    except Exception:
        stores.set_status(store_id, "disconnected")
        raise
    stores.update(store_id, webhook_ids=webhook_ids)
    logger.info("store connected store_id=%s webhooks=%s", store_id, webhook_ids)
    return store_id


def ensure_connected(
    stores: Any,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    public_url: str,
    development: bool,
    name: str | None = None,
    client_factory: ClientFactory | None = None,
    resolve: Resolver = resolve_host,
) -> int:
    """Idempotent connect for `make run`: reuse a connected store with this URL and keys,
    re-registering its webhooks only when they are no longer all there."""
    normalised = validate_store_url(base_url, development=development, resolve=resolve)
    for store in stores.list(status="connected"):
        if store.base_url != normalised:
            continue
        credentials = stores.credentials(store.id)
        client = (client_factory or default_client_factory(development))(
            normalised, consumer_key, consumer_secret
        )
        check_keys(client)
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
        delivery_url = webhook_delivery_url(public_url, store.id)
        if not _webhooks_intact(client, store.webhook_ids or [], delivery_url):
            delete_webhooks(client, store.webhook_ids or [])
            webhook_ids = register_webhooks(
                client, delivery_url=delivery_url, secret=credentials.webhook_secret
            )
            stores.update(store.id, webhook_ids=webhook_ids)
            logger.info("webhooks re-registered store_id=%s webhooks=%s", store.id, webhook_ids)
        return int(store.id)
    return connect_store(
        stores,
        normalised,
        consumer_key,
        consumer_secret,
        public_url=public_url,
        development=development,
        name=name,
        client_factory=client_factory,
        resolve=resolve,
    )


def disconnect_store(
    stores: Any,
    store_id: int,
    *,
    development: bool = False,
    client_factory: ClientFactory | None = None,
) -> list[int]:
    """Delete the store's webhooks and mark it disconnected. Returns webhook ids that could
    not be deleted (the store is disconnected anyway; its deliveries will be refused)."""
    store = stores.get(store_id)
    if store is None:
        raise ConnectError(f"Store {store_id} does not exist.", reason="unknown_store")
    credentials = stores.credentials(store_id)
    client = (client_factory or default_client_factory(development))(
        credentials.base_url, credentials.consumer_key, credentials.consumer_secret
    )
    failed = delete_webhooks(client, store.webhook_ids or [])
    stores.update(store_id, webhook_ids=failed)
    stores.set_status(store_id, "disconnected")
    logger.info("store disconnected store_id=%s undeleted_webhooks=%s", store_id, failed)
    return failed


# -- WooCommerce app authorization (/wc-auth/v1/authorize) -----------------------------------


class NonceClaims(Protocol):
    def claim(self, nonce: str, ttl_seconds: int) -> bool:
        """True the first time `nonce` is claimed, False ever after (within the TTL)."""
        ...


class RedisNonceClaims:
    """Single-use claims kept in Redis (`SET NX EX`), shared by every web process."""

    def __init__(self, redis: Any, prefix: str = "backorders:wc-auth:used:") -> None:
        self._redis = redis
        self._prefix = prefix

    def claim(self, nonce: str, ttl_seconds: int) -> bool:
        return bool(self._redis.set(self._prefix + nonce, b"1", nx=True, ex=ttl_seconds))


@dataclass(frozen=True)
class PendingAuthorization:
    """What the signed state carries from the authorize click to the callback."""

    store_url: str
    nonce: str
    merchant_id: int | None = None


class AuthorizationStates:
    """Signed, expiring, single-use state tokens for the authorize flow.

    The token is the `user_id` WooCommerce echoes back and the last path segment of our
    callback URL; the keys WooCommerce POSTs carry nothing else to tie them to a store.
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


def build_authorize_url(
    store_url: str, *, state: str, return_url: str, callback_url: str, app_name: str = APP_NAME
) -> str:
    """The store's `/wc-auth/v1/authorize` URL, every query value encoded (authentication.md)."""
    params = {
        "app_name": app_name,
        "scope": AUTH_SCOPE,
        "user_id": state,
        "return_url": return_url,
        "callback_url": callback_url,
    }
    return f"{store_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(params)}"


@dataclass(frozen=True)
class AppKeys:
    """The JSON WooCommerce POSTs to callback_url (authentication.md, "JSON posted")."""

    consumer_key: str
    consumer_secret: str
    key_permissions: str
    user_id: str
    key_id: int | None = None


def parse_app_keys(body: object) -> AppKeys:
    """Validate the callback body; InvalidKeys when a field is missing or the scope is wrong."""
    if not isinstance(body, Mapping):
        raise InvalidKeys("The callback body is not a JSON object.")
    fields = {}
    for key in ("consumer_key", "consumer_secret", "key_permissions", "user_id"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise InvalidKeys(f"The callback body lacks {key}.")
        fields[key] = value
    if fields["key_permissions"] != AUTH_SCOPE:
        raise InvalidKeys(f"The key must allow {AUTH_SCOPE}, not {fields['key_permissions']}.")
    key_id = body.get("key_id")
    return AppKeys(
        consumer_key=fields["consumer_key"],
        consumer_secret=fields["consumer_secret"],
        key_permissions=fields["key_permissions"],
        user_id=fields["user_id"],
        key_id=key_id if isinstance(key_id, int) and not isinstance(key_id, bool) else None,
    )


def accept_app_keys(
    stores: Any,
    states: AuthorizationStates,
    token: str,
    body: object,
    *,
    public_url: str,
    development: bool,
    client_factory: ClientFactory | None = None,
    resolve: Resolver = resolve_host,
) -> int:
    """Handle WooCommerce's callback POST: redeem the state once, then connect the store."""
    keys = parse_app_keys(body)
    if not secrets.compare_digest(keys.user_id.encode(), token.encode()):
        raise InvalidState("The callback does not belong to this authorization.")
    pending = states.redeem(token)
    return connect_store(
        stores,
        pending.store_url,
        keys.consumer_key,
        keys.consumer_secret,
        public_url=public_url,
        development=development,
        merchant_id=pending.merchant_id,
        client_factory=client_factory,
        resolve=resolve,
    )
