"""An order deleted in the store in the middle of a split, a re-split, a release or a line
cancellation ends the same way whichever way the store says it is gone.

WooCommerce answers a GET or DELETE of a missing order 404 but an update (`PUT`, a batch update
item) 400 `woocommerce_rest_shop_order_invalid_id` (WC_REST_CRUD_Controller::update_item); the
sandbox used to answer 404 there too. Each test runs the use case over the real sandbox on
127.0.0.1 twice: as WooCommerce answers, and with the sandbox made to answer those updates 404.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from flask import Flask, Response

from plugin.core.model import CustomerPolicy
from plugin.errors import NotFound
from plugin.platforms.woocommerce.adapter import WooCommercePlatform
from plugin.platforms.woocommerce.client import WooCommerceClient
from plugin.ports import CancellationRecord, CancelState, ReleaseState, SplitState
from plugin.usecases import splitting as service
from plugin.usecases.cancelling import cancel_key, cancel_line
from plugin.usecases.releasing import allocate_product, release_key
from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET
from tests.fakes import (
    FakeAlerts,
    FakeAudit,
    FakeCustomerPolicies,
    FakeLedger,
    FakePolicies,
    FakeReleaseLedger,
)
from tests.integration.worker.conftest import (  # noqa: F401 - fixtures
    Sandbox,
    sandbox,
)
from tests.unit.usecases.cancelling.test_cancel_line import FakeCancellations, FakeReleases

STORE = 1
GONE = "woocommerce_rest_shop_order_invalid_id"


def _answer_updates_of_missing_orders_404(app: Flask) -> None:
    """The sandbox as a store that answers a (batch) update of a missing order 404."""

    def is_gone(error: Any) -> bool:
        return isinstance(error, dict) and error.get("code") == GONE

    @app.after_request
    def rewrite(response: Response) -> Response:
        if response.mimetype != "application/json":
            return response
        body = response.get_json()
        if response.status_code == 400 and is_gone(body):
            body["data"]["status"] = response.status_code = 404
        elif response.status_code == 200 and isinstance(body, dict):
            for item in body.get("update") or []:
                if isinstance(item, dict) and is_gone(item.get("error")):
                    item["error"]["data"]["status"] = 404
        response.set_data(json.dumps(body))
        return response


@pytest.fixture(params=[400, 404], ids=["woocommerce-400", "older-404"])
def store(request: pytest.FixtureRequest, sandbox: Sandbox) -> Sandbox:  # noqa: F811
    if request.param == 404:
        _answer_updates_of_missing_orders_404(sandbox.app)
    # The store answers as the test says it does.
    probe = requests.put(
        f"{sandbox.url}/wp-json/wc/v3/orders/999999",
        json={"status": "on-hold"},
        auth=(DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET),
        timeout=10,
    )
    assert (probe.status_code, probe.json()["code"]) == (request.param, GONE)
    return sandbox


class DeletingClient(WooCommerceClient):
    """The connector's client, with the order force-deleted in the store right before the
    write named by `before` ("update <id>" or "batch <id>") reaches it."""

    def __init__(self, store: Sandbox) -> None:
        super().__init__(store.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, timeout=10)
        self.store = store
        self.before: dict[str, int] = {}

    def _delete_before(self, what: str) -> None:
        order_id = self.before.pop(what, None)
        if order_id is not None:
            self.store.store.delete_order(order_id, force=True)

    def update_order(self, order_id: str | int, body: Any) -> dict[str, Any]:
        self._delete_before(f"update {int(order_id)}")
        return super().update_order(order_id, body)

    def batch_orders(self, **items: Any) -> dict[str, Any]:
        for update in items.get("update") or ():
            self._delete_before(f"batch {int(update['id'])}")
        return super().batch_orders(**items)


def _product(client: WooCommerceClient, name: str, stock: int) -> int:
    body = {"name": name, "regular_price": "10.00", "manage_stock": True,
            "stock_quantity": stock, "backorders": "notify"}  # fmt: skip
    return int(client.post("/products", body)["id"])


def _order(client: WooCommerceClient, lines: list[tuple[int, int]]) -> int:
    body = {
        "status": "processing",
        "set_paid": True,
        "payment_method": "stripe",
        "line_items": [{"product_id": p, "quantity": q} for p, q in lines],
    }
    return int(client.post("/orders", body)["id"])


class World:
    """Splits done through the real connector: `split(order)` returns the backorder order."""

    def __init__(self, store: Sandbox) -> None:
        self.store = store
        self.client = DeletingClient(store)
        self.platform = WooCommercePlatform(self.client)
        self.ledger = FakeLedger()
        self.audit = FakeAudit()
        self.alerts = FakeAlerts()
        self.kept = _product(self.client, "Mug", 100)
        self.short = _product(self.client, "Kettle", 0)

    def handle(self, order_id: int) -> service.EventResult:
        return service.handle_order_event(
            STORE, str(order_id), platform=self.platform, ledger=self.ledger,
            policies=FakePolicies(), audit=self.audit, alerts=self.alerts,
            releases=FakeReleaseLedger(),
        )  # fmt: skip

    def split(self, short_units: int) -> tuple[int, int]:
        original = _order(self.client, [(self.kept, 1), (self.short, short_units)])
        result = self.handle(original)
        assert result.status == "split" and result.backorder_order_id
        return original, int(result.backorder_order_id)

    def restock(self, units: int) -> None:
        stock = int(self.client.get(f"/products/{self.short}")["stock_quantity"])
        self.client.put(f"/products/{self.short}", {"stock_quantity": stock + units})

    def allocate(self, releases: FakeReleaseLedger) -> Any:
        return allocate_product(
            STORE, str(self.short), platform=self.platform, releases=releases,
            splits=self.ledger, policies=FakeCustomerPolicies({"0": CustomerPolicy("0")}),
            audit=self.audit,
        )  # fmt: skip

    def order_ids(self) -> list[int]:
        ids: list[int] = self.store.store.list_orders(status=["any", "trash"])
        return sorted(ids)


def test_an_original_deleted_before_the_split_is_written(store: Sandbox) -> None:
    world = World(store)
    original = _order(world.client, [(world.kept, 1), (world.short, 2)])
    world.client.before[f"batch {original}"] = original

    with pytest.raises(NotFound) as raised:
        world.handle(original)

    # WooCommerce refuses the backorder order too (its parent is gone): nothing was created.
    assert raised.value.reason == GONE
    [record] = world.ledger.records.values()
    assert (record.state, record.backorder_order_id) == (SplitState.FAILED, None)
    assert [(a[1], a[2]) for a in world.alerts.alerts] == [(str(original), GONE)]
    assert world.order_ids() == []


def test_a_backorder_order_deleted_before_it_is_split_again(store: Sandbox) -> None:
    world = World(store)
    original, backorder = world.split(3)
    world.restock(1)  # covers 1 of its 3 units: split again, 2 move to a -002 order
    world.client.before[f"batch {backorder}"] = backorder

    with pytest.raises(NotFound) as raised:
        world.allocate(FakeReleaseLedger(split_ledger=world.ledger))

    # The -002 order names the original, which exists: it was created, and is named.
    created = getattr(raised.value, "backorder_order_id", None)
    assert raised.value.reason == GONE and created is not None
    resplit = next(
        r for r in world.ledger.records.values() if r.original_order_id == str(backorder)
    )
    assert (resplit.state, resplit.backorder_order_id) == (SplitState.FAILED, created)
    assert world.order_ids() == [original, int(created)]
    assert world.client.get_order(created)["parent_id"] == original


def test_a_backorder_order_deleted_while_it_is_released_does_not_stop_the_others(
    store: Sandbox,
) -> None:
    world = World(store)
    _, first = world.split(2)
    _, second = world.split(2)
    world.restock(4)
    world.client.before[f"update {first}"] = first
    releases = FakeReleaseLedger(split_ledger=world.ledger)

    result = world.allocate(releases)
    again = world.allocate(releases)

    assert result.released == (str(second),)
    assert releases.get(STORE, release_key(str(first))).state == ReleaseState.GONE
    assert releases.get(STORE, release_key(str(second))).state == ReleaseState.DONE
    assert world.client.get_order(second)["status"] == "processing"
    assert (again.released, again.resumed) == ((), ())
    [gone] = [e for e in world.audit.entries if e.order_id == str(first) and e.kind == "error"]
    assert gone.message == f"Not released: the order no longer exists in the store ({GONE})."


def test_a_backorder_order_deleted_while_its_line_is_cancelled(store: Sandbox) -> None:
    world = World(store)
    original, backorder = world.split(2)
    line_id = str(world.client.get_order(original)["line_items"][-1]["id"])
    key = cancel_key(str(backorder), line_id)
    cancellations = FakeCancellations(
        {
            key: CancellationRecord(
                store_id=STORE, cancel_key=key, backorder_order_id=str(backorder),
                original_order_id=str(original), line_id=line_id,
                product_id=str(world.short), variant_id=None, quantity=2, reason="Discontinued",
                requested_by="merchant@example.com", state=CancelState.REQUESTED,
            )
        }
    )  # fmt: skip
    # Its only line: the order is cancelled, by an update the store refuses (it is gone).
    world.client.before[f"update {backorder}"] = backorder

    with pytest.raises(NotFound) as raised:
        cancel_line(
            STORE, key, platform=world.platform, cancellations=cancellations,
            releases=FakeReleases(), audit=world.audit,
        )  # fmt: skip

    assert raised.value.reason == GONE
    record = cancellations.records[key]
    assert (record.state, record.write_attempted, record.outcome["cancels_order"]) == (
        CancelState.REQUESTED,
        True,
        True,
    )
    assert world.order_ids() == [original]
