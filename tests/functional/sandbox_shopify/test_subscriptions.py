"""Webhook subscriptions through the Admin API, per app."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.functional.sandbox_shopify.conftest import ShopifyApi, snapshot

CREATE = """
mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic format apiVersion { handle } endpoint
      { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
    userErrors { field message }
  }
}
"""
LIST = """
query($topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 10, topics: $topics) { nodes { topic endpoint
    { ... on WebhookHttpEndpoint { callbackUrl } } } }
}
"""


def test_create_list_update_delete(api: ShopifyApi) -> None:
    url = "https://backorders.example/webhooks/shopify/1"
    created = api.data(
        CREATE, {"topic": "ORDERS_CREATE", "sub": {"callbackUrl": url, "format": "JSON"}}
    )
    subscription = created["webhookSubscriptionCreate"]["webhookSubscription"]
    assert subscription["topic"] == "ORDERS_CREATE"
    assert subscription["format"] == "JSON"
    assert subscription["apiVersion"] == {"handle": "2025-01"}
    assert subscription["endpoint"] == {"__typename": "WebhookHttpEndpoint", "callbackUrl": url}
    api.data(CREATE, {"topic": "INVENTORY_LEVELS_UPDATE", "sub": {"callbackUrl": url}})
    listed = api.data(LIST, {"topics": ["ORDERS_CREATE"]})["webhookSubscriptions"]["nodes"]
    assert listed == [{"topic": "ORDERS_CREATE", "endpoint": {"callbackUrl": url}}]
    update = """mutation($id: ID!, $sub: WebhookSubscriptionInput!) { webhookSubscriptionUpdate(id:
      $id, webhookSubscription: $sub) {
      webhookSubscription { endpoint { ... on WebhookHttpEndpoint
        { callbackUrl } } } userErrors { message } } }"""
    moved = api.data(update, {"id": subscription["id"], "sub": {"callbackUrl": url + "/v2"}})
    assert (
        moved["webhookSubscriptionUpdate"]["webhookSubscription"]["endpoint"]["callbackUrl"]
        == url + "/v2"
    )
    delete = """
        mutation($id: ID!) { webhookSubscriptionDelete(id: $id) {
        deletedWebhookSubscriptionId userErrors { message } } }
    """
    deleted = api.data(delete, {"id": subscription["id"]})["webhookSubscriptionDelete"]
    assert deleted == {"deletedWebhookSubscriptionId": subscription["id"], "userErrors": []}
    assert [n["topic"] for n in api.data(LIST)["webhookSubscriptions"]["nodes"]] == [
        "INVENTORY_LEVELS_UPDATE"
    ]


def test_refusals_change_nothing(api: ShopifyApi, sandbox: Any) -> None:
    url = "https://backorders.example/hooks"
    api.data(CREATE, {"topic": "ORDERS_PAID", "sub": {"callbackUrl": url}})
    before = snapshot(sandbox)
    duplicate = api.data(CREATE, {"topic": "ORDERS_PAID", "sub": {"callbackUrl": url}})
    assert duplicate["webhookSubscriptionCreate"] == {
        "webhookSubscription": None,
        "userErrors": [
            {
                "field": ["webhookSubscription", "callbackUrl"],
                "message": "Address for this topic has already been taken",
            }
        ],
    }
    blank = api.data(CREATE, {"topic": "ORDERS_PAID", "sub": {}})
    assert blank["webhookSubscriptionCreate"]["userErrors"] == [
        {"field": ["webhookSubscription", "callbackUrl"], "message": "Address can't be blank"}
    ]
    unknown_topic = api.gql(CREATE, {"topic": "ORDERS_SPLIT", "sub": {"callbackUrl": url}})
    assert unknown_topic["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    assert snapshot(sandbox) == before


def test_subscriptions_are_per_app(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    api.data(CREATE, {"topic": "ORDERS_CREATE", "sub": {"callbackUrl": "https://custom.example/h"}})
    public = sandbox.apps.by_client_id["backorders-sandbox-client"]
    other = ShopifyApi(app.test_client(), sandbox.apps.grant(public, ["read_orders"]))
    assert other.data(LIST)["webhookSubscriptions"]["nodes"] == []
