"""The Shopify sandbox through Flask's test client (a real in-memory shop).

`ShopifyApi.gql` posts a query with the custom app's token and, whenever the response has
data, checks it against the selection's types (`conformance.check`): every test that reads a
response this way also proves it conforms to Shopify's schema.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from graphql import parse

from sandbox.shopify import schema
from sandbox.shopify.app import DEMO_ACCESS_TOKEN, create_app
from tests.functional.sandbox_shopify import conformance

URL = f"/admin/api/{schema.API_VERSION}/graphql.json"


def require_schema() -> None:
    """Skip, saying why, when the official schema is not where the sandbox reads it."""
    if not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")


class ShopifyApi:
    """Posts GraphQL requests and checks what comes back."""

    def __init__(self, client: FlaskClient, token: str = DEMO_ACCESS_TOKEN) -> None:
        self.client = client
        self.token = token

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> Any:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        headers = {"X-Shopify-Access-Token": self.token if token is None else token}
        return self.client.post(URL, json=body, headers=headers)

    def gql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The response body (HTTP 200), its data checked against the selection's types."""
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        if body.get("data") is not None:
            conformance.check(
                schema.admin_schema(),
                parse(query),
                body["data"],
                variables,
                kwargs.get("operation_name"),
            )
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The data of a response that must have no errors."""
        body = self.gql(query, variables, **kwargs)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def app() -> Iterator[Flask]:
    require_schema()
    application = create_app()
    yield application
    application.extensions["shopify_sandbox"].deliverer.close()


@pytest.fixture
def api(app: Flask) -> ShopifyApi:
    return ShopifyApi(app.test_client())


@pytest.fixture
def sandbox(app: Flask) -> Any:
    return app.extensions["shopify_sandbox"]


def snapshot(sandbox: Any) -> dict[str, Any]:
    """A deep copy of every table of the shop, to prove nothing changed."""
    with sandbox.shop.lock:
        return copy.deepcopy({"tables": sandbox.shop.tables, "counters": sandbox.shop.counters})


def variant_by_sku(sandbox: Any, sku: str) -> dict[str, Any]:
    """The seeded variant with this SKU."""
    return next(v for v in sandbox.shop.table("variants").values() if v["sku"] == sku)


def locations(sandbox: Any) -> list[str]:
    """The location gids, primary first."""
    return list(sandbox.shop.table("locations"))


def checkout(
    client: FlaskClient,
    sandbox: Any,
    lines: list[tuple[str, int]],
    payment: str = "card",
    email: str = "ada@example.com",
) -> dict[str, Any]:
    """Buy (sku, quantity) lines through the storefront; the new order (stored object)."""
    for sku, quantity in lines:
        variant = variant_by_sku(sandbox, sku)
        response = client.post(
            "/cart/add", data={"variant_id": variant["id"], "quantity": str(quantity)}
        )
        assert response.status_code == 302
    response = client.post(
        "/checkout",
        data={"email": email, "first_name": "Ada", "last_name": "Lovelace", "payment": payment},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    number = int(response.headers["Location"].rsplit("/", 1)[1])
    return next(o for o in sandbox.shop.table("orders").values() if o["_number"] == number)
