"""The response checker itself: it must reject what does not fit the selection's types, or the
checks every other test makes through it would prove nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from graphql import parse

from sandbox.shopify import schema
from sandbox.shopify.app import create_app
from tests.functional.sandbox_shopify.conformance import Nonconformance, check
from tests.functional.sandbox_shopify.conftest import ShopifyApi, require_schema

QUERY = """query($id: ID!) { order(id: $id) {
  id createdAt displayFinancialStatus totalPriceSet { shopMoney { amount } }
  lineItems(first: 1) { nodes { quantity } }
  ... on Order { closed }
} }"""
GOOD = {
    "order": {
        "id": "gid://shopify/Order/1",
        "createdAt": "2025-01-01T10:00:00Z",
        "displayFinancialStatus": "PAID",
        "totalPriceSet": {"shopMoney": {"amount": "10.0"}},
        "lineItems": {"nodes": [{"quantity": 2}]},
        "closed": False,
    }
}


def _with(path: list[str], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def test_a_conforming_response_passes() -> None:
    require_schema()
    check(schema.admin_schema(), parse(QUERY), GOOD, {"id": "x"})


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["order", "closed"], KeyError),  # a selected key missing
        (["order", "extra"], 1),  # a key nobody selected
        (["order", "createdAt"], "yesterday"),  # not a DateTime
        (["order", "displayFinancialStatus"], "SETTLED"),  # not a value of the enum
        (["order", "totalPriceSet", "shopMoney", "amount"], 10),  # Decimal must be a string
        (["order", "totalPriceSet"], None),  # null in a non-null field
        (["order", "lineItems", "nodes"], {"quantity": 2}),  # an object for a list
        (["order", "closed"], "false"),  # a string for a Boolean
    ],
)
def test_each_kind_of_wrong_value_is_caught(path: list[str], value: Any) -> None:
    require_schema()
    with pytest.raises(Nonconformance):
        check(schema.admin_schema(), parse(QUERY), _with(path, value), {"id": "x"})


def test_faults_given_at_start(app: Flask) -> None:
    broken = create_app(faults={"error_rate": 1.0, "seed": 1})
    try:
        statuses = {
            ShopifyApi(broken.test_client()).post("{ shop { name } }").status_code for _ in range(5)
        }
        assert statuses <= {500, 502, 503} and statuses
    finally:
        broken.extensions["shopify_sandbox"].deliverer.close()
