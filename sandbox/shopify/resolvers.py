"""Field resolvers for the objects of the sandbox shop (queries; mutations are elsewhere).

`resolve_field` is graphql-core's field resolver for every field: a function registered with
`@field("Type", "name")` computes it, otherwise the stored dict's value under the field's name
is used. A field the sandbox does not model is an execution error naming it (``null`` with an
error in ``errors``), never a made-up value. Access scopes are checked here too: reading a
field that needs a scope the token lacks gives Shopify's ``ACCESS_DENIED`` error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from graphql import GraphQLError, GraphQLResolveInfo

from sandbox.shopify import catalog, gid, metafields, orders, schema, subscriptions
from sandbox.shopify.connections import (
    by_id,
    compare,
    connection,
    normalize_time,
    parse_query,
)
from sandbox.shopify.shop import QUANTITY_NAMES, Shop, money

Resolver = Callable[..., Any]
RESOLVERS: dict[tuple[str, str], Resolver] = {}
ACCESS_DOCS = "https://shopify.dev/api/usage/access-scopes"


@dataclass
class App:
    """The app calling the API: its id (``gid://shopify/App/N``) and granted scopes."""

    id: str
    scopes: frozenset[str]
    name: str = "Backorders"

    @property
    def namespace(self) -> str:
        """The app-reserved metafield namespace (``app--<id>``)."""
        return f"app--{gid.number(self.id)}"

    def has(self, scope: str) -> bool:
        """A ``read_x`` scope is also granted by ``write_x``."""
        return scope in self.scopes or scope.replace("read_", "write_", 1) in self.scopes


@dataclass
class Context:
    """What every resolver sees: the shop and the calling app."""

    shop: Shop
    app: App
    warnings: list[str] = dataclass_field(default_factory=list)


def field(type_name: str, *names: str) -> Callable[[Resolver], Resolver]:
    """Register a resolver for fields of a type."""

    def register(function: Resolver) -> Resolver:
        for name in names:
            RESOLVERS[(type_name, name)] = function
        return function

    return register


# Fields that need a scope beyond the one of the root field that reached them.
FIELD_SCOPES = {
    ("QueryRoot", "order"): "read_orders",
    ("QueryRoot", "orders"): "read_orders",
    ("QueryRoot", "product"): "read_products",
    ("QueryRoot", "products"): "read_products",
    ("QueryRoot", "productVariant"): "read_products",
    ("QueryRoot", "productVariants"): "read_products",
    ("QueryRoot", "inventoryItem"): "read_inventory",
    ("QueryRoot", "inventoryLevel"): "read_inventory",
    ("QueryRoot", "location"): "read_locations",
    ("QueryRoot", "locations"): "read_locations",
    ("QueryRoot", "customer"): "read_customers",
    ("QueryRoot", "customers"): "read_customers",
    ("QueryRoot", "fulfillmentOrder"): "read_merchant_managed_fulfillment_orders",
    ("Order", "customer"): "read_customers",
    ("Order", "fulfillmentOrders"): "read_merchant_managed_fulfillment_orders",
    ("ProductVariant", "inventoryItem"): "read_inventory",
    ("Mutation", "productVariantsBulkUpdate"): "write_products",
    ("Mutation", "fulfillmentOrderSplit"): "write_merchant_managed_fulfillment_orders",
    ("Mutation", "fulfillmentOrderHold"): "write_merchant_managed_fulfillment_orders",
    ("Mutation", "fulfillmentOrderReleaseHold"): "write_merchant_managed_fulfillment_orders",
    ("Mutation", "orderUpdate"): "write_orders",
    ("Mutation", "orderEditBegin"): "write_order_edits",
    ("Mutation", "orderEditSetQuantity"): "write_order_edits",
    ("Mutation", "orderEditCommit"): "write_order_edits",
    ("Mutation", "orderCreate"): "write_orders",
    ("Mutation", "orderCapture"): "write_orders",
    ("Mutation", "orderCancel"): "write_orders",
    ("Mutation", "orderMarkAsPaid"): "write_orders",
    ("Mutation", "orderInvoiceSend"): "write_orders",
    ("Mutation", "inventoryAdjustQuantities"): "write_inventory",
    ("Mutation", "inventorySetQuantities"): "write_inventory",
}
# The scope to read an object reached through node/nodes or written by tags and metafields.
TYPE_SCOPES = {
    "Order": "orders",
    "LineItem": "orders",
    "OrderTransaction": "orders",
    "Product": "products",
    "ProductVariant": "products",
    "InventoryItem": "inventory",
    "InventoryLevel": "inventory",
    "Location": "locations",
    "Customer": "customers",
    "FulfillmentOrder": "merchant_managed_fulfillment_orders",
}


def access_denied(info: GraphQLResolveInfo, scope: str) -> GraphQLError:
    """Shopify's ACCESS_DENIED error for a field."""
    return GraphQLError(
        f"Access denied for {info.field_name} field. Required access: `{scope}` access scope.",
        info.field_nodes,
        path=info.path.as_list(),
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": ACCESS_DOCS,
            "requiredAccess": f"`{scope}` access scope.",
        },
    )


def require(info: GraphQLResolveInfo, scope: str) -> None:
    """Raise ACCESS_DENIED unless the app holds `scope`."""
    if not info.context.app.has(scope):
        raise access_denied(info, scope)


def resolve_field(obj: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """graphql-core's field resolver for the whole schema."""
    key = (info.parent_type.name, info.field_name)
    scope = FIELD_SCOPES.get(key)
    if scope is not None:
        require(info, scope)
    function = RESOLVERS.get(key)
    if function is not None:
        return function(obj, info, **args)
    if isinstance(obj, dict) and info.field_name in obj:
        return obj[info.field_name]
    raise GraphQLError(
        f"The sandbox does not implement {key[0]}.{key[1]}",
        info.field_nodes,
        path=info.path.as_list(),
        extensions={"code": "SANDBOX_NOT_IMPLEMENTED"},
    )


def shop_of(info: GraphQLResolveInfo) -> Shop:
    """The shop of the request."""
    return info.context.shop  # type: ignore[no-any-return]


def money_bag(amount: Any, currency: str) -> dict[str, Any]:
    """A MoneyBag with the same amount in shop and presentment currency."""
    value = {"amount": money(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def lookup(info: GraphQLResolveInfo, global_id: str, *kinds: str) -> dict[str, Any] | None:
    """The object for a gid argument (Invalid global id error when it is none)."""
    kind, _ = gid.parse(global_id)
    if kinds and kind not in kinds:
        return None
    return shop_of(info).get(global_id, *kinds)


def _readable(info: GraphQLResolveInfo, obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is not None and obj["__typename"] in TYPE_SCOPES:
        require(info, "read_" + TYPE_SCOPES[obj["__typename"]])
    return obj


# ---------------------------------------------------------------------- root
def _get(*kinds: str) -> Resolver:
    def resolve(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
        return lookup(info, id, *kinds)

    return resolve


for _name, _kind in (
    ("order", "Order"),
    ("product", "Product"),
    ("productVariant", "ProductVariant"),
    ("inventoryItem", "InventoryItem"),
    ("customer", "Customer"),
    ("fulfillmentOrder", "FulfillmentOrder"),
    ("job", "Job"),
):
    RESOLVERS[("QueryRoot", _name)] = _get(_kind)


@field("QueryRoot", "webhookSubscription")
def _webhook_subscription(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
    found = lookup(info, id, "WebhookSubscription")
    return found if found is not None and found["_app"] == info.context.app.id else None


@field("QueryRoot", "location")
def _location(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> Any:  # noqa: A002
    if id is None:
        return catalog.locations(shop_of(info))[0]
    return lookup(info, id, "Location")


@field("QueryRoot", "inventoryLevel")
def _inventory_level(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
    kind, location_number = gid.parse(id)
    if kind != "InventoryLevel" or "?inventory_item_id=" not in id:
        return None
    item_number = int(id.rsplit("=", 1)[1])
    shop = shop_of(info)
    item = shop.get(gid.make("InventoryItem", item_number), "InventoryItem")
    location_id = gid.make("Location", location_number)
    if item is None or location_id not in item["_levels"]:
        return None
    return level_object(item, location_id)


@field("QueryRoot", "node")
def _node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:  # noqa: A002
    gid.parse(id)
    if gid.kind_of(id) == "InventoryLevel":
        return _readable(info, _inventory_level(_root, info, id))
    found = shop_of(info).get(id)
    if found is not None and found["__typename"] == "WebhookSubscription":
        return found if found["_app"] == info.context.app.id else None
    return _readable(info, found)


@field("QueryRoot", "nodes")
def _nodes(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> Any:
    if len(ids) > 250:
        raise GraphQLError("The ids argument can't have more than 250 ids.")
    return [_node(_root, info, one) for one in ids]


@field("QueryRoot", "shop")
def _shop(_root: Any, info: GraphQLResolveInfo) -> Any:
    info_ = shop_of(info).info
    return {
        "__typename": "Shop",
        "id": gid.make("Shop", info_.number),
        "name": info_.name,
        "email": info_.email,
        "contactEmail": info_.email,
        "myshopifyDomain": info_.domain,
        "url": f"https://{info_.domain}",
        "currencyCode": info_.currency,
        "ianaTimezone": "Etc/UTC",
        "timezoneAbbreviation": "UTC",
        "timezoneOffset": "+0000",
        "timezoneOffsetMinutes": 0,
        "weightUnit": "KILOGRAMS",
        "taxesIncluded": False,
        "enabledPresentmentCurrencies": [info_.currency],
    }


def _filter(
    items: list[dict[str, Any]],
    query: str | None,
    fields: dict[str, Callable[[dict[str, Any]], Any]],
    text: Callable[[dict[str, Any]], str],
    times: frozenset[str],
) -> list[dict[str, Any]]:
    """Items matching every search term (unknown fields match nothing, as a typo should)."""
    for negated, name, comparator, value in parse_query(query):
        if name is None:
            matches = [i for i in items if value.lower() in text(i).lower()]
        elif name not in fields:
            raise GraphQLError(
                f"Invalid search field for this query: {name}",
                extensions={"code": "INVALID_SEARCH_FIELD"},
            )
        else:
            wanted: Any = normalize_time(value) if name in times else value
            getter = fields[name]
            if name == "id":
                wanted = int(value)
            matches = [i for i in items if _matches(getter(i), comparator, wanted)]
        items = [i for i in items if (i in matches) != negated]
    return items


def _matches(actual: Any, comparator: str, wanted: Any) -> bool:
    if isinstance(actual, list):
        return any(compare(a, comparator, wanted) for a in actual)
    return compare(actual, comparator, wanted)


def _order_status(shop: Shop, order: dict[str, Any]) -> str:
    if order["cancelledAt"]:
        return "cancelled"
    return "closed" if order["closed"] else "open"


def _order_fields(shop: Shop) -> dict[str, Callable[[dict[str, Any]], Any]]:
    return {
        "updated_at": lambda o: o["updatedAt"],
        "created_at": lambda o: o["createdAt"],
        "processed_at": lambda o: o["processedAt"],
        "id": lambda o: gid.number(o["id"]),
        "name": lambda o: [o["name"], o["name"].lstrip("#")],
        "email": lambda o: o["email"],
        "tag": lambda o: o["tags"],
        "status": lambda o: [_order_status(shop, o), "any"],
        "financial_status": lambda o: orders.financial_status(shop, o).lower(),
        "fulfillment_status": lambda o: orders.fulfillment_status(shop, o).lower(),
        "sku": lambda o: [line["sku"] for line in orders.lines_of(shop, o)],
    }


_ORDER_SORTS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    "ID": by_id,
    "CREATED_AT": lambda o: (o["createdAt"], *by_id(o)),
    "PROCESSED_AT": lambda o: (o["processedAt"], *by_id(o)),
    "UPDATED_AT": lambda o: (o["updatedAt"], *by_id(o)),
    "ORDER_NUMBER": lambda o: (o["_number"],),
}
_TIMES = frozenset({"updated_at", "created_at", "processed_at"})


def _sort(sorts: dict[str, Any], key: str | None) -> Any:
    if key is None:
        return by_id
    if key not in sorts:
        raise GraphQLError(
            f"The sandbox does not sort by {key}", extensions={"code": "SANDBOX_NOT_IMPLEMENTED"}
        )
    return sorts[key]


@field("QueryRoot", "orders")
def _orders(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    shop = shop_of(info)
    items = _filter(
        list(shop.table("orders").values()),
        args.get("query"),
        _order_fields(shop),
        lambda o: f"{o['name']} {o['email'] or ''}",
        _TIMES,
    )
    return connection(items, args, _sort(_ORDER_SORTS, args.get("sortKey")))


def _product_fields(shop: Shop) -> dict[str, Callable[[dict[str, Any]], Any]]:
    return {
        "updated_at": lambda p: p["updatedAt"],
        "created_at": lambda p: p["createdAt"],
        "id": lambda p: gid.number(p["id"]),
        "title": lambda p: p["title"],
        "handle": lambda p: p["handle"],
        "status": lambda p: p["status"].lower(),
        "tag": lambda p: p["tags"],
        "vendor": lambda p: p["vendor"],
        "product_type": lambda p: p["productType"],
        "sku": lambda p: [v["sku"] for v in shop.children("variants", p["_variants"])],
    }


_PRODUCT_SORTS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    "ID": by_id,
    "TITLE": lambda p: (p["title"].lower(), *by_id(p)),
    "UPDATED_AT": lambda p: (p["updatedAt"], *by_id(p)),
    "CREATED_AT": lambda p: (p["createdAt"], *by_id(p)),
}


@field("QueryRoot", "products")
def _products(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    shop = shop_of(info)
    items = _filter(
        list(shop.table("products").values()),
        args.get("query"),
        _product_fields(shop),
        lambda p: p["title"],
        _TIMES,
    )
    return connection(items, args, _sort(_PRODUCT_SORTS, args.get("sortKey")))


@field("QueryRoot", "productVariants")
def _product_variants(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    shop = shop_of(info)
    variant_fields: dict[str, Callable[[dict[str, Any]], Any]] = {
        "id": lambda v: gid.number(v["id"]),
        "sku": lambda v: v["sku"],
        "product_id": lambda v: gid.number(v["_product"]),
        "updated_at": lambda v: v["updatedAt"],
        "inventory_quantity": lambda v: catalog.variant_available(shop, v),
    }
    items = _filter(
        list(shop.table("variants").values()),
        args.get("query"),
        variant_fields,
        lambda v: f"{v['title']} {v['sku'] or ''}",
        frozenset({"updated_at"}),
    )
    return connection(items, args, by_id)


@field("QueryRoot", "locations")
def _locations(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    items = catalog.locations(shop_of(info))
    if not args.get("includeInactive"):
        items = [loc for loc in items if loc["isActive"]]
    return connection(items, args, by_id)


@field("QueryRoot", "customers")
def _customers(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    shop = shop_of(info)
    customer_fields: dict[str, Callable[[dict[str, Any]], Any]] = {
        "email": lambda c: c["email"],
        "id": lambda c: gid.number(c["id"]),
        "updated_at": lambda c: c["updatedAt"],
    }
    items = _filter(
        list(shop.table("customers").values()),
        args.get("query"),
        customer_fields,
        lambda c: f"{c['email']} {c['firstName']} {c['lastName']}",
        frozenset({"updated_at"}),
    )
    return connection(items, args, by_id)


@field("QueryRoot", "webhookSubscriptions")
def _webhook_subscriptions(_root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    items = subscriptions.of_app(shop_of(info), info.context.app.id)
    if args.get("topics"):
        items = [s for s in items if s["topic"] in args["topics"]]
    if args.get("callbackUrl"):
        items = [s for s in items if s["_callback_url"] == args["callbackUrl"]]
    if args.get("format"):
        items = [s for s in items if s["format"] == args["format"]]
    return connection(items, args, by_id)


# --------------------------------------------------------------- shared fields
def _legacy_id(obj: dict[str, Any], _info: GraphQLResolveInfo) -> int:
    return gid.number(obj["id"])


for _type in (
    "Order",
    "Product",
    "ProductVariant",
    "InventoryItem",
    "Location",
    "Customer",
    "Metafield",
    "WebhookSubscription",
):
    RESOLVERS[(_type, "legacyResourceId")] = _legacy_id
    RESOLVERS[(_type, "metafield")] = lambda obj, info, key, namespace=None: metafields.find(
        shop_of(info), obj["id"], namespace or info.context.app.namespace, key
    )
    RESOLVERS[(_type, "metafields")] = lambda obj, info, **args: connection(
        [
            m
            for m in metafields.of_owner(shop_of(info), obj["id"])
            if (args.get("namespace") is None or m["namespace"] == args["namespace"])
            and (args.get("keys") is None or f"{m['namespace']}.{m['key']}" in args["keys"])
        ],
        args,
        by_id,
    )


def _count(value: int) -> dict[str, Any]:
    return {"count": value, "precision": "EXACT"}


# -------------------------------------------------------------------- catalogue
@field("Product", "variants")
def _variants(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> Any:
    return connection(
        shop_of(info).children("variants", obj["_variants"]),
        args,
        lambda v: (v["position"], *by_id(v)),
    )


@field("Product", "variantsCount")
def _variants_count(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return _count(len(obj["_variants"]))


@field("Product", "totalInventory")
def _total_inventory(obj: dict[str, Any], info: GraphQLResolveInfo) -> int:
    shop = shop_of(info)
    return sum(
        catalog.variant_available(shop, v) for v in shop.children("variants", obj["_variants"])
    )


@field("Product", "tracksInventory")
def _tracks_inventory(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    shop = shop_of(info)
    return any(
        shop.table("items")[v["_item"]]["tracked"]
        for v in shop.children("variants", obj["_variants"])
    )


@field("Product", "hasOutOfStockVariants")
def _has_out_of_stock(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    shop = shop_of(info)
    return any(
        catalog.variant_available(shop, v) <= 0 for v in shop.children("variants", obj["_variants"])
    )


@field("Product", "hasOnlyDefaultVariant")
def _only_default(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    variants = shop_of(info).children("variants", obj["_variants"])
    return len(variants) == 1 and variants[0]["title"] == "Default Title"


@field("Product", "description")
def _description(
    obj: dict[str, Any], _info: GraphQLResolveInfo, truncateAt: int | None = None
) -> str:  # noqa: N803, E501
    text = str(obj["descriptionHtml"])
    return text[:truncateAt] if truncateAt else text


@field("Product", "onlineStorePreviewUrl")
def _no_url(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


@field("Product", "onlineStoreUrl")
def _online_store_url(obj: dict[str, Any], info: GraphQLResolveInfo) -> str | None:
    """The product page on the storefront (storefront.py); "If `null`, then the product isn't
    published to the online store sales channel" (schema 2025-01)."""
    if not obj.get("_online_store", True):
        return None
    root = request.url_root if has_request_context() else f"https://{shop_of(info).info.domain}/"
    return f"{root}products/{obj['handle']}"


@field("ProductVariant", "product")
def _variant_product(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("products")[obj["_product"]]


@field("ProductVariant", "inventoryItem")
def _variant_item(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("items")[obj["_item"]]


@field("ProductVariant", "inventoryQuantity", "sellableOnlineQuantity")
def _variant_quantity(obj: dict[str, Any], info: GraphQLResolveInfo) -> int:
    return catalog.variant_available(shop_of(info), obj)


@field("ProductVariant", "availableForSale")
def _available_for_sale(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    shop = shop_of(info)
    item = shop.table("items")[obj["_item"]]
    return (
        not item["tracked"]
        or obj["inventoryPolicy"] == "CONTINUE"
        or catalog.variant_available(shop, obj) > 0
    )


@field("ProductVariant", "displayName")
def _display_name(obj: dict[str, Any], info: GraphQLResolveInfo) -> str:
    shop = shop_of(info)
    return f"{shop.table('products')[obj['_product']]['title']} - {obj['title']}"


@field("ProductVariant", "selectedOptions")
def _selected_options(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return [{"name": "Title", "value": obj["title"], "optionValue": None}]


@field("ProductVariant", "image")
def _no_image(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


@field("InventoryItem", "variant")
def _item_variant(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("variants")[obj["_variant"]]


def level_object(item: dict[str, Any], location_id: str) -> dict[str, Any]:
    """The InventoryLevel object of an item at a location."""
    level = item["_levels"][location_id]
    return {
        "__typename": "InventoryLevel",
        "id": gid.inventory_level(gid.number(location_id), gid.number(item["id"])),
        "createdAt": level["createdAt"],
        "updatedAt": level["updatedAt"],
        "canDeactivate": True,
        "deactivationAlert": None,
        "_item": item["id"],
        "_location": location_id,
    }


@field("InventoryItem", "inventoryLevels")
def _item_levels(obj: dict[str, Any], _info: GraphQLResolveInfo, **args: Any) -> Any:
    return connection([level_object(obj, loc) for loc in obj["_levels"]], args, by_id)


@field("InventoryItem", "inventoryLevel")
def _item_level(obj: dict[str, Any], info: GraphQLResolveInfo, locationId: str) -> Any:  # noqa: N803
    gid.parse(locationId)
    return level_object(obj, locationId) if locationId in obj["_levels"] else None


@field("InventoryItem", "locationsCount")
def _locations_count(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return _count(len(obj["_levels"]))


@field(
    "InventoryItem",
    "unitCost",
    "countryCodeOfOrigin",
    "harmonizedSystemCode",
    "provinceCodeOfOrigin",
    "inventoryHistoryUrl",
)
def _item_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


@field("InventoryItem", "duplicateSkuCount")
def _duplicate_skus(obj: dict[str, Any], info: GraphQLResolveInfo) -> int:
    items = shop_of(info).table("items").values()
    return sum(1 for i in items if obj["sku"] and i["sku"] == obj["sku"] and i is not obj)


@field("InventoryLevel", "item")
def _level_item(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("items")[obj["_item"]]


@field("InventoryLevel", "location")
def _level_location(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("locations")[obj["_location"]]


@field("InventoryLevel", "quantities")
def _level_quantities(obj: dict[str, Any], info: GraphQLResolveInfo, names: list[str]) -> Any:
    unknown = [n for n in names if n not in QUANTITY_NAMES]
    if unknown:
        raise GraphQLError(
            f"Invalid quantity name(s): {', '.join(unknown)}. Valid names are: "
            + ", ".join(QUANTITY_NAMES)
            + ".",
            extensions={"code": "BAD_REQUEST"},
        )
    item = shop_of(info).table("items")[obj["_item"]]
    level = item["_levels"][obj["_location"]]
    return [
        {
            "__typename": "InventoryQuantity",
            "id": f"gid://shopify/InventoryQuantity/{gid.number(obj['_location'])}"
            f"?inventory_item_id={gid.number(item['id'])}&name={name}",
            "name": name,
            "quantity": Shop.quantity(level, name),
            "updatedAt": level["updatedAt"],
        }
        for name in names
    ]


@field("Location", "inventoryLevels")
def _location_levels(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> Any:
    items = [i for i in shop_of(info).table("items").values() if obj["id"] in i["_levels"]]
    return connection([level_object(i, obj["id"]) for i in items], args, by_id)


@field("Location", "inventoryLevel")
def _location_level(obj: dict[str, Any], info: GraphQLResolveInfo, inventoryItemId: str) -> Any:  # noqa: N803
    item = lookup(info, inventoryItemId, "InventoryItem")
    return level_object(item, obj["id"]) if item and obj["id"] in item["_levels"] else None


@field("Location", "isPrimary")
def _is_primary(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    return bool(catalog.locations(shop_of(info))[0]["id"] == obj["id"])


@field("Location", "activatable", "deletable", "hasUnfulfilledOrders", "addressVerified")
def _false(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> bool:
    return False


@field("Location", "deactivatable")
def _true(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> bool:
    return True


# ------------------------------------------------------------------------ orders
def _currency(info: GraphQLResolveInfo) -> str:
    return shop_of(info).info.currency


def _order_money(compute: Callable[[Shop, dict[str, Any]], Decimal]) -> Resolver:
    def resolve(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        return money_bag(compute(shop_of(info), obj), obj["currencyCode"])

    return resolve


def _outstanding(shop: Shop, order: dict[str, Any]) -> Decimal:
    summary = orders.payment_summary(shop, order)
    due = orders.order_total(shop, order, current=True) - summary["captured"] + summary["refunded"]
    return max(orders.ZERO, due) if order["cancelledAt"] is None else orders.ZERO


_ORDER_MONEY: dict[str, Callable[[Shop, dict[str, Any]], Decimal]] = {
    "totalPriceSet": lambda s, o: orders.order_total(s, o),
    "subtotalPriceSet": lambda s, o: orders.order_total(s, o),
    "originalTotalPriceSet": lambda s, o: orders.order_total(s, o),
    "currentTotalPriceSet": lambda s, o: orders.order_total(s, o, current=True),
    "currentSubtotalPriceSet": lambda s, o: orders.order_total(s, o, current=True),
    "totalOutstandingSet": _outstanding,
    "totalCapturableSet": lambda s, o: orders.payment_summary(s, o)["capturable"],
    "totalReceivedSet": lambda s, o: orders.payment_summary(s, o)["captured"],
    "totalRefundedSet": lambda s, o: orders.payment_summary(s, o)["refunded"],
    "netPaymentSet": lambda s, o: (
        orders.payment_summary(s, o)["captured"] - orders.payment_summary(s, o)["refunded"]
    ),
    "totalDiscountsSet": lambda s, o: orders.ZERO,
    "currentTotalDiscountsSet": lambda s, o: orders.ZERO,
    "currentCartDiscountAmountSet": lambda s, o: orders.ZERO,
    "totalTaxSet": lambda s, o: orders.ZERO,
    "currentTotalTaxSet": lambda s, o: orders.ZERO,
    "totalShippingPriceSet": lambda s, o: orders.ZERO,
    "currentShippingPriceSet": lambda s, o: orders.ZERO,
    "totalTipReceivedSet": lambda s, o: orders.ZERO,
    "totalRefundedShippingSet": lambda s, o: orders.ZERO,
    "refundDiscrepancySet": lambda s, o: orders.ZERO,
}
for _name, _compute in _ORDER_MONEY.items():
    RESOLVERS[("Order", _name)] = _order_money(_compute)


@field("Order", "lineItems")
def _order_lines(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> Any:
    return connection(orders.lines_of(shop_of(info), obj), args, by_id)


@field("Order", "fulfillmentOrders")
def _order_fulfillment_orders(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> Any:
    items = shop_of(info).children("fulfillment_orders", obj["_fulfillment_orders"])
    if args.get("displayable"):
        items = [f for f in items if f["status"] not in ("CLOSED", "CANCELLED")]
    if args.get("query"):
        status_fields: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": lambda f: f["status"].lower(),
            "id": lambda f: gid.number(f["id"]),
        }
        items = _filter(items, args["query"], status_fields, lambda f: "", frozenset())
    return connection(items, args, by_id)


@field("Order", "transactions")
def _order_transactions(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    first: int | None = None,
    capturable: bool | None = None,
    manuallyResolvable: bool | None = None,
) -> Any:  # noqa: N803
    shop = shop_of(info)
    items = orders.transactions_of(shop, obj)
    if capturable:
        items = [t for t in items if orders.authorization_remaining(shop, t) > 0]
    if manuallyResolvable:
        items = []
    return items[:first] if first is not None else items


@field("Order", "customer")
def _order_customer(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("customers").get(obj["_customer"] or "")


@field("Order", "displayFinancialStatus")
def _display_financial(obj: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return orders.financial_status(shop_of(info), obj)


@field("Order", "displayFulfillmentStatus")
def _display_fulfillment(obj: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return orders.fulfillment_status(shop_of(info), obj)


@field("Order", "capturable")
def _capturable(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    return orders.payment_summary(shop_of(info), obj)["capturable"] > 0


@field("Order", "fullyPaid")
def _fully_paid(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    return _outstanding(shop_of(info), obj) == 0 and obj["cancelledAt"] is None


@field("Order", "unpaid")
def _unpaid(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    return orders.financial_status(shop_of(info), obj) in ("PENDING", "AUTHORIZED", "EXPIRED")


@field("Order", "canMarkAsPaid")
def _can_mark_paid(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    shop = shop_of(info)
    summary = orders.payment_summary(shop, obj)
    return bool(
        obj["cancelledAt"] is None and summary["capturable"] == 0 and _outstanding(shop, obj) > 0
    )


@field("Order", "paymentGatewayNames")
def _gateways(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return list(obj["_gateways"])


@field("Order", "subtotalLineItemsQuantity")
def _quantity(obj: dict[str, Any], info: GraphQLResolveInfo) -> int:
    return sum(line["quantity"] for line in orders.lines_of(shop_of(info), obj))


@field("Order", "currentSubtotalLineItemsQuantity")
def _current_quantity(obj: dict[str, Any], info: GraphQLResolveInfo) -> int:
    return sum(line["currentQuantity"] for line in orders.lines_of(shop_of(info), obj))


@field("Order", "fulfillable")
def _fulfillable(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    shop = shop_of(info)
    return any(
        f["status"] == "OPEN"
        for f in shop.children("fulfillment_orders", obj["_fulfillment_orders"])
    )


@field("Order", "statusPageUrl")
def _status_page(obj: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return f"https://{shop_of(info).info.domain}/orders/{gid.number(obj['id'])}"


@field(
    "Order",
    "requiresShipping",
    "canNotifyCustomer",
    "merchantEditable",
    "refundable",
    "restockable",
)
def _order_true(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> bool:
    return True


@field(
    "Order",
    "taxesIncluded",
    "taxExempt",
    "customerAcceptsMarketing",
    "dutiesIncluded",
    "estimatedTaxes",
    "hasTimelineComment",
    "billingAddressMatchesShippingAddress",
)
def _order_false(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> bool:
    return False


@field(
    "Order",
    "discountCodes",
    "merchantEditableErrors",
    "taxLines",
    "currentTaxLines",
    "customAttributes",
    "additionalFees",
    "alerts",
    "disputes",
)
def _order_empty(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return []


@field(
    "Order",
    "billingAddress",
    "shippingAddress",
    "displayAddress",
    "app",
    "cancellation",
    "discountCode",
    "shippingLine",
    "clientIp",
    "customerLocale",
    "paymentTerms",
    "retailLocation",
    "staffMember",
    "sourceIdentifier",
    "totalWeight",
    "registeredSourceUrl",
    "confirmationNumber",
)
def _order_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


@field("Order", "number")
def _order_number(obj: dict[str, Any], _info: GraphQLResolveInfo) -> int:
    return int(obj["_number"])


def _line_money(compute: Callable[[dict[str, Any]], Decimal]) -> Resolver:
    def resolve(obj: dict[str, Any], info: GraphQLResolveInfo, **_args: Any) -> Any:
        return money_bag(compute(obj), _currency(info))

    return resolve


_LINE_MONEY: dict[str, Callable[[dict[str, Any]], Decimal]] = {
    "originalUnitPriceSet": lambda line: money(line["_unit_price"]),
    "discountedUnitPriceSet": lambda line: money(line["_unit_price"]),
    "discountedUnitPriceAfterAllDiscountsSet": lambda line: money(line["_unit_price"]),
    "originalTotalSet": lambda line: money(line["_unit_price"]) * line["quantity"],
    "discountedTotalSet": lambda line: money(line["_unit_price"]) * line["quantity"],
    "unfulfilledOriginalTotalSet": lambda line: (
        money(line["_unit_price"]) * line["currentQuantity"]
    ),
    "unfulfilledDiscountedTotalSet": lambda line: (
        money(line["_unit_price"]) * line["currentQuantity"]
    ),
    "totalDiscountSet": lambda line: orders.ZERO,
}
for _name, _compute_line in _LINE_MONEY.items():
    RESOLVERS[("LineItem", _name)] = _line_money(_compute_line)


@field("LineItem", "variant")
def _line_variant(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("variants").get(obj["_variant"] or "")


@field("LineItem", "product")
def _line_product(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("products").get(obj["_product"] or "")


@field("LineItem", "unfulfilledQuantity", "refundableQuantity")
def _unfulfilled(obj: dict[str, Any], _info: GraphQLResolveInfo) -> int:
    return int(obj["currentQuantity"])


@field("LineItem", "nonFulfillableQuantity")
def _non_fulfillable(obj: dict[str, Any], _info: GraphQLResolveInfo) -> int:
    return int(obj["quantity"] - obj["currentQuantity"])


@field("LineItem", "restockable", "merchantEditable")
def _line_true(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> bool:
    return True


@field("LineItem", "customAttributes", "discountAllocations", "taxLines", "duties")
def _line_empty(_obj: dict[str, Any], _info: GraphQLResolveInfo, **_args: Any) -> Any:
    return []


@field("LineItem", "image", "sellingPlan", "contract", "lineItemGroup", "staffMember")
def _line_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


# ------------------------------------------------------------- fulfillment orders
@field("FulfillmentOrder", "order")
def _fo_order(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("orders")[obj["_order"]]


@field("FulfillmentOrder", "orderId")
def _fo_order_id(obj: dict[str, Any], _info: GraphQLResolveInfo) -> str:
    return str(obj["_order"])


@field("FulfillmentOrder", "orderName")
def _fo_order_name(obj: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return str(shop_of(info).table("orders")[obj["_order"]]["name"])


@field("FulfillmentOrder", "orderProcessedAt")
def _fo_processed(obj: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return str(shop_of(info).table("orders")[obj["_order"]]["processedAt"])


@field("FulfillmentOrder", "assignedLocation")
def _fo_location(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    location = shop_of(info).table("locations")[obj["_location"]]
    address = location["address"]
    return {
        "location": location,
        "name": location["name"],
        "address1": address["address1"],
        "address2": address["address2"],
        "city": address["city"],
        "countryCode": address["countryCode"],
        "province": address["province"],
        "zip": address["zip"],
        "phone": address["phone"],
    }


@field("FulfillmentOrder", "lineItems")
def _fo_lines(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> Any:
    return connection(shop_of(info).children("fo_lines", obj["_lines"]), args, by_id)


@field("FulfillmentOrder", "fulfillmentHolds")
def _fo_holds(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return list(obj["_holds"])


_ACTIONS = {
    "OPEN": ["CREATE_FULFILLMENT", "HOLD", "MOVE", "SPLIT", "REQUEST_FULFILLMENT"],
    "ON_HOLD": ["RELEASE_HOLD", "HOLD", "SPLIT"],
    "SCHEDULED": ["MARK_AS_OPEN", "HOLD", "SPLIT"],
    "IN_PROGRESS": ["CREATE_FULFILLMENT", "SPLIT"],
}


@field("FulfillmentOrder", "supportedActions")
def _fo_actions(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return [{"action": a, "externalUrl": None} for a in _ACTIONS.get(obj["status"], [])]


@field(
    "FulfillmentOrder",
    "fulfillments",
    "fulfillmentOrdersForMerge",
    "merchantRequests",
    "locationsForMove",
)
def _fo_no_connection(_obj: dict[str, Any], _info: GraphQLResolveInfo, **args: Any) -> Any:
    return connection([], args, by_id)


@field("FulfillmentOrder", "destination", "deliveryMethod", "channelId", "internationalDuties")
def _fo_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


@field("FulfillmentOrderLineItem", "lineItem")
def _fol_line(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("lines")[obj["_line"]]


def _fol_value(compute: Callable[[Shop, dict[str, Any], dict[str, Any] | None], Any]) -> Resolver:
    def resolve(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        shop = shop_of(info)
        line = shop.table("lines")[obj["_line"]]
        return compute(shop, line, shop.table("variants").get(line["_variant"] or ""))

    return resolve


for _name, _value in {
    "variant": lambda s, line, v: v,
    "sku": lambda s, line, v: line["sku"],
    "productTitle": lambda s, line, v: line["title"],
    "variantTitle": lambda s, line, v: line["variantTitle"],
    "vendor": lambda s, line, v: line["vendor"],
    "requiresShipping": lambda s, line, v: line["requiresShipping"],
    "inventoryItemId": lambda s, line, v: v["_item"] if v else None,
    "image": lambda s, line, v: None,
    "weight": lambda s, line, v: None,
    "warnings": lambda s, line, v: [],
    "financialSummaries": lambda s, line, v: [],
}.items():
    RESOLVERS[("FulfillmentOrderLineItem", _name)] = _fol_value(_value)


@field("FulfillmentHold", "heldByApp")
def _held_by_app(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


# ----------------------------------------------------------------- transactions
@field("OrderTransaction", "amountSet")
def _tx_amount(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return money_bag(obj["_amount"], _currency(info))


@field("OrderTransaction", "totalUnsettledSet")
def _tx_unsettled(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return money_bag(orders.authorization_remaining(shop_of(info), obj), _currency(info))


@field("OrderTransaction", "order")
def _tx_order(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("orders")[obj["_order"]]


@field("OrderTransaction", "parentTransaction")
def _tx_parent(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("transactions").get(obj["_parent"] or "")


@field("OrderTransaction", "multiCapturable")
def _tx_multi(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    return bool(obj["_multi_capturable"]) and orders.authorization_remaining(shop_of(info), obj) > 0


@field("OrderTransaction", "manuallyCapturable")
def _tx_capturable(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    return orders.authorization_remaining(shop_of(info), obj) > 0


@field("OrderTransaction", "fees")
def _tx_fees(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return []


@field(
    "OrderTransaction",
    "paymentDetails",
    "paymentIcon",
    "receiptJson",
    "user",
    "settlementCurrency",
    "settlementCurrencyRate",
    "shopifyPaymentsSet",
    "paymentId",
    "accountNumber",
    "amountRoundingSet",
    "maximumRefundableV2",
)
def _tx_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


# --------------------------------------------------------------------- customers
@field("Customer", "displayName")
def _customer_name(obj: dict[str, Any], _info: GraphQLResolveInfo) -> str:
    name = " ".join(n for n in (obj["firstName"], obj["lastName"]) if n)
    return name or str(obj["email"] or "")


def _customer_orders(obj: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    return [o for o in shop_of(info).table("orders").values() if o["_customer"] == obj["id"]]


@field("Customer", "orders")
def _customer_order_connection(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> Any:
    require(info, "read_orders")
    return connection(_customer_orders(obj, info), args, by_id)


@field("Customer", "numberOfOrders")
def _number_of_orders(obj: dict[str, Any], info: GraphQLResolveInfo) -> int:
    return len(_customer_orders(obj, info))


@field(
    "Customer",
    "defaultAddress",
    "lastOrder",
    "image",
    "market",
    "multipassIdentifier",
    "smsMarketingConsent",
)
def _customer_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


# --------------------------------------------------------------------- metafields
@field("Metafield", "jsonValue")
def _json_value(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return metafields.json_value(obj)


@field("Metafield", "compareDigest")
def _digest(obj: dict[str, Any], _info: GraphQLResolveInfo) -> str:
    return metafields.compare_digest(obj)


@field("Metafield", "owner")
def _owner(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).get(obj["_owner"])


@field("Metafield", "definition", "reference")
def _metafield_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


# ------------------------------------------------------------ webhook subscriptions
@field("WebhookSubscription", "endpoint")
def _endpoint(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return {"__typename": "WebhookHttpEndpoint", "callbackUrl": obj["_callback_url"]}


@field("WebhookSubscription", "callbackUrl")
def _callback_url(obj: dict[str, Any], _info: GraphQLResolveInfo) -> str:
    return str(obj["_callback_url"])


@field("WebhookSubscription", "apiVersion")
def _api_version(obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return {
        "handle": obj["_api_version"],
        "displayName": obj["_api_version"],
        "supported": obj["_api_version"] == schema.API_VERSION,
    }


# ------------------------------------------------------------------------- jobs
@field("Job", "query")
def _job_query(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return {}


# -------------------------------------------------------------- calculated orders
def calculated_line(shop: Shop, calculated: dict[str, Any], line: dict[str, Any]) -> Any:
    """The CalculatedLineItem of an order line inside an edit."""
    staged = calculated["_quantities"].get(line["id"])
    quantity = line["currentQuantity"] if staged is None else staged
    price = money(line["_unit_price"])
    currency = shop.info.currency
    return {
        "id": orders.calculated_line_id(line["id"]),
        "title": line["title"],
        "sku": line["sku"],
        "variantTitle": line["variantTitle"],
        "quantity": quantity,
        "editableQuantity": quantity,
        "editableQuantityBeforeChanges": line["currentQuantity"],
        "restockable": True,
        "restocking": bool(calculated["_restock"].get(line["id"])),
        "hasStagedLineItemDiscount": False,
        "originalUnitPriceSet": money_bag(price, currency),
        "discountedUnitPriceSet": money_bag(price, currency),
        "editableSubtotalSet": money_bag(price * quantity, currency),
        "uneditableSubtotalSet": money_bag(0, currency),
        "stagedChanges": [],
        "customAttributes": [],
        "calculatedDiscountAllocations": [],
        "discountAllocations": [],
        "image": None,
        "_variant": line["_variant"],
    }


@field("CalculatedLineItem", "variant")
def _calculated_variant(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("variants").get(obj["_variant"] or "")


def _calculated_lines(shop: Shop, obj: dict[str, Any]) -> list[Any]:
    order = shop.table("orders")[obj["_order"]]
    return [calculated_line(shop, obj, line) for line in orders.lines_of(shop, order)]


@field("CalculatedOrder", "lineItems")
def _calculated_lines_connection(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> Any:  # noqa: E501
    lines = _calculated_lines(shop_of(info), obj)
    return connection(lines, {k: v for k, v in args.items() if k != "query"}, by_id)


@field("CalculatedOrder", "addedLineItems", "addedDiscountApplications", "stagedChanges")
def _calculated_none_added(_obj: dict[str, Any], _info: GraphQLResolveInfo, **args: Any) -> Any:
    return connection([], args, by_id)


@field("CalculatedOrder", "originalOrder")
def _original_order(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("orders")[obj["_order"]]


@field("CalculatedOrder", "subtotalLineItemsQuantity")
def _calculated_quantity(obj: dict[str, Any], info: GraphQLResolveInfo) -> int:
    return sum(line["quantity"] for line in _calculated_lines(shop_of(info), obj))


def _calculated_total(shop: Shop, obj: dict[str, Any]) -> Decimal:
    return sum(
        (
            money(line["originalUnitPriceSet"]["shopMoney"]["amount"]) * line["quantity"]
            for line in _calculated_lines(shop, obj)
        ),
        orders.ZERO,
    )


@field("CalculatedOrder", "subtotalPriceSet", "totalPriceSet")
def _calculated_price(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return money_bag(_calculated_total(shop_of(info), obj), _currency(info))


@field("CalculatedOrder", "totalOutstandingSet")
def _calculated_outstanding(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    shop = shop_of(info)
    order = shop.table("orders")[obj["_order"]]
    captured = orders.payment_summary(shop, order)["captured"]
    return money_bag(_calculated_total(shop, obj) - captured, _currency(info))


@field("CalculatedOrder", "taxLines", "shippingLines")
def _calculated_empty(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
    return []


@field("CalculatedOrder", "cartDiscountAmountSet", "notificationPreviewHtml")
def _calculated_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


@field("CalculatedOrder", "notificationPreviewTitle")
def _calculated_title(obj: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return f"Order {shop_of(info).table('orders')[obj['_order']]['name']} updated"


# --------------------------------------------------------------- inventory changes
@field("InventoryAdjustmentGroup", "changes")
def _group_changes(
    obj: dict[str, Any],
    _info: GraphQLResolveInfo,
    inventoryItemIds: list[str] | None = None,
    locationIds: list[str] | None = None,
    quantityNames: list[str] | None = None,
) -> Any:  # noqa: N803
    return [
        c
        for c in obj["_changes"]
        if (inventoryItemIds is None or c["_item"] in inventoryItemIds)
        and (locationIds is None or c["_location"] in locationIds)
        and (quantityNames is None or c["name"] in quantityNames)
    ]


@field("InventoryAdjustmentGroup", "app", "staffMember")
def _group_none(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


@field("InventoryChange", "item")
def _change_item(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("items")[obj["_item"]]


@field("InventoryChange", "location")
def _change_location(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    return shop_of(info).table("locations")[obj["_location"]]
