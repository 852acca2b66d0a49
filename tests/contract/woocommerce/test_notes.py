"""Order notes written through the platform adapter, on the sandbox and a real store."""

from __future__ import annotations

from tests.contract.woocommerce.conftest import StoreUnderTest
from tests.contract.woocommerce.shop import Shop


def test_private_and_customer_notes(woo: StoreUnderTest, shop: Shop) -> None:
    widget = shop.product("Widget", stock=5)
    order = shop.order([{"product_id": widget["id"], "quantity": 1}])
    platform = woo.platform()

    platform.add_note(str(order["id"]), "Split into 1042 and 1042-001 <b>bold</b> & more")
    platform.add_note(str(order["id"]), "Your backordered items ship soon.", customer=True)

    assert platform.calls == 2
    ours = [
        (n["note"], n["customer_note"])
        for n in shop.notes(order["id"])
        if n["note"].startswith(("Split into", "Your backordered"))
    ]
    assert sorted(ours) == [
        ("Split into 1042 and 1042-001 <b>bold</b> & more", False),
        ("Your backordered items ship soon.", True),
    ]
