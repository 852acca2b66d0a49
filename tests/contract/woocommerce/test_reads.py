"""Reading orders, stock and changes through the platform adapter, on the sandbox and a real
store (tests/contract/woocommerce/conftest.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from plugin.core.model import (
    Address,
    BackorderMode,
    Customer,
    PaymentState,
    ProductRef,
    Status,
    Stock,
)
from plugin.errors import AuthenticationFailed, NotFound
from tests.contract.woocommerce.conftest import StoreUnderTest
from tests.contract.woocommerce.shop import BILLING, SHIPPING, Shop


def test_read_an_order_and_its_stock(woo: StoreUnderTest, shop: Shop) -> None:
    mug = shop.product("Mug", price="12.00", stock=25)
    kettle = shop.product("Kettle", price="80.00", stock=1, backorders="yes")
    towel = shop.product("Towel", price="5.00")  # stock not managed
    shirt, sizes = shop.variable_product("Shirt", {"S": (5, "notify"), "M": (0, "no")})
    order = shop.order(
        [{"product_id": mug["id"], "quantity": 2},
         {"product_id": kettle["id"], "quantity": 3},
         {"product_id": towel["id"], "quantity": 1},
         {"product_id": shirt["id"], "variation_id": sizes["S"]["id"], "quantity": 1},
         {"product_id": shirt["id"], "variation_id": sizes["M"]["id"], "quantity": 2}],
        shipping_lines=[{"method_id": "flat_rate", "method_title": "Flat rate", "total": "7.50"}],
    )  # fmt: skip
    platform = woo.platform()

    read = platform.get_order(str(order["id"]))

    assert platform.calls == 1
    assert (read.id, read.number, read.status, read.currency) == (
        str(order["id"]), str(order["number"]), Status.NEW, order["currency"],
    )  # fmt: skip
    assert read.payment_state is PaymentState.PAID
    assert read.payment_method == "bacs"
    assert read.customer == Customer(None, "ada@example.com")
    assert read.billing == Address(**BILLING)
    assert read.shipping == Address(**SHIPPING)
    assert [(ln.product_id, ln.variant_id, ln.quantity, ln.unit_price, ln.total)
            for ln in read.lines] == [
        (str(mug["id"]), None, 2, Decimal("12.00"), Decimal("24.00")),
        (str(kettle["id"]), None, 3, Decimal("80.00"), Decimal("240.00")),
        (str(towel["id"]), None, 1, Decimal("5.00"), Decimal("5.00")),
        (str(shirt["id"]), str(sizes["S"]["id"]), 1, Decimal("30.00"), Decimal("30.00")),
        (str(shirt["id"]), str(sizes["M"]["id"]), 2, Decimal("30.00"), Decimal("60.00")),
    ]  # fmt: skip
    assert [ln.name for ln in read.lines][:3] == [mug["name"], kettle["name"], towel["name"]]
    assert [(s.method_id, s.total) for s in read.shipping_lines] == [("flat_rate", Decimal("7.50"))]
    assert read.total == Decimal("366.50")
    assert read.links.parent_id is None and read.links.split_count == 0
    assert read.created_at.tzinfo is dt.UTC

    stock = platform.get_stock(read)

    # The order reduced its units at processing; stock seen from the order adds them back.
    assert stock == {
        ProductRef(str(mug["id"])): Stock(ProductRef(str(mug["id"])), 25, True, BackorderMode.NO),
        ProductRef(str(kettle["id"])): Stock(
            ProductRef(str(kettle["id"])), 1, True, BackorderMode.YES
        ),
        ProductRef(str(towel["id"])): Stock(
            ProductRef(str(towel["id"])), 0, False, BackorderMode.NO
        ),
        ProductRef(str(shirt["id"]), str(sizes["S"]["id"])): Stock(
            ProductRef(str(shirt["id"]), str(sizes["S"]["id"])), 5, True, BackorderMode.NOTIFY
        ),
        ProductRef(str(shirt["id"]), str(sizes["M"]["id"])): Stock(
            ProductRef(str(shirt["id"]), str(sizes["M"]["id"])), 0, True, BackorderMode.NO
        ),
    }
    # One read for the simple products, one for the variations of the one variable product.
    assert platform.calls == 3
    assert (shop.stock(mug["id"]), shop.stock(kettle["id"])) == (23, -2)
    assert shop.stock(shirt["id"], sizes["M"]["id"]) == -2


def test_read_many_orders_at_once_leaving_out_deleted_ones(woo: StoreUnderTest, shop: Shop) -> None:
    board = shop.product("Board", stock=0, backorders="yes")
    line = [{"product_id": board["id"], "quantity": 2}]
    held = [shop.order(line, status="on-hold", paid=False) for _ in range(3)]
    gone = shop.order(line, status="on-hold", paid=False)
    shop.client.delete(f"/orders/{gone['id']}", {"force": True})
    platform = woo.platform()
    wanted = [str(held[2]["id"]), str(gone["id"]), str(held[0]["id"]), str(held[1]["id"])]

    orders = platform.get_orders(wanted)

    assert platform.calls == 1
    assert [o.id for o in orders] == [str(held[2]["id"]), str(held[0]["id"]), str(held[1]["id"])]
    assert {o.status for o in orders} == {Status.ON_HOLD}
    # Remembered: the stock each reduced comes without another call.
    assert platform.reduced_stock(str(held[0]["id"])) == {str(held[0]["line_items"][0]["id"]): 2}
    assert platform.calls == 1


def test_orders_modified_since(woo: StoreUnderTest, shop: Shop) -> None:
    board = shop.product("Board", stock=10)
    first = shop.order([{"product_id": board["id"], "quantity": 1}])
    since = dt.datetime.fromisoformat(first["date_modified_gmt"]).replace(tzinfo=dt.UTC)
    second = shop.order([{"product_id": board["id"], "quantity": 1}], status="on-hold", paid=False)
    platform = woo.platform()

    since -= dt.timedelta(seconds=1)
    changes = {c.order_id: c for c in platform.orders_modified_since(since)}

    assert str(first["id"]) in changes and str(second["id"]) in changes
    assert changes[str(second["id"])].status == "on-hold"
    assert changes[str(second["id"])].modified_gmt == dt.datetime.fromisoformat(
        shop.get_order(second["id"])["date_modified_gmt"]
    ).replace(tzinfo=dt.UTC)
    assert all(c.modified_gmt >= since for c in changes.values())
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert list(platform.orders_modified_since(later)) == []


def test_a_missing_order_is_not_found(woo: StoreUnderTest) -> None:
    platform = woo.platform()
    with pytest.raises(NotFound) as info:
        platform.get_order("987654321")
    assert info.value.reason == "woocommerce_rest_shop_order_invalid_id"


def test_wrong_keys_are_refused(woo: StoreUnderTest) -> None:
    wrong = StoreUnderTest(woo.kind, woo.url, woo.consumer_key, "cs_wrong", woo.ca_bundle)
    with pytest.raises(AuthenticationFailed):
        wrong.client().check_credentials()
    woo.client().check_credentials()
