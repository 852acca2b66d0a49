"""Products, variants, locations and stock through the Admin GraphQL API."""

from __future__ import annotations

from typing import Any

from tests.functional.sandbox_shopify.conftest import (
    ShopifyApi,
    locations,
    snapshot,
    variant_by_sku,
)

VARIANT_QUERY = """
query Variant($id: ID!) {
  productVariant(id: $id) {
    id sku inventoryPolicy inventoryQuantity availableForSale
    product { id title }
    inventoryItem {
      id tracked
      inventoryLevels(first: 5) {
        edges { cursor node {
          id location { id name }
          quantities(names: ["available", "committed", "on_hand", "incoming", "reserved"]) {
            name quantity
          }
        } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""

BULK_UPDATE = """
mutation Allow($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    product { id }
    productVariants { id inventoryPolicy price }
    userErrors { field message code }
  }
}
"""


def _levels(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    edges = data["productVariant"]["inventoryItem"]["inventoryLevels"]["edges"]
    return {
        e["node"]["location"]["name"]: {q["name"]: q["quantity"] for q in e["node"]["quantities"]}
        for e in edges
    }


def test_variant_reads_policy_and_quantities_at_both_locations(
    api: ShopifyApi, sandbox: Any
) -> None:
    mug = variant_by_sku(sandbox, "MUG-BLUE")
    data = api.data(VARIANT_QUERY, {"id": mug["id"]})
    variant = data["productVariant"]
    assert variant["inventoryPolicy"] == "DENY"
    assert variant["inventoryQuantity"] == 12
    assert variant["availableForSale"] is True
    assert variant["product"]["title"] == "Blue Mug"
    assert variant["inventoryItem"]["tracked"] is True
    assert _levels(data) == {
        "Warehouse": {"available": 10, "committed": 0, "on_hand": 10, "incoming": 0, "reserved": 0},
        "Shop floor": {"available": 2, "committed": 0, "on_hand": 2, "incoming": 0, "reserved": 0},
    }


def test_products_page_with_cursors(api: ShopifyApi) -> None:
    query = """
        query($after: String) { products(first: 2, after: $after) { nodes { title }
        pageInfo { hasNextPage hasPreviousPage endCursor } } }
    """
    first = api.data(query)["products"]
    assert [p["title"] for p in first["nodes"]] == ["Blue Mug", "Walnut Board"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = api.data(query, {"after": first["pageInfo"]["endCursor"]})["products"]
    assert [p["title"] for p in second["nodes"]] == ["Copper Kettle", "Linen Apron"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    third = api.data(query, {"after": second["pageInfo"]["endCursor"]})["products"]
    assert [p["title"] for p in third["nodes"]] == ["Tea Towel"]
    assert third["pageInfo"]["hasNextPage"] is False


def test_products_search_by_sku(api: ShopifyApi) -> None:
    data = api.data('{ products(first: 10, query: "sku:TOWEL-RED") { nodes { title } } }')
    assert data["products"]["nodes"] == [{"title": "Tea Towel"}]


def test_bulk_update_allows_backorders(api: ShopifyApi, sandbox: Any) -> None:
    apron = variant_by_sku(sandbox, "APRON-LINEN")
    variables = {
        "productId": apron["_product"],
        "variants": [{"id": apron["id"], "inventoryPolicy": "CONTINUE"}],
    }
    data = api.data(BULK_UPDATE, variables)["productVariantsBulkUpdate"]
    assert data == {
        "product": {"id": apron["_product"]},
        "productVariants": [{"id": apron["id"], "inventoryPolicy": "CONTINUE", "price": "25.0"}],
        "userErrors": [],
    }
    assert api.data(VARIANT_QUERY, {"id": apron["id"]})["productVariant"]["availableForSale"]


def test_bulk_update_refuses_a_variant_of_another_product_and_changes_nothing(
    api: ShopifyApi, sandbox: Any
) -> None:
    apron, mug = variant_by_sku(sandbox, "APRON-LINEN"), variant_by_sku(sandbox, "MUG-BLUE")
    before = snapshot(sandbox)
    variables = {
        "productId": apron["_product"],
        "variants": [
            {"id": apron["id"], "inventoryPolicy": "CONTINUE"},
            {"id": mug["id"], "inventoryPolicy": "CONTINUE"},
        ],
    }
    data = api.data(BULK_UPDATE, variables)["productVariantsBulkUpdate"]
    assert data == {
        "product": None,
        "productVariants": None,
        "userErrors": [
            {
                "field": ["variants", "1", "id"],
                "message": "Product variant does not exist",
                "code": "PRODUCT_VARIANT_DOES_NOT_EXIST",
            }
        ],
    }
    assert snapshot(sandbox) == before


def test_bulk_update_refuses_inventory_quantities(api: ShopifyApi, sandbox: Any) -> None:
    apron = variant_by_sku(sandbox, "APRON-LINEN")
    before = snapshot(sandbox)
    variables = {
        "productId": apron["_product"],
        "variants": [
            {
                "id": apron["id"],
                "inventoryQuantities": [
                    {"locationId": locations(sandbox)[0], "availableQuantity": 5}
                ],
            }
        ],
    }
    errors = api.data(BULK_UPDATE, variables)["productVariantsBulkUpdate"]["userErrors"]
    assert [e["code"] for e in errors] == ["NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE"]
    assert snapshot(sandbox) == before


ADJUST = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) {
    inventoryAdjustmentGroup { reason referenceDocumentUri changes
      { name delta quantityAfterChange location { name } } }
    userErrors { field message code }
  }
}
"""
SET = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}
"""


def test_adjust_raises_available_stock(api: ShopifyApi, sandbox: Any) -> None:
    board = variant_by_sku(sandbox, "BOARD-WALNUT")
    warehouse = locations(sandbox)[0]
    variables = {
        "input": {
            "reason": "received",
            "name": "available",
            "referenceDocumentUri": "backorders://purchase-orders/7",
            "changes": [{"delta": 4, "inventoryItemId": board["_item"], "locationId": warehouse}],
        }
    }
    group = api.data(ADJUST, variables)["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]
    assert group == {
        "reason": "received",
        "referenceDocumentUri": "backorders://purchase-orders/7",
        "changes": [
            {
                "name": "available",
                "delta": 4,
                "quantityAfterChange": 4,
                "location": {"name": "Warehouse"},
            },
            {
                "name": "on_hand",
                "delta": 4,
                "quantityAfterChange": 4,
                "location": {"name": "Warehouse"},
            },
        ],
    }
    assert _levels(api.data(VARIANT_QUERY, {"id": board["id"]}))["Warehouse"]["available"] == 4


def test_adjust_refuses_an_unknown_reason_and_a_missing_ledger_and_changes_nothing(
    api: ShopifyApi, sandbox: Any
) -> None:
    board = variant_by_sku(sandbox, "BOARD-WALNUT")
    change = {"delta": 4, "inventoryItemId": board["_item"], "locationId": locations(sandbox)[0]}
    before = snapshot(sandbox)
    bad_reason = {"input": {"reason": "found-it", "name": "available", "changes": [change]}}
    payload = api.data(ADJUST, bad_reason)["inventoryAdjustQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "reason"],
            "code": "INVALID_REASON",
            "message": "The specified reason is invalid.",
        }
    ]
    no_ledger = {"input": {"reason": "damaged", "name": "damaged", "changes": [change]}}
    payload = api.data(ADJUST, no_ledger)["inventoryAdjustQuantities"]
    assert [e["code"] for e in payload["userErrors"]] == ["INVALID_QUANTITY_DOCUMENT"]
    assert snapshot(sandbox) == before


def test_set_quantities_compares_first(api: ShopifyApi, sandbox: Any) -> None:
    mug = variant_by_sku(sandbox, "MUG-BLUE")
    floor = locations(sandbox)[1]
    stale = {
        "input": {
            "reason": "correction",
            "name": "available",
            "quantities": [
                {
                    "inventoryItemId": mug["_item"],
                    "locationId": floor,
                    "quantity": 7,
                    "compareQuantity": 3,
                }
            ],
        }
    }
    before = snapshot(sandbox)
    payload = api.data(SET, stale)["inventorySetQuantities"]
    assert [e["code"] for e in payload["userErrors"]] == ["COMPARE_QUANTITY_STALE"]
    assert snapshot(sandbox) == before
    fresh = {
        "input": {
            "reason": "correction",
            "name": "available",
            "quantities": [
                {
                    "inventoryItemId": mug["_item"],
                    "locationId": floor,
                    "quantity": 7,
                    "compareQuantity": 2,
                }
            ],
        }
    }
    payload = api.data(SET, fresh)["inventorySetQuantities"]
    assert payload["userErrors"] == []
    assert payload["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "available", "delta": 5, "quantityAfterChange": 7},
        {"name": "on_hand", "delta": 5, "quantityAfterChange": 7},
    ]


def test_locations(api: ShopifyApi) -> None:
    data = api.data("{ locations(first: 5) { nodes { name isActive fulfillsOnlineOrders } } }")
    assert data["locations"]["nodes"] == [
        {"name": "Warehouse", "isActive": True, "fulfillsOnlineOrders": True},
        {"name": "Shop floor", "isActive": True, "fulfillsOnlineOrders": True},
    ]
