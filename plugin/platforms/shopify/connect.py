"""Connecting a Shopify shop: the OAuth authorization code grant of a public app, or a custom
app's access token pasted by the merchant; then our webhook subscriptions.

The grant (shopify.dev/docs/apps/build/authentication-authorization/access-tokens/
authorization-code-grant, "Implement authorization code grant manually"):
1. We send the merchant to `https://{shop}/admin/oauth/authorize?client_id&scope&redirect_uri&
   state`, `state` a nonce of ours.
2. Shopify redirects back with `code`, `hmac`, `host`, `shop`, `state` and `timestamp`. We check
   that `hmac` is the hex HMAC-SHA256, keyed with the app's client secret, of the other
   parameters sorted and joined as `k=v&k=v`; that `shop` is a `*.myshopify.com` name (and the
   one the merchant started with); that `state` is ours and used for the first time.
3. We exchange the code, once, at `POST https://{shop}/admin/oauth/access_token` (`client_id`,
   `client_secret`, `code`) for an offline token and its `scope`.

A replayed callback fails at step 2 (its state is used up), before any exchange. Nothing here
logs a token, a secret or a code.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import requests

from plugin.errors import AuthenticationFailed, ConnectError, PermanentError, TransientError
from plugin.platforms.public_http import PublicAddressAdapter
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import gid, number
from plugin.platforms.shopify.webhooks import SUBSCRIBED_TOPICS
from plugin.ports import InstalledApp

log = logging.getLogger(__name__)

# What Backorders reads and writes (shopify.dev "Access scopes"): orders and their fulfillment
# orders (holds, splits), order edits and captures; products and inventory (the CONTINUE policy,
# stock per location); customers (their names on the pages).
SCOPES = (
    "read_products",
    "write_products",
    "read_inventory",
    "read_locations",
    "read_orders",
    "write_orders",
    "read_customers",
    "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders",
    "read_order_edits",
    "write_order_edits",
)
# A shop's permanent name: letters, digits and hyphens, not starting with a hyphen.
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com")
STATE_TTL_SECONDS = 600  # a merchant has ten minutes between "connect" and the callback
CALLBACK_MAX_AGE = 600  # seconds a callback's `timestamp` may be old (or ahead, for skew)


class ShopifyConnectError(ConnectError):
    """A shop could not be connected; `reason` says why, the message says it to a human."""

    reason = "connect_failed"


class NonceClaims(Protocol):
    def claim(self, nonce: str, ttl_seconds: int) -> bool:
        """True the first time `nonce` is claimed, False ever after (within the TTL)."""
        ...


@dataclass(frozen=True)
class InstalledShop:
    """What a finished install gives: the shop's name, its offline token and its scopes."""

    shop: str
    access_token: str = field(repr=False)
    scopes: tuple[str, ...]


def shop_domain(value: str) -> str:
    """The shop's `*.myshopify.com` name, lower case; ShopifyConnectError for anything else
    (another host, a path, a port, credentials, a look-alike such as `x.myshopify.com.evil`)."""
    name = (value or "").strip().lower()
    if name.startswith("https://"):
        name = name[len("https://") :].rstrip("/")
    if SHOP_DOMAIN.fullmatch(name) is None:
        raise ShopifyConnectError(
            f"{value!r} is not a Shopify shop name (expected <name>.myshopify.com)",
            reason="invalid_shop",
        )
    return name


def query_hmac(params: Mapping[str, str], secret: str) -> str:
    """The hex HMAC-SHA256 Shopify puts in `hmac`: every other parameter, sorted, `k=v&...`."""
    message = "&".join(
        f"{key}={value}"
        for key, value in sorted(params.items())
        if key not in ("hmac", "signature")
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query(params: Mapping[str, str], secret: str) -> bool:
    """True when the query's `hmac` is right for `secret`; constant time."""
    given = params.get("hmac") or ""
    if not secret or not given:
        return False
    return hmac.compare_digest(query_hmac(params, secret).encode(), given.lower().encode())


class OAuthInstall:
    """The authorization code grant of one public app."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        nonces: NonceClaims,
        *,
        scopes: Iterable[str] = SCOPES,
        shop_url: Callable[[str], str] = lambda shop: f"https://{shop}",
        session: requests.Session | None = None,
        allow_private_addresses: bool = False,
        clock: Callable[[], float] = time.time,
        timeout: float = 15.0,
    ) -> None:
        """`shop_url` gives the base URL a shop is reached at (the sandbox stands in for
        `https://<shop>` in development)."""
        self.client_id = client_id
        self._secret = client_secret
        self.nonces = nonces
        self.scopes = tuple(scopes)
        self.shop_url = shop_url
        if session is None:
            session = requests.Session()
            if not allow_private_addresses:
                session.mount("https://", PublicAddressAdapter())
        self.session = session
        self.clock = clock
        self.timeout = timeout

    def authorize_url(self, shop: str, *, state: str, redirect_uri: str) -> str:
        """Where to send the merchant to approve the install (step 1)."""
        query = urlencode(
            {
                "client_id": self.client_id,
                "scope": ",".join(self.scopes),
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{self.shop_url(shop_domain(shop))}/admin/oauth/authorize?{query}"

    def check_launch(self, query: Mapping[str, str]) -> str:
        """The shop of a signed request Shopify sends when the merchant opens or installs the
        app (`hmac`, `shop`, `timestamp`, ...); ShopifyConnectError when it is not Shopify's."""
        if not verify_query(query, self._secret):
            raise ShopifyConnectError("the request is not signed by Shopify", reason="bad_hmac")
        self._check_fresh(query)
        return shop_domain(query.get("shop", ""))

    def complete(
        self, query: Mapping[str, str], *, expected_state: str, expected_shop: str | None = None
    ) -> InstalledShop:
        """Check the callback (step 2) and exchange its code (step 3). The state is claimed only
        once the callback is proven Shopify's, so a forged callback cannot use it up."""
        if not verify_query(query, self._secret):
            raise ShopifyConnectError("the callback is not signed by Shopify", reason="bad_hmac")
        shop = shop_domain(query.get("shop", ""))
        if expected_shop is not None and shop != shop_domain(expected_shop):
            raise ShopifyConnectError(
                "the callback names another shop than the one being connected",
                reason="wrong_shop",
            )
        state = query.get("state") or ""
        if not expected_state or not hmac.compare_digest(state.encode(), expected_state.encode()):
            raise ShopifyConnectError("the callback's state is not ours", reason="invalid_state")
        self._check_fresh(query)
        code = query.get("code") or ""
        if not code:
            raise ShopifyConnectError("the callback has no code", reason="invalid_request")
        if not self.nonces.claim(f"shopify-oauth:{state}", STATE_TTL_SECONDS):
            raise ShopifyConnectError(
                "this install link was used already; start connecting again",
                reason="state_used",
            )
        return self._exchange(shop, code)

    def _check_fresh(self, query: Mapping[str, str]) -> None:
        try:
            stamp = int(query.get("timestamp", ""))
        except ValueError:
            raise ShopifyConnectError("the request has no timestamp", reason="stale") from None
        if abs(self.clock() - stamp) > CALLBACK_MAX_AGE:
            raise ShopifyConnectError("the request is too old", reason="stale")

    def _exchange(self, shop: str, code: str) -> InstalledShop:
        url = f"{self.shop_url(shop)}/admin/oauth/access_token"
        try:
            response = self.session.post(
                url,
                json={"client_id": self.client_id, "client_secret": self._secret, "code": code},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise TransientError(
                "the shop could not be reached to finish the install", reason="connection_error"
            ) from exc
        if response.status_code >= 500:
            raise TransientError(
                f"the shop answered {response.status_code} to the code exchange",
                reason=f"http_{response.status_code}",
            )
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            description = body.get("error_description") if isinstance(body, dict) else None
            raise ShopifyConnectError(
                f"the code exchange was refused ({description or response.status_code})",
                reason="code_refused",
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ShopifyConnectError("the code exchange gave no token", reason="code_refused")
        scopes = tuple(s for s in str(body.get("scope", "")).split(",") if s)
        missing = sorted(set(self.scopes) - _implied(scopes))
        if missing:
            raise ShopifyConnectError(
                f"the app was granted too little: missing {', '.join(missing)}",
                reason="missing_scopes",
            )
        log.info("shopify install shop=%s scopes=%s", shop, len(scopes))
        return InstalledShop(shop, token, scopes)


class ShopifyAppInstall:
    """`plugin.ports.AppInstall` for Shopify: the pages' view of `OAuthInstall`."""

    # `OAuthInstall.complete` refuses with these before it claims the state.
    refused_before_claim = frozenset(
        {"bad_hmac", "invalid_shop", "wrong_shop", "invalid_state", "stale", "invalid_request"}
    )

    def __init__(self, oauth: OAuthInstall) -> None:
        self.oauth = oauth

    def authorize_url(self, account: str, *, state: str, redirect_uri: str) -> str:
        return self.oauth.authorize_url(account, state=state, redirect_uri=redirect_uri)

    def check_launch(self, query: Mapping[str, str]) -> str:
        return self.oauth.check_launch(query)

    def complete(
        self, query: Mapping[str, str], *, expected_state: str, expected_account: str
    ) -> InstalledApp:
        installed = self.oauth.complete(
            query, expected_state=expected_state, expected_shop=expected_account
        )
        return InstalledApp(installed.shop, installed.access_token)


def _implied(scopes: Iterable[str]) -> set[str]:
    """Granted scopes with what they imply (a `write_` scope implies its `read_` one)."""
    granted = set(scopes)
    return granted | {"read_" + s[len("write_") :] for s in granted if s.startswith("write_")}


class ShopifyConnection:
    """A shop reached with a token being connected (before it has a row and a rate limit):
    checking the token, and our webhook subscriptions."""

    def __init__(self, client: ShopifyClient) -> None:
        self.client = client

    def check_credentials(self) -> str:
        """One cheap authenticated read of what we need; the shop's myshopify name.
        ShopifyConnectError when the token is refused or lacks a scope we need."""
        try:
            data = self.client.execute(
                "query check { shop { myshopifyDomain } "
                "locations(first: 1) { nodes { id } } orders(first: 1) { nodes { id } } }"
            )
        except AuthenticationFailed as error:
            raise ShopifyConnectError(
                f"the access token was refused, or lacks a scope Backorders needs ({error.reason})",
                reason="invalid_token",
            ) from error
        return str(data["shop"]["myshopifyDomain"])

    def register_webhooks(self, *, delivery_url: str) -> list[str]:
        """Subscribe to every topic we need (deliveries are signed with the app's secret);
        on failure delete what was made and re-raise. The subscription ids (numbers)."""
        made: list[str] = []
        try:
            for topic in SUBSCRIBED_TOPICS:
                payload = self.client.mutate(
                    "mutation subscribe($topic: WebhookSubscriptionTopic!, $url: URL!) { "
                    "webhookSubscriptionCreate(topic: $topic, webhookSubscription: "
                    "{callbackUrl: $url, format: JSON}) { webhookSubscription { id } "
                    "userErrors { field message } } }",
                    {"topic": topic_enum(topic), "url": delivery_url},
                    "webhookSubscriptionCreate",
                )
                made.append(number(payload["webhookSubscription"]["id"]))
        except Exception:
            self.delete_webhooks(made)
            raise
        return made

    def delete_webhooks(self, webhook_ids: Iterable[str | int]) -> list[str]:
        """Delete our subscriptions; the ids that could not be deleted (gone already is fine)."""
        failed: list[str] = []
        for webhook_id in webhook_ids:
            try:
                self.client.mutate(
                    "mutation unsubscribe($id: ID!) { webhookSubscriptionDelete(id: $id) { "
                    "deletedWebhookSubscriptionId userErrors { field message } } }",
                    {"id": gid("WebhookSubscription", webhook_id)},
                    "webhookSubscriptionDelete",
                )
            except PermanentError as error:
                if "does not exist" not in str(error):
                    failed.append(str(webhook_id))
            except TransientError:
                failed.append(str(webhook_id))
        return failed

    def list_webhooks(self) -> list[tuple[str, str, str]]:
        """Our subscriptions as (id number, header-form topic, callback URL)."""
        data = self.client.execute(
            "query subscriptions { webhookSubscriptions(first: 100) { nodes { id topic "
            "endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } } } }"
        )
        return [
            (
                number(node["id"]),
                topic_header(node["topic"]),
                str((node.get("endpoint") or {}).get("callbackUrl") or ""),
            )
            for node in data["webhookSubscriptions"]["nodes"]
        ]

    def webhooks_intact(self, webhook_ids: Iterable[str | int], delivery_url: str) -> bool:
        """Every recorded subscription still exists and points at us, and every topic we
        need has one."""
        wanted = {str(i) for i in webhook_ids}
        ours = {
            id_: topic
            for id_, topic, url in self.list_webhooks()
            if id_ in wanted and url == delivery_url
        }
        return set(ours) == wanted and set(ours.values()) >= set(SUBSCRIBED_TOPICS)


def topic_enum(topic: str) -> str:
    """`orders/create` -> `ORDERS_CREATE` (GraphQL's WebhookSubscriptionTopic)."""
    return topic.replace("/", "_").upper()


def topic_header(enum_value: str) -> str:
    """`ORDERS_CREATE` -> `orders/create`, for the topics we subscribe to."""
    for topic in SUBSCRIBED_TOPICS:
        if topic_enum(topic) == enum_value:
            return topic
    return enum_value.lower()
