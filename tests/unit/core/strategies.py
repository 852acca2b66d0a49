"""Hypothesis strategies for orders, stock and policies of the core planner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from plugin.core.model import (
    Address,
    BackorderMode,
    Customer,
    CustomerPolicy,
    DeliveryCondition,
    FeeLine,
    Line,
    Links,
    Order,
    OversoldAction,
    PaymentState,
    Policies,
    ProductPolicy,
    ProductRef,
    ShippingLine,
    Status,
    Stock,
    StoreSettings,
    minor_unit,
)

REFS = (
    ProductRef("A"),
    ProductRef("B"),
    ProductRef("C", "red"),
    ProductRef("C", "blue"),
    ProductRef("D"),
)
CURRENCIES = ("USD", "EUR", "JPY", "KWD")
CREATED = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)


# Strategies are built once: building them inside every draw costs more than the test.
_UNITS = st.integers(0, 200_000)
_SMALL_UNITS = st.integers(0, 5_000)
_REF = st.sampled_from(REFS)
_QUANTITY = st.integers(1, 12) | st.just(0)
_CURRENCY = st.sampled_from(CURRENCIES)
_LINE_COUNT = st.integers(1, 8)
_EXTRA_COUNT = st.integers(0, 2)
_STATUS = st.sampled_from(list(Status))
_PAYMENT = st.sampled_from(list(PaymentState))
_DELIVERY = st.sampled_from(list(DeliveryCondition))
_MAYBE_DELIVERY = st.none() | _DELIVERY
_LINKS = st.sampled_from(
    [
        Links(),
        Links(),
        Links(),
        Links(is_backorder_order=True, parent_id="1"),
        Links(split_count=1),
    ]
)


@st.composite
def lines(draw: st.DrawFn, unit: Decimal, index: int) -> Line:
    ref = draw(_REF)
    quantity = draw(_QUANTITY)
    subtotal_units = draw(_UNITS)
    total_units = subtotal_units - min(draw(_UNITS), subtotal_units)
    subtotal_tax_units = draw(_UNITS) // 5
    tax_units = subtotal_tax_units - min(draw(_SMALL_UNITS), subtotal_tax_units)
    return Line(
        line_id=str(index),
        product_id=ref.product_id,
        variant_id=ref.variant_id,
        sku=f"SKU-{ref.product_id}",
        name=f"Product {ref.product_id}",
        quantity=quantity,
        unit_price=subtotal_units * unit,
        subtotal=subtotal_units * unit,
        subtotal_tax=subtotal_tax_units * unit,
        total=total_units * unit,
        tax=tax_units * unit,
    )


@st.composite
def orders(draw: st.DrawFn, statuses: st.SearchStrategy[Status] = _STATUS) -> Order:
    currency = draw(_CURRENCY)
    unit = minor_unit(currency)
    count = draw(_LINE_COUNT)
    order_lines = tuple(draw(lines(unit, i)) for i in range(1, count + 1))
    shipping = tuple(
        ShippingLine(
            f"s{i}", "flat_rate", "Flat", draw(_SMALL_UNITS) * unit, draw(_SMALL_UNITS) // 5 * unit
        )
        for i in range(draw(_EXTRA_COUNT))
    )
    fees = tuple(
        FeeLine(f"f{i}", "Fee", draw(_SMALL_UNITS) * unit, draw(_SMALL_UNITS) // 5 * unit)
        for i in range(draw(_EXTRA_COUNT))
    )
    return Order(
        id=str(draw(_ORDER_ID)),
        number=str(draw(_ORDER_NUMBER)),
        status=draw(statuses),
        currency=currency,
        created_at=CREATED,
        customer=Customer("7"),
        payment_state=draw(_PAYMENT),
        payment_method="bacs",
        billing=Address(),
        shipping=Address(),
        lines=order_lines,
        shipping_lines=shipping,
        fees=fees,
        links=draw(_LINKS),
        delivery_override=draw(_MAYBE_DELIVERY),
    )


_ORDER_ID = st.integers(1, 10**6)
_ORDER_NUMBER = st.integers(1000, 9999)
_SKIP = st.integers(0, 9)
_AVAILABLE = st.integers(0, 12) | st.integers(-5, -1)
_MANAGED = st.sampled_from([True, True, True, False])
_MODE = st.sampled_from(list(BackorderMode))
_OPEN = st.integers(0, 20)
_ALLOW = st.sampled_from([None, True, False])
_CAP = st.none() | st.integers(0, 40)
_BOOL = st.booleans()
_ENABLED = st.sampled_from([True, True, True, False])
_ELIGIBLE = st.just(frozenset({Status.NEW, Status.ON_HOLD})) | st.frozensets(_STATUS, max_size=4)
_OVERSOLD = st.sampled_from(list(OversoldAction))
_EXTRA_SHIPPING = st.just(Decimal(0)) | st.decimals("0", "50", places=4)
_CUSTOMER = st.none() | st.builds(CustomerPolicy, st.just("7"), _MAYBE_DELIVERY, st.integers(-5, 5))


@st.composite
def stock_maps(draw: st.DrawFn) -> dict[ProductRef, Stock]:
    result: dict[ProductRef, Stock] = {}
    for ref in REFS:
        if draw(_SKIP) == 0:
            continue  # stock unknown for this product
        result[ref] = Stock(ref, draw(_AVAILABLE), draw(_MANAGED), draw(_MODE), draw(_OPEN))
    return result


@st.composite
def policies(draw: st.DrawFn) -> Policies:
    products = tuple(ProductPolicy(ref, draw(_ALLOW), draw(_CAP)) for ref in REFS if draw(_BOOL))
    settings = StoreSettings(
        enabled=draw(_ENABLED),
        eligible_statuses=draw(_ELIGIBLE),
        default_delivery=draw(_DELIVERY),
        oversold_action=draw(_OVERSOLD),
        additional_shipping=draw(_EXTRA_SHIPPING),
    )
    return Policies(settings, products, draw(_CUSTOMER))
