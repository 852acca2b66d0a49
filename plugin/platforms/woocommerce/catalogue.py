"""A WooCommerce store's catalogue: what a shopper who is not signed in can see of it, and
products, variations and customers as the merchant pages list them.

The storefront widget's public answers are limited to this (web/storefront.py):

- A product page opens for a **published** product (`status` "publish"; draft, pending, private
  and future products are not public, products.md) **without a password**: while
  `post_password` is set, WooCommerce shows a password form instead of the product
  (woocommerce/woocommerce `plugins/woocommerce/templates/content-single-product.php`,
  `post_password_required()`). Stores whose API does not return `post_password` (it is in the v3
  products schema, `class-wc-rest-products-controller.php` `get_item_schema`) cannot tell us, and
  their products count as without one.
- `catalog_visibility` is not a condition. It decides where a product is *listed*: shop and
  search loops skip products that are not `is_visible()` (`templates/content-product.php`), and
  `hidden` takes a product out of both. But a hidden product's page still opens at its URL (the
  single-product template checks only the password) and shows its stock like any other page, so
  answering for it reveals nothing its own page does not.
- A variation is offered on its product's page when it is **published** (a disabled variation is
  `private`, product-variations.md `status`) and is one of **that product's** variations (the
  product's `variations` ids, products.md), and the product itself is public.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.core.model import ProductRef
from plugin.platforms.woocommerce.stock import stock_figure
from plugin.ports import CatalogueItem, CustomerEntry, ShelfItem

PUBLISHED = "publish"


def is_public_product(product: Mapping[str, Any]) -> bool:
    """True when a visitor can open the product's page and see its stock."""
    return product.get("status") == PUBLISHED and not product.get("post_password")


def public_variation_ids(product: Mapping[str, Any]) -> list[int]:
    """The ids of a public product's variations (none for a product that is not public)."""
    if not is_public_product(product):
        return []
    ids = product.get("variations") or []
    return sorted({int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)})


def is_public_variation(variation: Mapping[str, Any], listed_ids: list[int]) -> bool:
    """True for a published variation among `listed_ids`, its public product's variations."""
    variation_id = variation.get("id")
    return (
        variation.get("status") == PUBLISHED
        and isinstance(variation_id, int)
        and variation_id in listed_ids
    )


# -- what the merchant pages and the widget read and write -------------------------------------

STOCK_STATUSES = ("instock", "outofstock", "onbackorder")  # products.md `stock_status`
BACKORDER_CHOICES = (("no", "Do not allow"), ("notify", "Allow, notify customer"), ("yes", "Allow"))
BACKORDERS_ALLOWED = ("notify", "yes")  # products.md `backorders`: both take backorders
IN_STOCK = "instock"
VARIABLE = "variable"


def catalogue_item(record: Mapping[str, Any], *, variation: bool = False) -> CatalogueItem:
    """A product or variation JSON (products.md, product-variations.md) as the products page
    lists it; a variation is named by its attributes' options."""
    name = str(record.get("name") or "")
    if variation:
        options = [str(a.get("option", "")) for a in record.get("attributes") or []]
        name = ", ".join(options) or f"#{record.get('id')}"
    quantity = record.get("stock_quantity")
    return CatalogueItem(
        id=int(record["id"]),
        name=name,
        sku=str(record.get("sku") or ""),
        type=str(record.get("type") or ""),
        manage_stock=bool(record.get("manage_stock")),
        stock_quantity=int(quantity) if isinstance(quantity, int) else None,
        stock_status=str(record.get("stock_status") or ""),
        backorders=str(record.get("backorders") or ""),
        variable=record.get("type") == VARIABLE,
    )


def customer_entry(record: Mapping[str, Any]) -> CustomerEntry:
    """A customer JSON (customers.md) as the customers page lists it."""
    return CustomerEntry(
        id=int(record["id"]),
        first_name=str(record.get("first_name") or ""),
        last_name=str(record.get("last_name") or ""),
        email=str(record.get("email") or ""),
        username=str(record.get("username") or ""),
    )


def shelf_item(ref: ProductRef, record: Mapping[str, Any]) -> ShelfItem:
    """What the widget shows of a public product or variation: its stock figure (the parent's
    for a variation whose parent keeps the stock), whether the store takes backorders, and a
    product's public variations."""
    return ShelfItem(
        id=int(record["id"]),
        figure=stock_figure(ref, record),
        counted_in_stock=str(record.get("stock_status", IN_STOCK)) == IN_STOCK,
        backorders_allowed=record.get("backorders", "no") in BACKORDERS_ALLOWED,
        variation_ids=tuple(public_variation_ids(record)) if not ref.variant_id else (),
    )


def backorders_message(record: Mapping[str, Any], value: str) -> str:
    """What the store now says about an item's `backorders`, and why when it is not `value`."""
    got = record.get("backorders", value)
    message = f"backorders={got}"
    if record.get("manage_stock") == "parent":
        # product-variations.md: a variation whose stock the parent manages follows the parent's
        # `backorders` (WC_Product_Variation::get_backorders returns the parent's in view
        # context).
        message += " (follows the product)"
    elif got != value and record.get("manage_stock") is False:
        # WC_Product::validate_props forces `backorders` to "no" when stock is not managed.
        message += " (stock not managed)"
    return message
