"""What a shopper who is not signed in can see of a WooCommerce store's catalogue.

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
