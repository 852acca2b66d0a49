"""Calculated query cost, the leaky bucket per app and shop, and the fault switches."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask

from tests.functional.sandbox_shopify.conftest import ShopifyApi, snapshot, variant_by_sku


def _bucket(app: Flask, maximum: float, restore_rate: float = 0.0) -> None:
    response = app.test_client().post(
        "/sandbox/shopify/bucket", json={"maximum": maximum, "restore_rate": restore_rate}
    )
    assert response.status_code == 200


def _cost(body: dict[str, Any]) -> tuple[Any, Any, Any]:
    cost = body["extensions"]["cost"]
    return (
        cost["requestedQueryCost"],
        cost["actualQueryCost"],
        cost["throttleStatus"]["currentlyAvailable"],
    )


def test_requested_and_actual_cost(app: Flask, api: ShopifyApi) -> None:
    _bucket(app, 2000)
    assert _cost(api.gql("{ shop { name } }")) == (1, 1, 1999)
    assert _cost(api.gql("{ products(first: 10) { nodes { title } } }")) == (12, 7, 1992)
    nested = (
        "{ products(first: 2) { edges { node { title variants(first: 3) { nodes { sku } } } } } }"
    )
    # 2 + 2 x (1 + 2 + 3 x 1) requested; 2 + (1 + 2 + 1) + (1 + 2 + 1) actual (one variant each)
    assert _cost(api.gql(nested)) == (14, 10, 1982)
    assert _cost(api.gql('{ order(id: "gid://shopify/Order/1") { id } }')) == (1, 0, 1982)
    body = api.gql("{ shop { name } }")
    assert body["extensions"]["cost"]["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 1981,
        "restoreRate": 0.0,
    }


def test_mutation_costs_ten(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    _bucket(app, 2000)
    apron = variant_by_sku(sandbox, "APRON-LINEN")
    query = """mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) {
      node { id } userErrors { message } } }"""
    assert _cost(api.gql(query, {"id": apron["_product"], "tags": ["x"]})) == (10, 10, 1990)


def test_throttled_when_the_bucket_is_short_and_nothing_runs(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    _bucket(app, 50)
    apron = variant_by_sku(sandbox, "APRON-LINEN")
    query = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $productId, variants:
        $variants) { userErrors { message } } }"""
    variables = {
        "productId": apron["_product"],
        "variants": [{"id": apron["id"], "inventoryPolicy": "CONTINUE"}],
    }
    for _ in range(5):
        assert "errors" not in api.gql(query, variables)
    before = snapshot(sandbox)
    body = api.gql(query, variables)
    assert body == {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": 10,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 50.0,
                    "currentlyAvailable": 0,
                    "restoreRate": 0.0,
                },
            }
        },
    }
    assert snapshot(sandbox) == before


def test_the_bucket_restores_over_time(app: Flask, api: ShopifyApi) -> None:
    _bucket(app, 10, restore_rate=1000.0)
    query = "{ products(first: 8) { nodes { title } } }"
    assert "errors" not in api.gql(query)
    # restored within about 10 ms at 1000 points a second: await it with a deadline
    deadline = time.monotonic() + 5
    while "errors" in (body := api.gql(query)) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert "errors" not in body


def test_single_query_max_cost(app: Flask, api: ShopifyApi) -> None:
    _bucket(app, 2000)
    body = api.gql("{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }")
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"] == {
        "code": "MAX_COST_EXCEEDED",
        "cost": 63252,
        "maxCost": 1000,
        "documentation": "https://shopify.dev/api/usage/rate-limits",
    }
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000


def test_one_bucket_per_app_shared_by_its_tokens(app: Flask, sandbox: Any) -> None:
    _bucket(app, 100)
    public = sandbox.apps.by_client_id["backorders-sandbox-client"]
    first = ShopifyApi(app.test_client(), sandbox.apps.grant(public, ["read_products"]))
    second = ShopifyApi(app.test_client(), sandbox.apps.grant(public, ["read_products"]))
    custom = ShopifyApi(app.test_client())
    query = "{ products(first: 40) { nodes { title } } }"  # requested 42, actual 7
    assert _cost(first.gql(query))[2] == 93
    assert _cost(second.gql(query))[2] == 86
    assert _cost(custom.gql(query))[2] == 93


def test_fault_switches_at_runtime(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    client = app.test_client()
    before = snapshot(sandbox)
    assert client.post("/sandbox/faults", json={"throttle_rate": 1.0}).status_code == 200
    body = api.gql("{ shop { name } }")
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    client.post("/sandbox/faults", json={"throttle_rate": 0.0, "error_rate": 1.0, "seed": 3})
    statuses = {api.post("{ shop { name } }").status_code for _ in range(12)}
    assert statuses == {500, 502, 503}
    client.post("/sandbox/faults", json={"error_rate": 0.0})
    _bucket(app, 2000)  # the throttling fault emptied the bucket; start full again
    assert api.data("{ shop { name } }") == {"shop": {"name": "Backorders Sandbox"}}
    refused = client.post("/sandbox/faults", json={"error_rate": 2})
    assert refused.status_code == 400
    assert client.get("/sandbox/faults").get_json()["error_rate"] == 0.0
    assert snapshot(sandbox) == before
