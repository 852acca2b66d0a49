"""How long `plan_split` takes for a 100-line order (target: under 1 ms per plan)."""

from __future__ import annotations

import datetime as dt
import gc
import os
import statistics
import time
from decimal import Decimal
from typing import Any

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


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def main() -> dict[str, Any]:
    """Time `plan_split` on the sample order; print and return median, p99 and the ratio."""
    order, stock, policies = sample_order()
    plan = plan_split(order, stock, policies)
    assert plan.outcome is Outcome.SPLIT  # the benchmark must exercise the full path
    for _ in range(WARMUP):
        plan_split(order, stock, policies)
    timings: list[float] = []
    cpu_timings: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()  # measure the planner, not a collection that happens to land in a run
    try:
        for _ in range(RUNS):
            start, cpu_start = time.perf_counter(), time.thread_time()
            plan_split(order, stock, policies)
            cpu_timings.append(time.thread_time() - cpu_start)
            timings.append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    timings.sort()
    cpu_timings.sort()
    median = statistics.median(timings)
    p99 = _percentile(timings, 0.99)
    cpu_median = statistics.median(cpu_timings)
    cpu_p99 = _percentile(cpu_timings, 0.99)
    figures = {
        "lines": LINES,
        "runs": RUNS,
        "moved_lines": sum(1 for lp in plan.lines if lp.backorder),
        "median_ms": round(median * 1000, 4),
        "p99_ms": round(p99 * 1000, 4),
        "target_ms": TARGET_SECONDS * 1000,
        "median_ratio_to_target": round(median / TARGET_SECONDS, 3),
        "p99_ratio_to_target": round(p99 / TARGET_SECONDS, 3),
        # CPU time of the planning thread: the same runs without time spent descheduled,
        # which dominates wall-clock p99 on a busy machine.
        "cpu_median_ms": round(cpu_median * 1000, 4),
        "cpu_p99_ms": round(cpu_p99 * 1000, 4),
        "cpu_p99_ratio_to_target": round(cpu_p99 / TARGET_SECONDS, 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(
        f"plan_split, {LINES}-line order ({figures['moved_lines']} lines moved), {RUNS} runs: "
        f"median {figures['median_ms']:.3f} ms, p99 {figures['p99_ms']:.3f} ms; "
        f"target {figures['target_ms']:.0f} ms -> "
        f"median at {figures['median_ratio_to_target']:.2f}x, "
        f"p99 at {figures['p99_ratio_to_target']:.2f}x of target"
    )
    print(
        f"  CPU time: median {figures['cpu_median_ms']:.3f} ms, p99 {figures['cpu_p99_ms']:.3f} ms "
        f"({figures['cpu_p99_ratio_to_target']:.2f}x of target); "
        f"load average {figures['load_average_1m']} on {os.cpu_count()} CPUs"
    )
    return figures


if __name__ == "__main__":
    main()
