"""What a shopper can open in a Shopify shop, for the storefront widget (`Catalogue.shelf_*`).

Facts (Admin GraphQL 2025-01, /work/shared/reference/shopify/): `Product.status` is `ACTIVE`,
`DRAFT` or `ARCHIVED` and "controls visibility across all sales channels"; `Product.onlineStoreUrl`
is "the product's URL on the online store. If null, then the product isn't published to the
online store sales channel". A shopper can open a product that is both ACTIVE and has an online
store URL; any other id is answered like one that does not exist (None). Per variant:
`inventoryPolicy` `CONTINUE` keeps selling when out of stock (the backorder), `inventoryQuantity`
is "the total sellable quantity" (what the theme's button goes by) and `inventoryItem.tracked`
whether Shopify counts it at all (an untracked variant never runs out).

Ids: a Shopify storefront page names a product and a variant (`product.id`,
`product.selected_or_first_available_variant.id`, `?variant=`), so the widget's `product:variation`
ids are product and *variant* numbers; Backorders' records name the variant by its inventory
item (mapping.py), which each item carries as `ShelfItem.ref`. A product with only the default
variant is a simple product (as the products page lists it, catalogue.py): its stock and policy
are its variant's and it has no variations to ask for.

Cost: one query per call, its requested cost bounded (`variants(first:)` shrinks as more
products are asked at once: at most `VARIANT_BUDGET` variants in all, about 650 points for 50
products, under Shopify's 1,000 per query). A product page asks for one product (its first 100
variants) and then for its chosen variant, which is answered from that same read: one request
to the shop per widget request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plugin.core.model import ProductRef, StockFigure
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import gid, number
from plugin.ports import ShelfItem

MAX_VARIANTS = 100  # variants read per product at most
VARIANT_BUDGET = 250  # variants read per call over all its products
_VARIANT = "id inventoryPolicy inventoryQuantity inventoryItem { id tracked }"
_PRODUCT = "id status onlineStoreUrl hasOnlyDefaultVariant"
PRODUCTS = f"""query shelfProducts($ids: [ID!]!, $first: Int!) {{ nodes(ids: $ids) {{
  ... on Product {{ {_PRODUCT} variants(first: $first) {{ nodes {{ {_VARIANT} }} }} }} }} }}"""
VARIANTS = f"""query shelfVariants($ids: [ID!]!) {{ nodes(ids: $ids) {{
  ... on ProductVariant {{ {_VARIANT} product {{ {_PRODUCT} }} }} }} }}"""


def is_on_shelf(product: Mapping[str, Any]) -> bool:
    """Whether a shopper can open the product: ACTIVE and published to the online store."""
    return product.get("status") == "ACTIVE" and bool(product.get("onlineStoreUrl"))


def variant_item(product_id: int, variant: Mapping[str, Any]) -> ShelfItem:
    """A variant as the widget sees it, named by its variant number, recorded by its item."""
    item = variant.get("inventoryItem") or {}
    tracked = bool(item.get("tracked"))
    ref = ProductRef(str(product_id), number(item["id"]))
    return ShelfItem(
        id=int(number(variant["id"])),
        figure=StockFigure(ref, int(variant.get("inventoryQuantity") or 0) if tracked else None),
        counted_in_stock=not tracked,
        backorders_allowed=tracked and variant.get("inventoryPolicy") == "CONTINUE",
        ref=ref,
    )


def product_item(product: Mapping[str, Any], variants: Sequence[ShelfItem]) -> ShelfItem:
    """A product: its only variant's figure and policy, or (with options) no figure of its
    own, in stock while a variant is, taking backorders while a variant does."""
    product_id = int(number(product["id"]))
    if product.get("hasOnlyDefaultVariant") and len(variants) == 1:
        only = variants[0]
        return ShelfItem(
            id=product_id,
            figure=only.figure,
            counted_in_stock=only.counted_in_stock,
            backorders_allowed=only.backorders_allowed,
            ref=only.ref,
        )
    return ShelfItem(
        id=product_id,
        figure=StockFigure(ProductRef(str(product_id)), None),
        counted_in_stock=any(v.counted_in_stock or (v.figure.quantity or 0) > 0 for v in variants),
        backorders_allowed=any(v.backorders_allowed for v in variants),
        variation_ids=tuple(v.id for v in variants),
    )


class ShopifyShelf:
    """The shelf reads of one widget request: each call one query, and a product's variants
    kept from `products` for `variations` of the same request."""

    def __init__(self, client: ShopifyClient) -> None:
        self.client = client
        self._variants: dict[int, dict[int, ShelfItem]] = {}  # of products read, on the shelf

    def products(self, product_ids: Sequence[int]) -> dict[int, ShelfItem | None]:
        """The products among `product_ids` a shopper can open; None for any other id."""
        ids = list(dict.fromkeys(int(p) for p in product_ids))
        shelf: dict[int, ShelfItem | None] = dict.fromkeys(ids)
        if not ids:
            return shelf
        first = max(1, min(MAX_VARIANTS, VARIANT_BUDGET // len(ids)))
        nodes = self.client.execute(
            PRODUCTS, {"ids": [gid("Product", p) for p in ids], "first": first}
        )["nodes"]
        for node in nodes:
            # `nodes` answers null for an unknown id and {} for an object of another type.
            if not node or "status" not in node or not is_on_shelf(node):
                continue
            product_id = int(number(node["id"]))
            variants = [variant_item(product_id, v) for v in node["variants"]["nodes"]]
            shelf[product_id] = product_item(node, variants)
            self._variants[product_id] = {v.id: v for v in variants}
        return shelf

    def variations(
        self, product_id: int, variation_ids: Sequence[int], public: Sequence[int]
    ) -> dict[int, ShelfItem]:
        """The variants among `variation_ids` of product `product_id` listed in `public`, from
        `products`' read when it made one, else in one query."""
        wanted = [int(v) for v in dict.fromkeys(variation_ids) if int(v) in set(public)]
        if not wanted:
            return {}
        known = self._variants.get(int(product_id))
        if known is not None:
            return {v: known[v] for v in wanted if v in known}
        nodes = self.client.execute(VARIANTS, {"ids": [gid("ProductVariant", v) for v in wanted]})[
            "nodes"
        ]
        found: dict[int, ShelfItem] = {}
        for node in nodes:
            if not node or "product" not in node:
                continue
            product = node["product"]
            if int(number(product["id"])) != int(product_id) or not is_on_shelf(product):
                continue
            item = variant_item(int(product_id), node)
            found[item.id] = item
        return found
