"""How long `plan_split` takes for a 100-line order (target: under 1 ms per plan)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bench._timing import measure, report
from plugin.core.model import (
    Address,
    BackorderMode,
    Customer,
    Line,
    Order,
    Outcome,
    PaymentState,
    Policies,
    ProductPolicy,
    ProductRef,
    ShippingLine,
    Status,
    Stock,
    StoreSettings,
)
from plugin.core.split import plan_split

TARGET_SECONDS = 0.001
LINES = 100
RUNS = 2000
WARMUP = 200
QUICK_RUNS, QUICK_WARMUP = 50, 5  # `python -m bench --quick`: does it still run


def sample_order(lines: int = LINES) -> tuple[Order, dict[ProductRef, Stock], Policies]:
    """A realistic large order: discounts, taxes, shared and short stock, a capped product."""
    order_lines = []
    stock: dict[ProductRef, Stock] = {}
    for i in range(lines):
        product = f"p{i % 80}"  # 20 products appear on two lines: shared stock
        quantity = 1 + i % 7
        subtotal = Decimal(quantity) * Decimal("12.99")
        total = (subtotal * Decimal("0.9")).quantize(Decimal("0.01"))
        order_lines.append(
            Line(
                line_id=str(i + 1),
                product_id=product,
                variant_id=None,
                sku=f"SKU-{product}",
                name=f"Product {product}",
                quantity=quantity,
                unit_price=Decimal("12.99"),
                subtotal=subtotal,
                subtotal_tax=(subtotal * Decimal("0.2")).quantize(Decimal("0.01")),
                total=total,
                tax=(total * Decimal("0.2")).quantize(Decimal("0.01")),
            )
        )
        ref = ProductRef(product)
        if ref not in stock:
            # A third in stock, a third short, a third out; every tenth not backorderable.
            available = (quantity + 5, quantity // 2, 0)[i % 3]
            mode = BackorderMode.NO if i % 10 == 9 else BackorderMode.NOTIFY
            stock[ref] = Stock(ref, available, True, mode, open_backorder_qty=i % 4)
    order = Order(
        id="90001",
        number="1042",
        status=Status.NEW,
        currency="USD",
        created_at=dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC),
        customer=Customer("7"),
        payment_state=PaymentState.UNPAID,
        payment_method="bacs",
        billing=Address(),
        shipping=Address(),
        lines=tuple(order_lines),
        shipping_lines=(ShippingLine("s1", "flat_rate", "Flat rate", Decimal("9.90")),),
    )
    policies = Policies(
        StoreSettings(additional_shipping=Decimal("4.95")),
        products=(ProductPolicy(ProductRef("p4"), cap=3), ProductPolicy(ProductRef("p7"), True)),
    )
    return order, stock, policies


def main(quick: bool = False) -> dict[str, Any]:
    """Time `plan_split` on the sample order; print and return median, p99 and the ratio."""
    runs, warmup = (QUICK_RUNS, QUICK_WARMUP) if quick else (RUNS, WARMUP)
    order, stock, policies = sample_order()
    plan = plan_split(order, stock, policies)
    assert plan.outcome is Outcome.SPLIT  # the benchmark must exercise the full path
    moved = sum(1 for lp in plan.lines if lp.backorder)
    timing = measure(lambda: plan_split(order, stock, policies), runs, warmup, TARGET_SECONDS)
    report(f"plan_split, {LINES}-line order ({moved} lines moved), {runs} runs", timing)
    return {"lines": LINES, "moved_lines": moved, **timing}


if __name__ == "__main__":
    main()
