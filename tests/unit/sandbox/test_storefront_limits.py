"""How many units the sandbox storefront lets a shopper order (WooCommerce's max purchase)."""

from __future__ import annotations

import pytest

from sandbox.woocommerce.storefront import stock_limit


@pytest.mark.parametrize(
    ("manage", "quantity", "backorders", "status", "limit"),
    [
        (True, 3, "no", "instock", 3),
        # A variation drawing on its parent's figure: the REST view shows "parent" and the
        # parent's quantity and backorders (WC_Product_Variation getters).
        ("parent", 2, "no", "instock", 2),
        ("parent", -1, "no", "outofstock", 0),
        ("parent", 0, "notify", "onbackorder", None),
        (False, None, "no", "instock", None),
        (False, None, "no", "outofstock", 0),
    ],
)
def test_stock_limit(
    manage: object, quantity: int | None, backorders: str, status: str, limit: int | None
) -> None:
    item = {
        "manage_stock": manage, "stock_quantity": quantity, "backorders": backorders,
        "stock_status": status,
    }  # fmt: skip
    assert stock_limit(item) == limit
