"""Query cost from the official schema, and the leaky bucket on a fake clock."""

from __future__ import annotations

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from sandbox.shopify import schema
from sandbox.shopify.cost import LeakyBucket, query_cost


@pytest.fixture(scope="module")
def admin():  # type: ignore[no-untyped-def]
    if not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")
    return schema.admin_schema()


def cost(admin, text: str, variables: dict | None = None) -> int:  # type: ignore[no-untyped-def,type-arg]
    document = parse(text)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return query_cost(admin, operation, fragments, variables or {})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ shop { name currencyCode } }", 1),  # object 1, scalar and enum 0
        ("{ shop { name } locations(first: 5) { nodes { name } } }", 1 + 2 + 5),
        ("{ orders(first: 50) { edges { node { id } } pageInfo { hasNextPage } } }", 52),
        ("{ orders(last: 3) { nodes { id customer { id } } } }", 2 + 3 * 2),
        # lineItems and fulfillmentOrders nested: 2 + 10 x (1 + (2 + 5 x 1) + (2 + 3 x (1 + 1)))
        (
            """{ orders(first: 10) { nodes { lineItems(first: 5) { nodes { sku } }
             fulfillmentOrders(first: 3) { nodes { assignedLocation { name } } } } } }""",
            2 + 10 * 16,
        ),
        ('{ node(id: "gid://shopify/Order/1") { id ... on Order { customer { id } } } }', 2),
        ('mutation { tagsAdd(id: "x", tags: []) { node { id } userErrors { message } } }', 10),
        ("query($n: Int) { products(first: $n) { nodes { id } } }", 2 + 7),
        (
            "fragment F on Product { variants(first: 4) { nodes { id } } } "
            "{ products(first: 2) { nodes { ...F } } }",
            2 + 2 * (1 + 2 + 4),
        ),
        ("{ a: shop { name } b: shop { name } }", 2),
    ],
)
def test_requested_cost(admin, query: str, expected: int) -> None:  # type: ignore[no-untyped-def]
    assert cost(admin, query, {"n": 7}) == expected


def test_actual_cost_counts_what_came_back(admin) -> None:  # type: ignore[no-untyped-def]
    document = parse('{ orders(first: 50) { nodes { id customer { id } } } order(id: "x") { id } }')
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    data = {
        "orders": {"nodes": [{"id": "1", "customer": None}, {"id": "2", "customer": {"id": "c"}}]},
        "order": None,
    }
    assert query_cost(admin, operation, {}, {}) == 2 + 50 * 2 + 1
    assert query_cost(admin, operation, {}, {}, data, actual=True) == 2 + 1 + 2


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_takes_refunds_and_restores() -> None:
    clock = Clock()
    bucket = LeakyBucket(1000, 50, clock=clock)
    taken, status = bucket.take("app|shop", 900)
    assert (taken, status.currently_available) == (True, 100)
    taken, status = bucket.take("app|shop", 101)
    assert (taken, status.currently_available) == (False, 100)  # nothing taken
    assert bucket.refund("app|shop", 400).currently_available == 500
    clock.now += 3
    assert bucket.status("app|shop").currently_available == 650
    clock.now += 100
    assert bucket.status("app|shop").currently_available == 1000  # never above the maximum
    assert bucket.take("other|shop", 1000)[0] is True  # one bucket per key
    assert bucket.status("app|shop").as_dict() == {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": 1000,
        "restoreRate": 50.0,
    }
