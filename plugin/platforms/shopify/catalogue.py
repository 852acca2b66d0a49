"""A Shopify shop's catalogue as the merchant pages list it, and the bulk backorder setting.

Facts (Admin GraphQL 2025-01): `Product` has `status` (`ACTIVE`, `DRAFT`, `ARCHIVED`),
`hasOnlyDefaultVariant` (a product without options has one "Default Title" variant) and its
variants; `ProductVariant.inventoryPolicy` is `CONTINUE` (keep selling, the backorder) or `DENY`,
`inventoryQuantity` the total available over locations, `inventoryItem.tracked` whether Shopify
counts it. `productVariantsBulkUpdate` changes variants of one product per call.

The core names a variant by its inventory item (mapping.py), so the products page's variations are
inventory item numbers, and a one-variant product is listed as a simple product whose stock and
policy are its variant's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from plugin.core.model import ProductRef
from plugin.errors import ValidationFailed
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import gid, number
from plugin.ports import BackorderOutcome, CatalogueItem, CustomerEntry

STOCK_STATUSES = ("in_stock", "out_of_stock")
BACKORDER_CHOICES = (
    ("DENY", "Stop selling when out of stock"),
    ("CONTINUE", "Continue selling when out of stock"),
)
PAGE = 50

VARIANT_FIELDS = "id sku title inventoryPolicy inventoryQuantity inventoryItem { id tracked }"
PRODUCTS = f"""query products($first: Int!, $query: String) {{
  products(first: $first, query: $query, sortKey: TITLE) {{ nodes {{ id title hasOnlyDefaultVariant
    variants(first: 1) {{ nodes {{ {VARIANT_FIELDS} }} }} }} }} }}"""
VARIANTS = f"""query variants($id: ID!, $first: Int!) {{ product(id: $id) {{ id
  variants(first: $first) {{ nodes {{ {VARIANT_FIELDS} }} }} }} }}"""
PRODUCT_VARIANTS = f"""query expand($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Product {{ id
  hasOnlyDefaultVariant variants(first: 100) {{ nodes {{ {VARIANT_FIELDS} }} }} }} }} }}"""
CUSTOMERS = """query customers($first: Int!, $query: String) {
  customers(first: $first, query: $query) { nodes { id firstName lastName email } } }"""
BULK_POLICY = """mutation policies($product: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $product, variants: $variants) {
    productVariants { id inventoryPolicy } userErrors { field message code } } }"""


def _item(
    node: Mapping[str, Any], name: str, *, product_id: str | None = None, variable: bool = False
) -> CatalogueItem:
    tracked = bool((node.get("inventoryItem") or {}).get("tracked"))
    quantity = node.get("inventoryQuantity") if tracked else None
    in_stock = not tracked or (quantity or 0) > 0
    return CatalogueItem(
        id=int(product_id or number(node["inventoryItem"]["id"])),
        name=name,
        sku=str(node.get("sku") or ""),
        type="variable" if variable else "simple",
        manage_stock=tracked,
        stock_quantity=int(quantity) if quantity is not None else None,
        stock_status=STOCK_STATUSES[0] if in_stock else STOCK_STATUSES[1],
        backorders=str(node.get("inventoryPolicy") or "DENY"),
        variable=variable,
    )


def _search(text: str) -> str | None:
    """Shopify's search syntax for titles starting with each word (`title:copper*`; Shopify
    matches the prefix of any word of the title, the sandbox of the whole title)."""
    words = [w for w in re.split(r"[^\w-]+", text) if w]
    return " ".join(f"title:{w}*" for w in words) or None


class ShopifyCatalogue:
    """The `plugin.ports.Catalogue` part of a Shopify shop."""

    client: ShopifyClient

    def list_products(
        self, *, search: str, stock_status: str, backorders: str, limit: int
    ) -> list[CatalogueItem]:
        nodes = self.client.execute(
            PRODUCTS, {"first": max(1, min(limit, PAGE)), "query": _search(search)}
        )["products"]["nodes"]
        items = []
        for node in nodes:
            variants = node["variants"]["nodes"]
            variable = not node["hasOnlyDefaultVariant"]
            if not variants:
                continue
            item = _item(
                variants[0], str(node["title"]), product_id=number(node["id"]), variable=variable
            )
            if stock_status and not variable and item.stock_status != stock_status:
                continue
            if backorders and not variable and item.backorders != backorders:
                continue
            items.append(item)
        return items

    def list_variations(self, product_id: int, *, limit: int) -> list[CatalogueItem]:
        product = self.client.execute(
            VARIANTS, {"id": gid("Product", product_id), "first": max(1, min(limit, 100))}
        )["product"]
        if product is None:
            return []
        return [_item(v, str(v.get("title") or v["sku"])) for v in product["variants"]["nodes"]]

    def list_customers(self, *, search: str, limit: int) -> list[CustomerEntry]:
        nodes = self.client.execute(
            CUSTOMERS, {"first": max(1, min(limit, PAGE)), "query": search.strip() or None}
        )["customers"]["nodes"]
        return [
            CustomerEntry(
                id=int(number(n["id"])),
                first_name=str(n.get("firstName") or ""),
                last_name=str(n.get("lastName") or ""),
                email=str(n.get("email") or ""),
                username="",
            )
            for n in nodes
        ]

    def _variants_of(self, product_ids: Sequence[int]) -> dict[int, list[Mapping[str, Any]]]:
        return {
            p: list(node["variants"]["nodes"]) for p, node in self._products(product_ids).items()
        }

    def _products(self, product_ids: Sequence[int]) -> dict[int, Mapping[str, Any]]:
        found: dict[int, Mapping[str, Any]] = {}
        ids = list(dict.fromkeys(int(p) for p in product_ids))
        for start in range(0, len(ids), 10):  # each product may bring 100 variants
            chunk = ids[start : start + 10]
            nodes = self.client.execute(
                PRODUCT_VARIANTS, {"ids": [gid("Product", p) for p in chunk]}
            )["nodes"]
            for node in nodes:
                if node:
                    found[int(number(node["id"]))] = node
        return found

    def expand_products(self, product_ids: Sequence[int]) -> list[tuple[int, int | None]]:
        """Each product and, after one with variants of its own (not only the default one), each
        of its variants (by inventory item): a product with only its default variant is a
        simple product, named alone."""
        products = self._products(product_ids)
        expanded: list[tuple[int, int | None]] = []
        for product_id in product_ids:
            expanded.append((int(product_id), None))
            product = products.get(int(product_id))
            if product is None or product.get("hasOnlyDefaultVariant"):
                continue
            for variant in product["variants"]["nodes"]:
                expanded.append((int(product_id), int(number(variant["inventoryItem"]["id"]))))
        return expanded

    def write_backorders(
        self, items: Sequence[tuple[int, int | None]], value: str
    ) -> Iterator[list[BackorderOutcome]]:
        """Set `inventoryPolicy` to `value` (CONTINUE or DENY), one call per product; a
        product named alone means all its variants."""
        if value not in dict(BACKORDER_CHOICES):
            choices = ", ".join(c for c, _ in BACKORDER_CHOICES)
            raise ValidationFailed(f"backorder setting must be one of {choices}")
        wanted: dict[int, set[int] | None] = {}
        for product_id, item in items:
            if item is None:
                wanted[int(product_id)] = None
            elif wanted.get(int(product_id), set()) is not None:
                wanted.setdefault(int(product_id), set()).add(int(item))  # type: ignore[union-attr]
        variants = self._variants_of(list(wanted))
        for product_id, chosen in wanted.items():
            targets = [
                v
                for v in variants.get(product_id, [])
                if chosen is None or int(number(v["inventoryItem"]["id"])) in chosen
            ]
            if not targets:
                yield [BackorderOutcome(product_id, None, False, "not found")]
                continue
            changing = [v for v in targets if v.get("inventoryPolicy") != value]
            message = "updated"
            ok = True
            if changing:
                payload = self.client.execute(
                    BULK_POLICY,
                    {
                        "product": gid("Product", product_id),
                        "variants": [{"id": v["id"], "inventoryPolicy": value} for v in changing],
                    },
                )["productVariantsBulkUpdate"]
                if payload["userErrors"]:
                    ok = False
                    message = "; ".join(e["message"] for e in payload["userErrors"])
            yield [
                BackorderOutcome(
                    product_id,
                    int(number(v["inventoryItem"]["id"])) if chosen is not None else None,
                    ok,
                    message,
                )
                for v in (targets if chosen is not None else targets[:1])
            ]

    def set_backorders(self, ref: ProductRef, value: str) -> None:
        """Set one variant's (or every variant of a product's) `inventoryPolicy`; no write
        when it has that value."""
        item = int(ref.variant_id) if ref.variant_id else None
        for outcomes in self.write_backorders([(int(ref.product_id), item)], value):
            failed = [o.message for o in outcomes if not o.ok]
            if failed:
                raise ValidationFailed("; ".join(failed), reason="backorders_refused")
