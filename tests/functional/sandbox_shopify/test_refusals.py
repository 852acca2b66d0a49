"""What real Shopify refuses, the sandbox refuses the same way, and nothing changes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.functional.sandbox_shopify.conftest import (
    ShopifyApi,
    snapshot,
    variant_by_sku,
)


def _refused(api: ShopifyApi, sandbox: Any, query: str, variables: Any = None) -> list[Any]:
    """The errors of a request that must not run (no data, nothing changed)."""
    before = snapshot(sandbox)
    body = api.gql(query, variables)
    assert "data" not in body
    assert snapshot(sandbox) == before
    return body["errors"]  # type: ignore[no-any-return]


def test_unknown_field(api: ShopifyApi, sandbox: Any) -> None:
    errors = _refused(api, sandbox, "query Q { shop { name vatNumber } }")
    assert errors == [
        {
            "message": "Field 'vatNumber' doesn't exist on type 'Shop'",
            "locations": [{"line": 1, "column": 23}],
            "path": ["query Q", "shop", "vatNumber"],
            "extensions": {"code": "undefinedField", "typeName": "Shop", "fieldName": "vatNumber"},
        }
    ]


def test_removed_mutations_are_unknown(api: ShopifyApi, sandbox: Any) -> None:
    """productVariantUpdate (and its input type) and inventoryAdjustQuantity were deprecated,
    then removed before 2025-01."""
    variant = variant_by_sku(sandbox, "APRON-LINEN")
    query = """mutation($input: ProductVariantInput!) {
      productVariantUpdate(input: $input) { productVariant { id } }
    }"""
    errors = _refused(
        api, sandbox, query, {"input": {"id": variant["id"], "inventoryPolicy": "CONTINUE"}}
    )
    assert [(e["message"], e["path"], e["extensions"]["code"]) for e in errors] == [
        (
            "ProductVariantInput isn't a defined input type (on $input)",
            ["mutation"],
            "variableRequiresValidType",
        ),
        (
            "Field 'productVariantUpdate' doesn't exist on type 'Mutation'",
            ["mutation", "productVariantUpdate"],
            "undefinedField",
        ),
    ]
    errors = _refused(
        api,
        sandbox,
        "mutation { inventoryAdjustQuantity(input: {inventoryLevelId: "
        '"x", availableDelta: 1}) { userErrors { message } } }',
    )
    assert (
        errors[0]["message"] == "Field 'inventoryAdjustQuantity' doesn't exist on type 'Mutation'"
    )
    assert errors[0]["path"] == ["mutation", "inventoryAdjustQuantity"]


def test_wrong_argument_literal(api: ShopifyApi, sandbox: Any) -> None:
    errors = _refused(api, sandbox, "{ order(id: true) { id } }")
    assert errors == [
        {
            "message": "Argument 'id' on Field 'order' has an invalid value (true). "
            "Expected type 'ID!'.",
            "locations": [{"line": 1, "column": 13}],
            "path": ["query", "order", "id"],
            "extensions": {
                "code": "argumentLiteralsIncompatible",
                "typeName": "Field",
                "argumentName": "id",
            },
        }
    ]


def test_enum_value_that_does_not_exist(api: ShopifyApi, sandbox: Any) -> None:
    query = "{ orders(first: 1, sortKey: NEWEST) { nodes { id } } }"
    [error] = _refused(api, sandbox, query)
    assert error["extensions"] == {
        "code": "argumentLiteralsIncompatible",
        "typeName": "Field",
        "argumentName": "sortKey",
    }
    assert error["message"] == (
        "Argument 'sortKey' on Field 'orders' has an invalid value (NEWEST). "
        "Expected type 'OrderSortKeys'."
    )


def test_missing_required_arguments_and_unknown_argument(api: ShopifyApi, sandbox: Any) -> None:
    errors = _refused(
        api, sandbox, "{ order { id } products(first: 1, colour: RED) { nodes { id } } }"
    )
    assert [(e["message"], e["extensions"]["code"]) for e in errors] == [
        ("Field 'order' is missing required arguments: id", "missingRequiredArguments"),
        ("Field 'products' doesn't accept argument 'colour'", "argumentNotAccepted"),
    ]


def test_selection_mismatch(api: ShopifyApi, sandbox: Any) -> None:
    errors = _refused(api, sandbox, "{ shop }")
    assert errors[0]["extensions"]["code"] == "selectionMismatch"
    assert errors[0]["message"] == (
        "Field must have selections (field 'shop' returns Shop but has no "
        "selections. Did you mean 'shop { ... }'?)"
    )


def test_variable_of_the_wrong_type(api: ShopifyApi, sandbox: Any) -> None:
    errors = _refused(api, sandbox, "query($id: String!) { order(id: $id) { id } }", {"id": "x"})
    assert errors[0]["extensions"]["code"] == "variableMismatch"
    assert errors[0]["message"] == "Type mismatch on variable $id and argument id (String! / ID!)"


def test_invalid_variable_value_in_a_mutation_changes_nothing(
    api: ShopifyApi, sandbox: Any
) -> None:
    apron = variant_by_sku(sandbox, "APRON-LINEN")
    query = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $productId, variants: $variants)
        { userErrors { message } }
    }"""
    variables = {
        "productId": apron["_product"],
        "variants": [{"id": apron["id"], "inventoryPolicy": "SOMETIMES"}],
    }
    [error] = _refused(api, sandbox, query, variables)
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["extensions"]["value"] == variables["variants"]
    assert error["extensions"]["problems"][0]["path"] == [0, "inventoryPolicy"]
    assert error["message"].startswith(
        "Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value for "
        "0.inventoryPolicy ("
    )
    money = {"productId": apron["_product"], "variants": [{"id": apron["id"], "price": "cheap"}]}
    [error] = _refused(api, sandbox, query, money)
    assert error["extensions"]["problems"] == [
        {"path": [0, "price"], "explanation": "invalid money 'cheap'"}
    ]


def test_syntax_error(api: ShopifyApi, sandbox: Any) -> None:
    errors = _refused(api, sandbox, "{ shop { name }")
    assert errors == [
        {"message": "Parse error on <EOF> at [1, 16]", "locations": [{"line": 1, "column": 16}]}
    ]


def test_invalid_global_id_is_an_error_and_runs_nothing_else(api: ShopifyApi, sandbox: Any) -> None:
    """An ID literal may be an integer (graphql-ruby coerces it), but it is no global id."""
    before = snapshot(sandbox)
    body = api.gql("{ order(id: 1001) { id } }")
    assert body["data"] == {"order": None}
    assert body["errors"][0]["message"] == "Invalid global id '1001'"
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"
    assert body["errors"][0]["path"] == ["order"]
    assert snapshot(sandbox) == before


def test_connection_without_first_or_last(api: ShopifyApi) -> None:
    body = api.gql("{ orders { nodes { id } } }")
    assert body["data"] is None
    assert body["errors"][0]["message"] == "you must provide one of first or last"


def test_missing_or_unknown_token_is_401(api: ShopifyApi, sandbox: Any) -> None:
    before = snapshot(sandbox)
    for token in ("", "shpat_wrong"):
        response = api.post("{ shop { name } }", token=token)
        assert response.status_code == 401
        assert response.get_json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }
    assert snapshot(sandbox) == before


def test_missing_query_is_400(app: Flask) -> None:
    response = app.test_client().post(
        "/admin/api/2025-01/graphql.json",
        json={"variables": {}},
        headers={"X-Shopify-Access-Token": "shpat_sandbox_demo"},
    )
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_scope_missing_is_access_denied(app: Flask, sandbox: Any) -> None:
    public = sandbox.apps.by_client_id["backorders-sandbox-client"]
    token = sandbox.apps.grant(public, ["read_products"])
    api = ShopifyApi(app.test_client(), token)
    body = api.gql("{ orders(first: 1) { nodes { id } } products(first: 1) { nodes { title } } }")
    assert body["data"] is None  # orders is non-null, so the whole data is null
    assert body["errors"] == [
        {
            "message": "Access denied for orders field. Required access: "
            "`read_orders` access scope.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["orders"],
            "extensions": {
                "code": "ACCESS_DENIED",
                "documentation": "https://shopify.dev/api/usage/access-scopes",
                "requiredAccess": "`read_orders` access scope.",
            },
        }
    ]
    placed_before = snapshot(sandbox)
    apron = variant_by_sku(sandbox, "APRON-LINEN")
    query = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $productId, variants: $variants)
        { userErrors { message } }
    }"""
    body = api.gql(
        query,
        {
            "productId": apron["_product"],
            "variants": [{"id": apron["id"], "inventoryPolicy": "CONTINUE"}],
        },
    )
    assert body["data"] == {"productVariantsBulkUpdate": None}
    assert body["errors"][0]["extensions"]["requiredAccess"] == "`write_products` access scope."
    assert snapshot(sandbox) == placed_before


def test_unimplemented_field_says_so(api: ShopifyApi) -> None:
    body = api.gql("{ shop { name billingAddress { city } } }")
    assert body["errors"][0]["message"] == "The sandbox does not implement Shop.billingAddress"
    assert body["errors"][0]["extensions"] == {"code": "SANDBOX_NOT_IMPLEMENTED"}
