"""Small builders for core tests: an order from (product, qty, unit price, tax rate, discount)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from plugin.core.model import (
    Address,
    BackorderMode,
    Customer,
    FeeLine,
    Line,
    Links,
    Order,
    PaymentState,
    ProductRef,
    ShippingLine,
    Status,
    Stock,
)

CREATED = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)


def line(
    line_id: str,
    product_id: str,
    quantity: int,
    subtotal: str,
    subtotal_tax: str = "0",
    total: str | None = None,
    tax: str | None = None,
    variant_id: str | None = None,
) -> Line:
    """A line with explicit amounts (total/tax default to subtotal/subtotal_tax)."""
    sub = Decimal(subtotal)
    return Line(
        line_id=line_id,
        product_id=product_id,
        variant_id=variant_id,
        sku=f"SKU-{product_id}",
        name=f"Product {product_id}",
        quantity=quantity,
        unit_price=(sub / quantity) if quantity else sub,
        subtotal=sub,
        subtotal_tax=Decimal(subtotal_tax),
        total=Decimal(total) if total is not None else sub,
        tax=Decimal(tax) if tax is not None else Decimal(subtotal_tax),
    )


def order(
    *lines: Line,
    status: Status = Status.NEW,
    currency: str = "USD",
    payment_state: PaymentState = PaymentState.UNPAID,
    shipping: str = "0",
    shipping_tax: str = "0",
    fees: tuple[tuple[str, str], ...] = (),
    links: Links | None = None,
    order_id: str = "501",
    number: str = "1042",
    customer_id: str | None = "7",
) -> Order:
    """An order holding `lines`, with one shipping line when `shipping` is not zero."""
    shipping_lines = (
        (ShippingLine("s1", "flat_rate", "Flat rate", Decimal(shipping), Decimal(shipping_tax)),)
        if Decimal(shipping) or Decimal(shipping_tax)
        else ()
    )
    return Order(
        id=order_id,
        number=number,
        status=status,
        currency=currency,
        created_at=CREATED,
        customer=Customer(customer_id, "ann@example.com"),
        payment_state=payment_state,
        payment_method="bacs",
        billing=Address(first_name="Ann"),
        shipping=Address(first_name="Ann"),
        lines=tuple(lines),
        shipping_lines=shipping_lines,
        fees=tuple(
            FeeLine(f"f{i}", f"Fee {i}", Decimal(t), Decimal(x)) for i, (t, x) in enumerate(fees)
        ),
        links=links or Links(),
    )


def stock(
    product_id: str,
    available: int,
    backorders: BackorderMode = BackorderMode.NOTIFY,
    managed: bool = True,
    open_backorder_qty: int = 0,
    variant_id: str | None = None,
) -> tuple[ProductRef, Stock]:
    """A (ref, Stock) pair for building the stock mapping with dict(...)."""
    ref = ProductRef(product_id, variant_id)
    return ref, Stock(ref, available, managed, backorders, open_backorder_qty)
