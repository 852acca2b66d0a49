"""REST calls the connector makes to split one order, by its number of lines (target: at most 4).

Starts a real sandbox store (`python -m sandbox.woocommerce`, in memory) on loopback and, for orders
of 1, 10 and 100 lines (every other line, or the only one, one unit short with backorders allowed),
runs the worker's use case `handle_order_event` with the WooCommerce connector and the plugin's
SQLite storage, and counts the calls the connector's client made (`WooCommerceClient.calls`). The
split is checked through the store's API afterwards (uncounted): exactly one backorder order,
holding the short lines. Also counted: a split with the store's "customer note on split" setting
on, and each split again with the products its `order.created` delivery names (the order's JSON,
what a delivery carries) read with the order in one round trip: the same count, plus one read
when the delivery left a product out (the order was edited since).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import requests

from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRepository
from plugin.adapters.vault import Vault
from plugin.core.model import ProductRef, StoreSettings
from plugin.platforms.woocommerce.adapter import connect
from plugin.platforms.woocommerce.webhooks import named_products
from plugin.usecases.splitting import handle_order_event
from tests.processes import API_PATH, running_sandbox

TARGET_CALLS = 4
LINE_COUNTS = (1, 10, 100)
QUICK_LINE_COUNTS = (1, 3)  # `python -m bench --quick`: does it still run
AUTH = ("ck_bench_calls", "cs_bench_calls")
QUANTITY = 2  # units ordered on every line


class SplitCounter:
    """The plugin's storage (SQLite in `home`) and a store for the sandbox at `store_url`."""

    def __init__(self, store_url: str, home: Path) -> None:
        self.store_url = store_url
        self.db = Database(f"sqlite:///{home / 'bench.db'}")
        self.db.migrate()
        self.stores = StoreRepository(self.db, Vault("bench-calls-secret-key-0123456789"))
        self.admin = requests.Session()
        self.admin.auth = AUTH

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.admin.request(
            method, self.store_url + API_PATH + path, json=body, params=params, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def place_order(self, lines: int) -> tuple[str, set[int]]:
        """An order of `lines` lines of distinct products, placed processing (stock reduced):
        even lines in stock, odd lines (and a single line) one unit short with backorders
        allowed. Returns its id and the products that must move to the backorder order."""
        tag = uuid.uuid4().hex[:6]
        products = [
            {"name": f"Bench {tag} {i}", "type": "simple", "regular_price": "9.50",
             "manage_stock": True, "stock_quantity": QUANTITY - 1 if i % 2 or lines == 1 else 50,
             "backorders": "notify"}
            for i in range(lines)
        ]  # fmt: skip
        created = self.call("POST", "/products/batch", {"create": products})["create"]
        ids = [int(product["id"]) for product in created]
        short = {
            pid
            for pid, body in zip(ids, products, strict=True)
            if body["stock_quantity"] < QUANTITY
        }
        order = self.call(
            "POST",
            "/orders",
            {
                "status": "processing",
                "payment_method": "cod",
                "payment_method_title": "Cash on delivery",
                "billing": {"first_name": "Bench", "email": "bench@example.com"},
                "line_items": [{"product_id": pid, "quantity": QUANTITY} for pid in ids],
            },
        )
        return str(order["id"]), short

    def split_calls(
        self, lines: int, *, customer_note_on_split: bool = False, named: str = "none"
    ) -> int:
        """Split a fresh `lines`-line order through the connector; the calls it made. `named`:
        which of its products the event names ("none", "all" as its delivery does, "stale":
        all but the last)."""
        order_id, short = self.place_order(lines)
        products: tuple[ProductRef, ...] = ()
        if named != "none":
            products = named_products(self.call("GET", f"/orders/{order_id}"))  # uncounted
            if named == "stale":
                products = products[:-1]
        return self.count_split(
            order_id, short, customer_note_on_split=customer_note_on_split, named=products
        )

    def count_split(
        self,
        order_id: str,
        short: set[int],
        *,
        customer_note_on_split: bool = False,
        named: tuple[ProductRef, ...] = (),
    ) -> int:
        """Handle order `order_id` as the worker does; the calls the connector made. Raises
        RuntimeError unless it was split into one backorder order holding the `short` products."""
        store = self.stores.create(
            name="Bench store",
            base_url=self.store_url,
            consumer_key=AUTH[0],
            consumer_secret=AUTH[1],
            webhook_secret="bench-webhook-secret",
            settings=StoreSettings(customer_note_on_split=customer_note_on_split),
        )
        platform = connect(self.store_url, *AUTH)
        result = handle_order_event(
            store.id,
            order_id,
            platform=platform,
            ledger=SqlSplitLedger(self.db),
            releases=SqlReleaseLedger(self.db),
            policies=SqlPolicyStore(self.db),
            audit=SqlAuditLog(self.db),
            named_products=named,
        )
        calls = platform.calls
        if result.status != "split":
            raise RuntimeError(f"order {order_id} was not split: {result}")
        children = self.call("GET", "/orders", parent=order_id, status="any")
        moved = [{int(item["product_id"]) for item in child["line_items"]} for child in children]
        if moved != [short]:
            raise RuntimeError(f"order {order_id}: backorder orders hold {moved}, not {short}")
        return calls


def main(quick: bool = False) -> dict[str, Any]:
    """Count the calls per split for 1, 10 and 100 lines; print and return them."""
    line_counts = QUICK_LINE_COUNTS if quick else LINE_COUNTS
    with running_sandbox(*AUTH) as url, tempfile.TemporaryDirectory() as home:
        counter = SplitCounter(url, Path(home))
        calls = {lines: counter.split_calls(lines) for lines in line_counts}
        with_note = counter.split_calls(line_counts[1], customer_note_on_split=True)
        named = {lines: counter.split_calls(lines, named="all") for lines in line_counts}
        stale = counter.split_calls(line_counts[1], named="stale")
        counter.db.engine.dispose()
    for lines, count in calls.items():
        print(
            f"split of a {lines}-line order: {count} REST calls - "
            f"{count / TARGET_CALLS:.2f}x the target of at most {TARGET_CALLS}"
        )
    print(f"with the customer note on split: {with_note} REST calls ({line_counts[1]} lines)")
    print(
        "with the products its delivery named, read with the order: "
        + ", ".join(f"{count} ({lines} lines)" for lines, count in named.items())
        + f"; {stale} when the delivery left one out ({line_counts[1]} lines)"
    )
    worst = max(*calls.values(), *named.values())
    return {
        "calls_per_split": {str(lines): count for lines, count in calls.items()},
        "calls_with_customer_note": with_note,
        "calls_per_split_products_named": {str(lines): count for lines, count in named.items()},
        "calls_with_a_product_not_named": stale,
        "target_calls": TARGET_CALLS,
        "worst_ratio_to_target": round(worst / TARGET_CALLS, 2),
    }


if __name__ == "__main__":
    main()
