"""Registering, checking, re-enabling and deleting the plugin's webhooks
(plugin/platforms/woocommerce/connect.py) through the plugin's client, on the sandbox and a real
store."""

from __future__ import annotations

import secrets

import pytest

from plugin.errors import NotFound
from plugin.platforms.woocommerce.connect import (
    WEBHOOK_TOPICS,
    delete_webhooks,
    register_webhooks,
    webhooks_intact,
)
from tests.contract.woocommerce.conftest import StoreUnderTest

# Nothing listens on port 9 (discard); a real store refuses to ping it anyway (not an allowed port).
DELIVERY_URL = "http://127.0.0.1:9/webhooks/woocommerce/424242"


def test_register_check_reenable_and_delete(woo: StoreUnderTest) -> None:
    client = woo.client()
    secret = secrets.token_urlsafe(32)
    ids = register_webhooks(client, delivery_url=DELIVERY_URL, secret=secret)
    try:
        assert len(ids) == 3
        found = {int(w["id"]): w for w in client.list_webhooks() if int(w["id"]) in ids}
        assert sorted((w["topic"], w["status"], w["delivery_url"], w["name"])
                      for w in found.values()) == sorted(
            (topic, "active", DELIVERY_URL, f"Backorders {topic}") for topic in WEBHOOK_TOPICS
        )  # fmt: skip
        assert webhooks_intact(client, ids, DELIVERY_URL)
        assert not webhooks_intact(client, ids, DELIVERY_URL + "0")

        disabled = client.update_webhook(ids[0], status="disabled")
        assert (disabled["id"], disabled["status"]) == (ids[0], "disabled")
        assert not webhooks_intact(client, ids, DELIVERY_URL)
        assert client.update_webhook(ids[0], status="active")["status"] == "active"
        assert webhooks_intact(client, ids, DELIVERY_URL)
    finally:
        assert delete_webhooks(client, ids) == []
    assert [w for w in client.list_webhooks() if int(w["id"]) in ids] == []
    assert delete_webhooks(client, ids) == []  # already gone is fine
    with pytest.raises(NotFound):
        client.delete_webhook(ids[0])
