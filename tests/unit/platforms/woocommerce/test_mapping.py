"""WooCommerce JSON → core model: documented examples and hand-built cases."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError

from plugin.core.model import (
    Address,
    BackorderMode,
    Customer,
    DeliveryCondition,
    Line,
    Links,
    PaymentState,
    ProductRef,
    ShippingLine,
    Status,
    Stock,
    StockFigure,
)
from plugin.platforms.woocommerce.mapping import (
    load_order,
    order_from_json,
    order_summary,
    payment_state,
)
from plugin.platforms.woocommerce.schemas import load_product, summarise
from plugin.platforms.woocommerce.statuses import canonical_status, wc_status
from plugin.platforms.woocommerce.stock import stock_figure, stock_for_order

from .conftest import documented_objects, documented_order, line, order_json, product_json


def test_every_documented_order_maps() -> None:
    orders = documented_objects("orders.md")
    assert len(orders) >= 6
    for payload in orders:
        order = order_from_json(payload)
        assert order.id == str(payload["id"])
        assert len(order.lines) == len(payload["line_items"])
        assert order.total == Decimal(payload["total"])


def test_documented_order_727_exact() -> None:
    order = order_from_json(documented_order(727, "processing"))
    assert order.id == "727"
    assert order.number == "727"
    assert order.status is Status.NEW
    assert order.currency == "USD"
    assert order.created_at == dt.datetime(2017, 3, 22, 19, 28, 2, tzinfo=dt.UTC)
    assert order.customer == Customer(id=None, email="john.doe@example.com")  # customer_id 0
    # bacs with date_paid set: the merchant confirmed the transfer (mapping docstring).
    assert order.payment_state is PaymentState.PAID
    assert order.payment_method == "bacs"
    assert order.billing == Address(
        first_name="John", last_name="Doe", address_1="969 Market", city="San Francisco",
        state="CA", postcode="94103", country="US", email="john.doe@example.com",
        phone="(555) 555-5555",
    )  # fmt: skip
    assert order.shipping.email == "" and order.shipping.city == "San Francisco"
    assert order.lines == (
        Line(
            line_id="315", product_id="93", variant_id=None, sku="", name="Woo Single #1",
            quantity=2, unit_price=Decimal("3.00"), subtotal=Decimal("6.00"),
            subtotal_tax=Decimal("0.45"), total=Decimal("6.00"), tax=Decimal("0.45"),
        ),
        Line(
            line_id="316", product_id="22", variant_id="23", sku="Bar3",
            name="Ship Your Idea &ndash; Color: Black, Size: M Test", quantity=1,
            unit_price=Decimal("12.00"), subtotal=Decimal("12.00"),
            subtotal_tax=Decimal("0.90"), total=Decimal("12.00"), tax=Decimal("0.90"),
        ),
    )  # fmt: skip
    assert order.shipping_lines == (
        ShippingLine(
            line_id="317", method_id="flat_rate", method_title="Flat Rate", total=Decimal("10.00")
        ),
    )
    assert order.total == Decimal("29.35")
    assert order.total_tax == Decimal("1.35")
    assert order.links == Links()
    assert order.delivery_override is None


def test_documented_pending_and_completed_orders() -> None:
    pending = order_from_json(documented_order(728, "pending"))
    assert pending.status is Status.NEW
    assert pending.payment_state is PaymentState.UNPAID  # date_paid null
    completed = order_from_json(documented_order(723, "completed"))
    assert completed.status is Status.DISPATCHED
    assert completed.customer.id == "26"


@pytest.mark.parametrize(
    ("wc", "backorder", "expected"),
    [
        ("pending", False, Status.NEW),
        ("processing", False, Status.NEW),
        ("on-hold", False, Status.ON_HOLD),
        ("on-hold", True, Status.NEW_BACKORDER),
        ("processing", True, Status.NEW),
        ("completed", False, Status.DISPATCHED),
        ("cancelled", False, Status.CANCELLED),
        ("refunded", False, Status.CANCELLED),
        ("failed", False, Status.CANCELLED),
        ("trash", False, Status.CANCELLED),
        ("checkout-draft", False, Status.UNCOMMITTED),
        ("shipped-by-plugin", False, Status.UNCOMMITTED),
    ],
)
def test_statuses(wc: str, backorder: bool, expected: Status) -> None:
    assert canonical_status(wc, is_backorder_order=backorder) is expected


def test_backorder_order_on_hold_is_new_backorder() -> None:
    meta = [
        {"id": 1, "key": "backorders_role", "value": "backorder"},
        {"id": 2, "key": "backorders_split_key", "value": "k1"},
    ]
    order = order_from_json(order_json(status="on-hold", parent_id=1042, meta_data=meta))
    assert order.status is Status.NEW_BACKORDER
    assert order.links == Links(parent_id="1042", is_backorder_order=True)


def test_a_backorder_order_is_named_by_its_backorder_number() -> None:
    """WooCommerce's `number` is the post id (`1043`); the customer and the merchant know the
    backorder order as `1042-001` (the split e-mail, the pages, Shopify's parts): the release
    e-mail and the allocation's decisions name it so. An original, and a backorder order
    written before its number was recorded, keep WooCommerce's."""
    meta = [
        {"id": 1, "key": "backorders_role", "value": "backorder"},
        {"id": 2, "key": "backorders_number", "value": "1042-001"},
    ]
    backorder = order_json(id=1043, number="1043", status="on-hold", parent_id=1042, meta_data=meta)
    original_meta = [{"id": 1, "key": "backorders_role", "value": "original"}]
    original = order_json(id=1042, number="1042", meta_data=original_meta)
    unnumbered = order_json(id=1044, number="1044", parent_id=1042, meta_data=meta[:1])
    assert [order_from_json(o).number for o in (backorder, original, unnumbered)] == [
        "1042-001",
        "1042",
        "1044",
    ]


@pytest.mark.parametrize(
    ("wc", "backorder", "shown"),
    [
        ("pending", False, "Pending payment"),
        ("processing", False, "Processing"),
        ("on-hold", False, "On hold"),
        ("on-hold", True, "On hold (waiting for stock)"),
        ("processing", True, "Processing"),
        ("completed", False, "Completed"),
        ("cancelled", True, "Cancelled"),
        ("refunded", False, "Refunded"),
        ("failed", False, "Failed"),
        ("checkout-draft", False, "Draft"),
        ("trash", False, "Trash"),
        ("shipped-by-plugin", False, "shipped-by-plugin"),
    ],
)
def test_order_summary_names_the_status_as_the_merchant_knows_it(
    wc: str, backorder: bool, shown: str
) -> None:
    """The pages showed WooCommerce's slug (`on-hold`) where Shopify's said "On hold (waiting
    for stock)": the adapter names its statuses."""
    meta = [{"id": 1, "key": "backorders_role", "value": "backorder"}] if backorder else []
    summary = order_summary(order_json(status=wc, meta_data=meta))
    assert summary.store_status == shown
    assert summary.status is canonical_status(wc, is_backorder_order=backorder)


@pytest.mark.parametrize(
    ("canonical", "wc"),
    [
        ("new", "processing"), ("on_hold", "on-hold"), ("new_backorder", "on-hold"),
        ("backorder_approved", "processing"), ("dispatched", "completed"),
        ("cancelled", "cancelled"), ("uncommitted", "pending"),
    ],
)  # fmt: skip
def test_wc_status(canonical: str, wc: str) -> None:
    assert wc_status(canonical) == wc


def test_wc_status_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown canonical status"):
        wc_status("shipped")


@pytest.mark.parametrize(
    ("method", "date_paid", "expected"),
    [
        ("stripe", "2026-11-20T10:01:00", PaymentState.PAID),
        ("stripe", None, PaymentState.UNPAID),
        ("cod", "2026-11-20T10:01:00", PaymentState.UNPAID),  # set on processing, no money yet
        ("cod", None, PaymentState.UNPAID),
        ("bacs", "2026-11-20T10:01:00", PaymentState.PAID),  # merchant confirmed the transfer
        ("bacs", None, PaymentState.UNPAID),  # on-hold, awaiting the transfer
        ("cheque", "2026-11-20T10:01:00", PaymentState.PAID),
        ("cheque", None, PaymentState.UNPAID),
        ("", "2026-11-20T10:01:00", PaymentState.PAID),  # manual order marked paid
    ],
)
def test_payment_state_per_method(
    method: str, date_paid: str | None, expected: PaymentState
) -> None:
    order = order_from_json(order_json(payment_method=method, date_paid_gmt=date_paid))
    assert order.payment_state is expected


def test_backorder_order_paid_from_original_is_paid() -> None:
    meta = [
        {"id": 1, "key": "backorders_role", "value": "backorder"},
        {"id": 2, "key": "backorders_payment", "value": "paid_from_original"},
    ]
    data = load_order(
        order_json(status="on-hold", date_paid_gmt=None, parent_id=1042, meta_data=meta)
    )
    assert payment_state(data) is PaymentState.PAID
    # The same meta on an order that is not our backorder order proves nothing.
    data = load_order(order_json(date_paid_gmt=None, meta_data=meta[1:]))
    assert payment_state(data) is PaymentState.UNPAID


def test_guest_and_customer() -> None:
    assert order_from_json(order_json(customer_id=0)).customer == Customer(
        id=None, email="ada@example.com"
    )
    assert order_from_json(order_json(customer_id=26)).customer == Customer(
        id="26", email="ada@example.com"
    )


def test_variation_line() -> None:
    payload = order_json(
        line_items=[line(21, 22, 3, "36.00", "30.00", variation_id=23, tax="1.50")]
    )
    (only,) = order_from_json(payload).lines
    assert only == Line(
        line_id="21", product_id="22", variant_id="23", sku="SKU-22", name="Product 22",
        quantity=3, unit_price=Decimal("12.00"), subtotal=Decimal("36.00"),
        subtotal_tax=Decimal("1.50"), total=Decimal("30.00"), tax=Decimal("1.50"),
    )  # fmt: skip
    assert only.discount == Decimal("6.00")


def test_links_and_delivery_from_our_meta() -> None:
    meta = [
        {"id": 1, "key": "backorders_role", "value": "original"},
        {"id": 3, "key": "backorders_split_keys", "value": json.dumps(["k1", "k2", "k3"])},
        {"id": 4, "key": "backorders_delivery", "value": "whole_order"},
        {"id": 5, "key": "_something_else", "value": {"nested": True}},
    ]
    order = order_from_json(order_json(meta_data=meta))
    assert order.links == Links(parent_id=None, is_backorder_order=False, split_count=3)
    assert order.delivery_override is DeliveryCondition.WHOLE_ORDER


def test_split_keys_meta_decoded_list_and_garbage() -> None:
    listed = [{"id": 3, "key": "backorders_split_keys", "value": ["1042:1", "1042:1", "1042:2"]}]
    assert order_from_json(order_json(meta_data=listed)).links.split_count == 2
    garbage = [{"id": 3, "key": "backorders_split_keys", "value": "not json"}]
    assert order_from_json(order_json(meta_data=garbage)).links == Links()


def test_unknown_delivery_override_is_ignored() -> None:
    meta = [{"id": 4, "key": "backorders_delivery", "value": "yesterday"}]
    assert order_from_json(order_json(meta_data=meta)).delivery_override is None


def test_nulls_and_unknown_fields_are_tolerated() -> None:
    payload = order_json(billing=None, meta_data=None, coupon_lines=None, brand_new_field={"x": 1})
    payload["shipping"]["company"] = None
    order = order_from_json(payload)
    assert order.billing == Address()
    assert order.shipping.company == ""
    assert order.coupons == ()


def test_zero_decimal_currency_amounts() -> None:
    payload = order_json(currency="JPY", total="1500", shipping_total="500")
    payload["line_items"] = [line(11, 93, 2, "1000", "1000")]
    payload["shipping_lines"][0]["total"] = "500"
    order = order_from_json(payload)
    assert order.lines[0].unit_price == Decimal("500")
    assert order.total == Decimal("1500")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda o: o.pop("id"), "id"),
        (lambda o: o.update(status=""), "status"),
        (lambda o: o.update(currency="dollars"), "currency"),
        (lambda o: o["line_items"][0].update(quantity="many"), "line_items.0.quantity"),
        (lambda o: o["line_items"][0].update(total="12,00"), "line_items.0.total"),
        (lambda o: o["line_items"][0].pop("product_id"), "line_items.0.product_id"),
        (lambda o: o.update(date_paid_gmt="yesterday"), "date_paid_gmt"),
        (lambda o: o.update(line_items={"not": "a list"}), "line_items"),
    ],
)
def test_malformed_orders_raise_validation_error(mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    payload = order_json()
    mutate(payload)
    with pytest.raises(ValidationError) as info:
        order_from_json(payload)
    message = summarise(info.value)
    assert message.startswith("invalid payload: ")
    assert field in message
    assert len(message) < 200


def test_non_object_payload_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        order_from_json(["not", "an", "order"])


# -- stock -----------------------------------------------------------------------------------


def test_documented_products_and_variations_load() -> None:
    for page in ("products.md", "product-variations.md"):
        for payload in documented_objects(page):
            if "manage_stock" not in payload:
                continue
            product = load_product(payload)
            assert product["id"] == payload["id"]
            assert product["manage_stock"] is False
            assert product["backorders"] == "no"


def test_stock_of_documented_order_with_documented_products_is_unmanaged() -> None:
    order = load_order(documented_order(727, "processing"))
    products = documented_objects("products.md")
    simple = {**products[0], "id": 93}
    variation = {**documented_objects("product-variations.md")[1], "id": 23}
    stocks = stock_for_order(order, [simple, variation])
    assert stocks == {
        ProductRef("93"): Stock(ProductRef("93"), available=0, managed=False),
        ProductRef("22", "23"): Stock(ProductRef("22", "23"), available=0, managed=False),
    }


def test_stock_adds_back_what_this_order_reduced() -> None:
    # Stock was 7 and 2 before a processing order took 5 and 1: WooCommerce now shows 2 and 1.
    order = load_order(order_json())
    stocks = stock_for_order(order, [product_json(93, 2, backorders="notify"), product_json(94, 1)])
    assert stocks[ProductRef("93")] == Stock(
        ProductRef("93"), available=7, managed=True, backorders=BackorderMode.NOTIFY
    )
    assert stocks[ProductRef("94")] == Stock(ProductRef("94"), available=2, managed=True)


def test_stock_negative_after_this_order() -> None:
    # Stock 3 before; this order took 5 (stock now -2): this order may take 3, nobody else waits.
    order = load_order(order_json(line_items=[line(11, 93, 5, "50.00", reduced=5)]))
    (stock,) = stock_for_order(order, [product_json(93, -2, backorders="yes")]).values()
    assert stock == Stock(ProductRef("93"), available=3, managed=True, backorders=BackorderMode.YES)


def test_stock_negative_because_of_other_orders() -> None:
    # Others already hold 4 on backorder (stock -4); this pending order reduced nothing.
    order = load_order(order_json(status="pending", line_items=[line(11, 93, 2, "20.00")]))
    (stock,) = stock_for_order(order, [product_json(93, -4, backorders="notify")]).values()
    assert stock == Stock(
        ProductRef("93"),
        available=0,
        managed=True,
        backorders=BackorderMode.NOTIFY,
        open_backorder_qty=4,
    )


def test_stock_not_reduced_yet() -> None:
    order = load_order(order_json(status="pending", line_items=[line(11, 93, 5, "50.00")]))
    (stock,) = stock_for_order(order, [product_json(93, 2)]).values()
    assert stock == Stock(ProductRef("93"), available=2, managed=True)


def test_stock_of_variations_with_own_and_parent_stock() -> None:
    order = load_order(
        order_json(
            line_items=[
                line(31, 22, 2, "24.00", variation_id=23, reduced=2),  # own stock
                line(32, 40, 3, "30.00", variation_id=41, reduced=3),  # stock on parent 40
                line(33, 40, 1, "10.00", variation_id=42, reduced=1),  # stock on parent 40
            ]
        )
    )
    # Variation JSON shows the parent's quantity (-1) when the parent keeps the stock.
    variations = [
        product_json(23, 0, parent_id=22),
        product_json(41, -1, manage="parent", backorders="notify", parent_id=40),
        product_json(42, -1, manage="parent", backorders="notify", parent_id=40),
    ]
    stocks = stock_for_order(order, variations)
    assert stocks[ProductRef("22", "23")] == Stock(
        ProductRef("22", "23"), available=2, managed=True
    )
    # Both draw on the parent's one figure: keyed by it, so a split shares it between them.
    shared = dict(available=3, managed=True, backorders=BackorderMode.NOTIFY, pool=ProductRef("40"))
    assert stocks[ProductRef("40", "41")] == Stock(ProductRef("40", "41"), **shared)  # type: ignore[arg-type]
    assert stocks[ProductRef("40", "42")] == Stock(ProductRef("40", "42"), **shared)  # type: ignore[arg-type]


def test_parent_record_preferred_when_given() -> None:
    order = load_order(
        order_json(line_items=[line(32, 40, 3, "30.00", variation_id=41, reduced=3)])
    )
    records = [
        product_json(41, 99, manage="parent", parent_id=40),
        product_json(40, 1, backorders="yes"),
    ]
    (stock,) = stock_for_order(order, records).values()
    assert stock == Stock(ProductRef("40", "41"), 4, True, BackorderMode.YES, pool=ProductRef("40"))


@pytest.mark.parametrize(
    ("ref", "record", "expected"),
    [
        (ProductRef("93"), product_json(93, -2), StockFigure(ProductRef("93"), -2)),
        (
            ProductRef("93"),
            product_json(93, None, manage=False),
            StockFigure(ProductRef("93"), None),
        ),
        (
            ProductRef("22", "23"),
            product_json(23, 4, parent_id=22),
            StockFigure(ProductRef("22", "23"), 4),
        ),
        # products.md / product-variations.md: "parent" shows the parent's quantity, the
        # figure of every variation of 40 that does not keep its own.
        (
            ProductRef("40", "41"),
            product_json(41, -1, manage="parent", parent_id=40),
            StockFigure(ProductRef("40"), -1),
        ),
    ],
)
def test_stock_figure_names_the_figure_a_product_draws_on(
    ref: ProductRef, record: dict[str, Any], expected: StockFigure
) -> None:
    assert stock_figure(ref, record) == expected


@pytest.mark.parametrize(
    ("status", "backorders", "expected"),
    [
        ("instock", "no", Stock(ProductRef("93"), available=0, managed=False)),
        ("outofstock", "no", Stock(ProductRef("93"), available=0, managed=True)),
        ("onbackorder", "no", Stock(ProductRef("93"), 0, True, BackorderMode.NOTIFY)),
        ("onbackorder", "yes", Stock(ProductRef("93"), 0, True, BackorderMode.YES)),
    ],
)
def test_unmanaged_stock(status: str, backorders: str, expected: Stock) -> None:
    order = load_order(order_json(line_items=[line(11, 93, 1, "10.00")]))
    record = product_json(93, None, manage=False, status=status, backorders=backorders)
    assert stock_for_order(order, [record]) == {ProductRef("93"): expected}


def test_deleted_product_does_not_block() -> None:
    order = load_order(order_json(line_items=[line(11, 93, 1, "10.00", reduced=1)]))
    assert stock_for_order(order, []) == {
        ProductRef("93"): Stock(ProductRef("93"), 0, managed=False)
    }


def test_malformed_product_raises() -> None:
    order = load_order(order_json(line_items=[line(11, 93, 1, "10.00")]))
    with pytest.raises(ValidationError):
        stock_for_order(order, [product_json(93, 1, backorders="sometimes")])
    with pytest.raises(ValidationError):
        stock_for_order(order, [product_json(93, 1, manage="maybe")])
