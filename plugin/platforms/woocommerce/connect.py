"""Connecting a WooCommerce store: the key check, our webhook subscriptions and the app
authorization flow (`/wc-auth/v1/authorize`, shared/reference/woocommerce/authentication.md).

The use case (plugin/usecases/connecting.py) checks the URL, stores the keys and records the
webhooks; this module does what only WooCommerce does: one cheap authenticated read to check a
key pair, one webhook per topic of `webhooks.TOPICS` (named "Backorders <topic>", signed with the
store's secret; the store pings the delivery URL while it creates each one), and the authorize
URL whose callback brings the keys WooCommerce generated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

from plugin.errors import AuthenticationFailed, ConnectError, InvalidKeys, NotFound
from plugin.platforms.woocommerce.webhooks import TOPICS
from plugin.ports import AppKeys

logger = logging.getLogger(__name__)

# What a store must tell us about (shared/reference/woocommerce/webhooks.md, "Topics").
WEBHOOK_TOPICS = tuple(TOPICS)
WEBHOOK_NAME = "Backorders {topic}"
APP_NAME = "Backorders"
AUTH_SCOPE = "read_write"
AUTHORIZE_PATH = "/wc-auth/v1/authorize"
ACTIVE = "active"  # webhooks.md `status`: active, paused, disabled


class StoreClient(Protocol):
    """The part of client.py:WooCommerceClient connecting uses."""

    def check_credentials(self) -> None: ...

    def list_webhooks(self) -> list[dict[str, Any]]: ...

    def create_webhook(
        self, *, topic: str, delivery_url: str, secret: str, name: str = ..., status: str = ...
    ) -> dict[str, Any]: ...

    def delete_webhook(self, webhook_id: int | str) -> dict[str, Any]: ...


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


def webhooks_intact(client: StoreClient, webhook_ids: Iterable[int], delivery_url: str) -> bool:
    """True when every recorded webhook still exists, is active and points at us."""
    expected = {int(i) for i in webhook_ids}
    if not expected:
        return False
    found = {int(w["id"]): w for w in client.list_webhooks() if int(w.get("id", 0)) in expected}
    return set(found) == expected and all(
        w.get("status") == ACTIVE and w.get("delivery_url") == delivery_url for w in found.values()
    )


class WooCommerceConnection:
    """`plugin.ports.StoreConnection` over a client made with the keys being connected."""

    def __init__(self, client: StoreClient) -> None:
        self.client = client

    def check_credentials(self) -> None:
        check_keys(self.client)

    def register_webhooks(self, *, delivery_url: str, secret: str) -> list[int]:
        return register_webhooks(self.client, delivery_url=delivery_url, secret=secret)

    def delete_webhooks(self, webhook_ids: Iterable[int]) -> list[int]:
        return delete_webhooks(self.client, webhook_ids)

    def webhooks_intact(self, webhook_ids: Iterable[int], delivery_url: str) -> bool:
        return webhooks_intact(self.client, webhook_ids, delivery_url)


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
