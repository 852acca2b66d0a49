"""How long `plan_proposal` takes for 1,000 open backorder lines over 200 products (target:
under 200 ms)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bench._timing import measure, report
from plugin.core.model import DeliveryCondition, ProductRef
from plugin.core.purchasing import (
    Catalogue,
    PurchaseOrder,
    Supplier,
    SupplierProduct,
    draft_purchase_orders,
    plan_proposal,
    send,
)
from plugin.core.release import OpenBackorder, OpenLine

TARGET_SECONDS = 0.200
PRODUCTS = 200
ORDERS = 400  # 1 to 4 lines each: 1,000 lines
SUPPLIERS = 20
RUNS = 50
WARMUP = 5
QUICK_RUNS, QUICK_WARMUP = 5, 1  # `python -m bench --quick`: does it still run


def sample_store() -> tuple[
    list[OpenBackorder], dict[ProductRef, int], list[PurchaseOrder], Catalogue
]:
    """Open backorders over 200 products (a tenth of them variations), 20 suppliers, packs
    and minimums, some free stock, and purchase orders already sent for the older half."""
    refs = [ProductRef(f"p{k}", f"v{k % 3}" if k % 10 == 0 else None) for k in range(PRODUCTS)]
    suppliers = tuple(
        Supplier(f"s{k}", f"Supplier {k}", "USD" if k % 4 else "EUR", f"buy{k}@example.test",
                 3 + k % 10, Decimal(200), Decimal("1.08") if k % 4 == 0 else None)
        for k in range(SUPPLIERS)
    )  # fmt: skip
    links = tuple(
        SupplierProduct(
            f"s{k % SUPPLIERS}", ref, Decimal(100 + k * 7) / 100, f"SKU-{k}",
            pack_size=(1, 6, 12)[k % 3], minimum_quantity=(0, 10)[k % 2],
        )
        for k, ref in enumerate(refs)
        if k % 25  # every 25th product has no supplier: listed apart
    )  # fmt: skip
    catalogue = Catalogue("USD", suppliers, links)
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    backorders = [
        OpenBackorder(
            order_id=str(10_000 + i),
            priority=i % 3,
            created_at=start + dt.timedelta(minutes=41 * i),
            delivery=DeliveryCondition.SHIP_AVAILABLE,
            lines=tuple(
                OpenLine(f"{i}-{j}", refs[(i * 7 + j * 53) % PRODUCTS], 1 + (i + j) % 5)
                for j in range(1 + i % 4)
            ),
        )
        for i in range(ORDERS)
    ]
    free = {ref: k % 4 for k, ref in enumerate(refs)}
    # Purchase orders drafted for the older half, then sent.
    earlier = plan_proposal(backorders[: ORDERS // 2], free, [], catalogue)
    drafts = draft_purchase_orders(earlier, today=dt.date(2026, 11, 1), taken_numbers=())
    sent = [
        send(order, catalogue.supplier(order.supplier_id), dt.date(2026, 11, 2))
        for order in drafts.purchase_orders
    ]
    return backorders, free, sent, catalogue


def main(quick: bool = False) -> dict[str, Any]:
    """Time `plan_proposal` on the sample store; print and return median, p99 and the ratio."""
    runs, warmup = (QUICK_RUNS, QUICK_WARMUP) if quick else (RUNS, WARMUP)
    backorders, free, purchase_orders, catalogue = sample_store()
    lines = sum(len(b.lines) for b in backorders)
    assert lines == 1000  # the size the target is set for
    proposal = plan_proposal(backorders, free, purchase_orders, catalogue)
    to_buy = len(proposal.lines)
    assert to_buy and proposal.unlinked  # the benchmark must exercise every path

    def run() -> object:
        return plan_proposal(backorders, free, purchase_orders, catalogue)

    timing = measure(run, runs, warmup, TARGET_SECONDS)
    report(
        f"plan_proposal, {lines} open backorder lines over {PRODUCTS} products, "
        f"{len(purchase_orders)} purchase orders ({to_buy} lines to buy, "
        f"{len(proposal.unlinked)} without a supplier), {runs} runs",
        timing,
    )
    return {
        "backorder_lines": lines,
        "products": PRODUCTS,
        "purchase_orders": len(purchase_orders),
        "lines_to_buy": to_buy,
        "unlinked": len(proposal.unlinked),
        **timing,
    }


if __name__ == "__main__":
    main()
