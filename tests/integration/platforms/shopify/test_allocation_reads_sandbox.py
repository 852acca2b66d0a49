"""Allocation on a Shopify shop reads the parts waiting for a product in a few bulk requests,
and a fault in the middle of those reads does not throw the run away: the sandbox process, the
Shopify platform, the release use case and the plugin's storage (SQLite)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRepository
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.e2e.helpers import wait_for
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
)
from tests.integration.platforms.shopify.test_usecases_sandbox import Plugin
from tests.integration.sandbox_shopify.conftest import Shop


@dataclass(frozen=True)
class Call:
    operation: str
    status: int
    requested: int | None
    actual: int | None
    throttled: bool


class Recording(requests.Session):
    """A session that notes each GraphQL request's operation, HTTP status and cost, and may run
    a hook after an answer (to switch a fault on at a chosen moment)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.after: Callable[[Call], None] | None = None

    def post(self, url: Any, data: Any = None, json: Any = None, **kwargs: Any) -> Any:
        response = super().post(url, data=data, json=json, **kwargs)
        query = str((json or {}).get("query", ""))
        words = query.replace("(", " ").replace("{", " ").split()
        body: dict[str, Any] = {}
        if response.headers.get("Content-Type", "").startswith("application/json"):
            body = response.json()
        cost = (body.get("extensions") or {}).get("cost") or {}
        codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or ()]
        call = Call(words[1], response.status_code, cost.get("requestedQueryCost"),
                    cost.get("actualQueryCost"), "THROTTLED" in codes)  # fmt: skip
        self.calls.append(call)
        if self.after is not None:
            self.after(call)
        return response

    def reads(self) -> Counter[str]:
        """Reads the shop carried out (a THROTTLED one is not: it is sent again)."""
        return Counter(c.operation for c in self.calls if c.operation in READS and not c.throttled)


READS = ("orders", "order", "fulfillmentOrder", "stock", "primary")


def waiting_parts(shop: Shop, plugin: Plugin, split: int, whole: int) -> list[str]:
    """`split` orders split (one board held, a mug ships) and `whole` held whole (a board
    alone): the parts waiting for the board, by id."""
    held: list[str] = []
    for lines in [[("MUG-BLUE", 1), ("BOARD-WALNUT", 1)]] * split + [[("BOARD-WALNUT", 1)]] * whole:
        order_id = number(order_gid(shop, shop.checkout(lines, payment="card")))
        result = plugin.handle(order_id)
        assert result.status in ("split", "hold")
        [record] = plugin.splits.for_order(plugin.store_id, order_id)
        held.append(record.backorder_order_id or order_id)
    return held


def recorded(plugin: Plugin, shop: Shop) -> Recording:
    """The plugin's platform over a recording session, once the bucket the setup spent is full
    again (so what is recorded is allocation's own)."""

    def full() -> bool:
        status = shop.gql("{ shop { id } }").json()["extensions"]["cost"]["throttleStatus"]
        return bool(status["currentlyAvailable"] >= status["maximumAvailable"] - 1)

    wait_for(full, timeout=30, what="a full bucket")
    session = Recording()
    plugin.platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN, session=session))
    return session


def board(plugin: Plugin, held_id: str) -> str:
    [line] = [x for x in plugin.platform.get_order(held_id).lines if x.sku == "BOARD-WALNUT"]
    return plugin.releases.parent_product(plugin.store_id, line.ref.variant_id or "")


STATUSES = "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { status } } } }"


def statuses(shop: Shop, order_id: str) -> set[str]:
    """The order's fulfillment orders' statuses, once the app's bucket (which the plugin just
    spent) has room for the query."""

    def answer() -> Any:
        body = shop.gql(STATUSES, {"id": gid_of(order_id)}).json()
        return None if "errors" in body else body["data"]

    data = wait_for(answer, timeout=30, what="the bucket to refill")
    return {fo["status"] for fo in data["order"]["fulfillmentOrders"]["nodes"]}


def assert_all_released(shop: Shop, plugin: Plugin, held: list[str]) -> None:
    for held_id in held:
        [release] = plugin.releases.for_order(plugin.store_id, held_id)
        assert release.state == ReleaseState.DONE
    for order_id in {plugin.platform._order_number(h) for h in held}:
        assert statuses(shop, order_id) == {"OPEN"}


@pytest.mark.database("sqlite")  # reads and requests: storage is covered on both elsewhere
def test_allocation_reads_the_waiting_parts_in_bulk(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    held = waiting_parts(shop, plugin, split=5, whole=5)
    product = board(plugin, held[0])
    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], len(held))

    session = recorded(plugin, shop)
    result = plugin.allocate(product)

    first_release = [c.operation for c in session.calls].index("release")
    reads = [
        c for c in session.calls[:first_release] if c.operation in READS[:3] and not c.throttled
    ]
    print(
        f"\n{len(held)} waiting parts: {len(reads)} order reads before the first release,"
        f" requested {sum(c.requested or 0 for c in reads)}, actual"
        f" {sum(c.actual or 0 for c in reads)} points; {len(session.calls)} requests in all,"
        f" {sum(c.throttled for c in session.calls)} THROTTLED"
    )
    assert sorted(result.released) == sorted(held)
    assert_all_released(shop, plugin, held)
    # Ten waiting parts read in two requests (six and four), the stock once; then each
    # release reads its order afresh (the writes start from the shop's current state).
    assert session.reads() == Counter({"orders": 2, "stock": 1, "primary": 1, "order": 10})
    assert [(c.requested, c.actual) for c in reads if c.operation == "orders"] == [
        (150, 286),
        (150, 124),
    ]
    assert [c.requested for c in session.calls if c.operation == "order"] == [149] * 10
    assert not any(c.throttled for c in session.calls)


@pytest.mark.database("sqlite")  # reads and requests: storage is covered on both elsewhere
def test_a_fault_in_the_middle_of_the_reads_does_not_fail_the_allocation(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    held = waiting_parts(shop, plugin, split=4, whole=3)
    product = board(plugin, held[0])
    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], len(held))

    session = recorded(plugin, shop)

    switched: list[bool] = []

    def fault_after_the_first_read(call: Call) -> None:
        # After the first order read, the shop's next answer (whatever is asked) is a 503.
        if call.operation in READS[:3] and not switched:
            switched.append(True)
            answer = requests.post(
                f"{shop.url}/sandbox/faults", json={"api_fail_next": 1}, timeout=5
            )
            assert answer.status_code == 200

    session.after = fault_after_the_first_read
    result = plugin.allocate(product)

    assert sorted(result.released) == sorted(held)
    assert_all_released(shop, plugin, held)
    assert [(c.operation, c.status) for c in session.calls if c.operation == "orders"] == [
        ("orders", 200),
        ("orders", 503),  # the second batch met the fault, and was sent again
        ("orders", 200),
    ]
    assert plugin.platform.client.retried == 1
    # Each part released once: one release record each, one release of its hold.
    assert Counter(c.operation for c in session.calls)["release"] == len(held)
