"""The requested cost of the order reads, by Shopify's rules as the sandbox computes them, and
the batch bound they give (plugin/platforms/shopify/order_reads.py)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from plugin.platforms.shopify.mapping import ORDER_FIELDS, truncated
from plugin.platforms.shopify.order_reads import (
    BATCH,
    BULK_COST_PER_ID,
    BULK_TRANSACTIONS,
    MAX_QUERY_COST,
    ORDERS_QUERY,
    SMALL_ORDER_QUERY,
    WHOLE_ORDER_QUERY,
)
from sandbox.shopify import cost, schema


def requested(query: str, variables: dict[str, Any]) -> int:
    if not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")
    operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    return cost.query_cost(schema.admin_schema(), operation, {}, variables)


def test_the_small_reads_cost_what_the_module_says_and_a_batch_stays_under_the_maximum() -> None:
    one = {"id": "gid://shopify/Order/1"}
    assert requested(WHOLE_ORDER_QUERY, one) == 644
    assert requested(SMALL_ORDER_QUERY, one) == 149
    assert requested(ORDERS_QUERY, {"ids": ["gid://shopify/FulfillmentOrder/1"]}) == 150
    assert BULK_COST_PER_ID == 150
    assert BATCH == 6 and BATCH * BULK_COST_PER_ID <= MAX_QUERY_COST


def test_the_whole_read_keeps_its_sizes() -> None:
    assert "lineItems(first: 30)" in ORDER_FIELDS
    assert "fulfillmentOrders(first: 5)" in ORDER_FIELDS
    assert "transactions(first: 20)" in ORDER_FIELDS


def order(lines: bool = False, fos: bool = False, fo_lines: bool = False, txs: int = 1) -> Any:
    return {
        "lineItems": {"pageInfo": {"hasNextPage": lines}, "nodes": []},
        "fulfillmentOrders": {
            "pageInfo": {"hasNextPage": fos},
            "nodes": [{"lineItems": {"pageInfo": {"hasNextPage": fo_lines}, "nodes": []}}],
        },
        "transactions": [{}] * txs,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (order(), False),
        (order(txs=BULK_TRANSACTIONS - 1), False),
        (order(lines=True), True),
        (order(fos=True), True),
        (order(fo_lines=True), True),
        (order(txs=BULK_TRANSACTIONS), True),  # as many as asked: there may be more
    ],
)
def test_an_order_is_truncated_when_any_connection_has_more(data: Any, expected: bool) -> None:
    assert truncated(data, BULK_TRANSACTIONS) is expected
