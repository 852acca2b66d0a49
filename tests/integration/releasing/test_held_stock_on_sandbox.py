"""A unit promised once (issue 13, bug 1), against a real sandbox store process on 127.0.0.1
(`python -m sandbox.woocommerce`, WooCommerce's stock rules): the use cases with the WooCommerce
connector and the plugin's SQLite storage release an unpaid backorder order to `pending`, split a
new paid order of the same product, and the first customer pays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.woocommerce.adapter import WooCommercePlatform, connect
from plugin.ports import ReleaseState
from plugin.usecases.releasing import allocate_product, release_key
from plugin.usecases.splitting import EventResult, handle_order_event
from tests.processes import API_PATH, running_sandbox

KEY, SECRET = "ck_held_stock", "cs_held_stock"


@pytest.fixture(scope="module")
def store_url() -> Iterator[str]:
    with running_sandbox(KEY, SECRET) as url:
        yield url


class Shop:
    """The store through plain REST (customers, the merchant) and the plugin's use cases."""

    def __init__(self, url: str, db: Database, store: StoreRecord) -> None:
        self.url = url
        self.store_id = store.id
        self.splits = SqlSplitLedger(db)
        self.releases = SqlReleaseLedger(db)
        self.policies = SqlPolicyStore(db)
        self.audit = SqlAuditLog(db)
        self.session = requests.Session()
        self.session.auth = (KEY, SECRET)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.session.request(
            method, self.url + API_PATH + path, json=body, params=params, timeout=10
        )
        assert response.status_code in (200, 201), (response.status_code, response.text)
        return response.json()

    def product(self, name: str, stock: int, backorders: str = "yes") -> int:
        body = {
            "name": name,
            "type": "simple",
            "regular_price": "10.00",
            "manage_stock": True,
            "stock_quantity": stock,
            "backorders": backorders,
        }
        return int(self.call("POST", "/products", body)["id"])

    def order(self, lines: list[dict[str, int]], *, paid: bool) -> int:
        """A customer's order: card (paid, processing) or bank transfer (unpaid, on-hold)."""
        body = {
            "status": "processing" if paid else "on-hold",
            "set_paid": paid,
            "payment_method": "stripe" if paid else "bacs",
            "billing": {"first_name": "Ada", "email": "ada@example.com", "country": "GB"},
            "line_items": lines,
        }
        return int(self.call("POST", "/orders", body)["id"])

    def pay(self, order_id: int) -> None:
        """The customer pays through the payment link: the gateway completes the payment."""
        self.call("PUT", f"/orders/{order_id}", {"status": "processing", "set_paid": True})

    def platform(self) -> WooCommercePlatform:
        return connect(self.url, KEY, SECRET)

    def split(self, order_id: int, platform: WooCommercePlatform | None = None) -> EventResult:
        return handle_order_event(
            self.store_id,
            str(order_id),
            platform=platform or self.platform(),
            ledger=self.splits,
            releases=self.releases,
            policies=self.policies,
            audit=self.audit,
        )

    def allocate(self, product_id: int) -> tuple[str, ...]:
        result = allocate_product(
            self.store_id,
            str(product_id),
            platform=self.platform(),
            releases=self.releases,
            splits=self.splits,
            policies=self.policies,
            audit=self.audit,
        )
        return result.released

    def backorder_of(self, order_id: int) -> dict[str, Any]:
        [child] = self.call("GET", "/orders", parent=order_id, status="any")
        return dict(child)

    def lines(self, order_id: int) -> list[tuple[int, int, int]]:
        """(product id, variation id, quantity) of each line."""
        order = self.call("GET", f"/orders/{order_id}")
        return [
            (item["product_id"], item["variation_id"], item["quantity"])
            for item in order["line_items"]
        ]

    def waiting(self, product_id: int, variation_id: int = 0) -> int:
        """Units of a product that open (on-hold) backorder orders hold."""
        held = 0
        for order in self.call("GET", "/orders", status="on-hold", per_page=100):
            roles = [m["value"] for m in order["meta_data"] if m["key"] == "backorders_role"]
            if roles != ["backorder"]:
                continue
            for item in order["line_items"]:
                if (item["product_id"], item["variation_id"]) == (product_id, variation_id):
                    held += item["quantity"]
        return held


def stock(shop: Shop, product_id: int, variation_id: int = 0) -> int:
    path = f"/products/{product_id}"
    if variation_id:
        path += f"/variations/{variation_id}"
    return int(shop.call("GET", path)["stock_quantity"])


def test_units_released_to_a_pending_order_are_held_back_from_a_new_order(
    store_url: str, db: Database, store: StoreRecord
) -> None:
    shop = Shop(store_url, db, store)
    widget = shop.product("Widget", 0)
    mug = shop.product("Mug", 50, "no")
    first = shop.order([{"product_id": widget, "quantity": 2}, {"product_id": mug, "quantity": 1}],
                       paid=False)  # fmt: skip
    assert shop.split(first).status == "split"
    first_backorder = int(shop.backorder_of(first)["id"])
    assert stock(shop, widget) == -2
    shop.call("PUT", f"/products/{widget}", {"stock_quantity": 0})  # 2 widgets arrive
    assert shop.allocate(widget) == (str(first_backorder),)
    assert shop.call("GET", f"/orders/{first_backorder}")["status"] == "pending"
    assert stock(shop, widget) == 2  # given back by pending: free in looks, promised in fact

    second = shop.order([{"product_id": widget, "quantity": 2}, {"product_id": mug, "quantity": 1}],
                        paid=True)  # fmt: skip
    assert stock(shop, widget) == 0
    platform = shop.platform()
    result = shop.split(second, platform)

    assert result.status == "split"
    # GET the order, GET the released order (one call for all), GET stock, batch, note.
    assert platform.calls == 5
    assert shop.lines(second) == [(mug, 0, 1)]
    second_backorder = shop.backorder_of(second)
    assert shop.lines(int(second_backorder["id"])) == [(widget, 0, 2)]
    assert second_backorder["status"] == "on-hold"
    assert stock(shop, widget) == 0  # the split moved the units, the figure did not change
    notes = shop.call("GET", f"/orders/{second}/notes")
    assert any("promised to released backorder orders awaiting payment" in n["note"] for n in notes)

    shop.pay(first_backorder)  # the first customer pays: WooCommerce takes the 2 again

    assert stock(shop, widget) == -2
    assert shop.waiting(widget) == 2  # exactly the new order's backorder: no shortfall
    record = shop.releases.get(store.id, release_key(str(first_backorder)))
    assert record is not None and record.state == ReleaseState.DONE
    # Two more arrive: the new order's backorder order gets them; the paid release settles.
    shop.call("PUT", f"/products/{widget}", {"stock_quantity": 0})
    assert shop.allocate(widget) == (str(second_backorder["id"]),)
    assert shop.call("GET", f"/orders/{second_backorder['id']}")["status"] == "processing"
    record = shop.releases.get(store.id, release_key(str(first_backorder)))
    assert record is not None and record.state == ReleaseState.SETTLED
    assert stock(shop, widget) == 0 and shop.waiting(widget) == 0


def test_a_split_without_released_orders_still_costs_four_calls(
    store_url: str, db: Database, store: StoreRecord
) -> None:
    shop = Shop(store_url, db, store)
    widget = shop.product("Widget", 1)
    order = shop.order([{"product_id": widget, "quantity": 3}], paid=True)
    platform = shop.platform()

    assert shop.split(order, platform).status == "split"

    assert platform.calls == 4
    assert shop.lines(order) == [(widget, 0, 1)]


def test_a_released_variation_holds_only_its_own_units(
    store_url: str, db: Database, store: StoreRecord
) -> None:
    shop = Shop(store_url, db, store)
    shirt = int(shop.call("POST", "/products", {"name": "Shirt", "type": "variable"})["id"])
    small, medium = (
        int(shop.call("POST", f"/products/{shirt}/variations",
                      {"regular_price": "20.00", "manage_stock": True, "stock_quantity": units,
                       "backorders": "yes"})["id"])
        for units in (0, 5)
    )  # fmt: skip
    first = shop.order(
        [{"product_id": shirt, "variation_id": small, "quantity": 2},
         {"product_id": shirt, "variation_id": medium, "quantity": 1}],
        paid=False,
    )  # fmt: skip
    assert shop.split(first).status == "split"
    first_backorder = int(shop.backorder_of(first)["id"])
    shop.call("PUT", f"/products/{shirt}/variations/{small}", {"stock_quantity": 0})  # 2 arrive
    assert shop.allocate(small) == (str(first_backorder),)  # the variation's own allocation
    assert stock(shop, shirt, small) == 2

    second = shop.order(
        [{"product_id": shirt, "variation_id": small, "quantity": 2},
         {"product_id": shirt, "variation_id": medium, "quantity": 1}],
        paid=True,
    )  # fmt: skip
    result = shop.split(second)

    assert result.status == "split"
    assert shop.lines(second) == [(shirt, medium, 1)]
    assert shop.lines(int(shop.backorder_of(second)["id"])) == [(shirt, small, 2)]
    shop.pay(first_backorder)
    assert stock(shop, shirt, small) == -2 == -shop.waiting(shirt, small)
    assert stock(shop, shirt, medium) == 3
