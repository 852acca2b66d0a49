"""A new platform is one new folder: the test-only toy shop (tests/platforms/toyshop), named to
the running processes by `BACKORDERS_EXTRA_PLATFORMS` (tests/e2e/conftest.py), has an order split
end to end: its signed delivery to the web app's `/webhooks/toyshop/<store id>`, the inbox, the
workers' relay, a worker's split written into the shop."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pytest
import requests

import run
from plugin.core.model import ProductRef, Status
from plugin.ports import SplitState
from tests.e2e.helpers import PluginDb, wait_for
from tests.fakes import ALLOW, DENY, FakeDelivery, FakeStore
from tests.platforms.toyshop.shop import create_shop, open_shop
from tests.platforms.toyshop.webhooks import WEBHOOKS

pytestmark = pytest.mark.e2e


def _delivery(path: Path, secret: str, order_id: str) -> FakeDelivery:
    """What the toy shop sends about the order's current state."""
    with open_shop(path) as shop:
        body = shop.delivery_body(order_id)
    return WEBHOOKS.sign(secret, "order.created", body)


def _deliver(stack: run.Stack, store_id: int, delivery: FakeDelivery) -> requests.Response:
    return requests.post(
        f"{stack.web_url}/webhooks/toyshop/{store_id}",
        data=delivery.body,
        headers={**delivery.headers, "Content-Type": "application/json"},
        timeout=10,
    )


def _split_done(path: Path, order_id: str) -> FakeStore | None:
    """The shop once the split is written and the original has its note (the last step)."""
    with open_shop(path) as shop:
        children = [o for o in shop.orders.values() if o.links.parent_id == order_id]
        noted = any(noted == order_id for noted, _ in shop.notes)
        return shop if len(children) == 1 and noted else None


def test_a_toyshop_order_is_split_end_to_end(
    stack: run.Stack, plugin_db: PluginDb, tmp_path: Path
) -> None:
    path = tmp_path / "e2e.shop"
    create_shop(path, f"toyshop://shop{path}")
    with open_shop(path) as shop:
        mug = shop.add_product(
            f"Mug {uuid.uuid4().hex[:6]}", price="12.00", stock=10, backorders=DENY
        )
        kettle = shop.add_product("Kettle", price="30.00", stock=1, backorders=ALLOW)
        order_id = shop.new_order([(mug, 1), (kettle, 3)], paid=True)
    secret = secrets.token_urlsafe(32)
    store = plugin_db.stores.create(
        name="Toy shop", base_url=f"toyshop://shop{path}", consumer_key="toy-key",
        consumer_secret="toy-secret", webhook_secret=secret, platform="toyshop",
    )  # fmt: skip

    try:
        _split_end_to_end(stack, plugin_db, path, store.id, secret, order_id, mug, kettle)
    finally:  # no later reconciliation of the stack reads this shop
        plugin_db.stores.set_status(store.id, "disconnected")


def _split_end_to_end(
    stack: run.Stack,
    plugin_db: PluginDb,
    path: Path,
    store_id: int,
    secret: str,
    order_id: str,
    mug: ProductRef,
    kettle: ProductRef,
) -> None:
    # A delivery signed with another secret is refused and records nothing.
    forged = _deliver(stack, store_id, _delivery(path, "not-the-secret", order_id))
    assert forged.status_code == 401
    assert plugin_db.events_for(store_id, int(order_id)) == []
    # Under another platform's route the store is not found either.
    delivery = _delivery(path, secret, order_id)
    other = requests.post(
        f"{stack.web_url}/webhooks/woocommerce/{store_id}",
        data=delivery.body,
        headers=dict(delivery.headers),
        timeout=10,
    )
    assert other.status_code == 401
    assert plugin_db.events_for(store_id, int(order_id)) == []

    accepted = _deliver(stack, store_id, delivery)
    assert accepted.status_code == 202 and accepted.json()["duplicate"] is False

    shop = wait_for(lambda: _split_done(path, order_id), what=f"split of toy order {order_id}")
    (backorder,) = [o for o in shop.orders.values() if o.links.parent_id == order_id]
    assert {line.ref: line.quantity for line in shop.orders[order_id].lines} == {
        mug: 1, kettle: 1,
    }  # fmt: skip
    assert {line.ref: line.quantity for line in backorder.lines} == {kettle: 2}
    assert backorder.status is Status.NEW_BACKORDER
    assert shop.stock == {ProductRef(mug.product_id): 9, kettle: -2}
    (split,) = wait_for(
        lambda: [r for r in plugin_db.ledger.for_order(store_id, order_id) if r.state == "done"],
        what="split recorded done",
    )
    assert (split.state, split.backorder_order_id) == (SplitState.DONE, backorder.id)
    events = wait_for(lambda: plugin_db.settled(store_id, int(order_id)), what="event settled")
    assert [(e.topic, e.status, e.source) for e in events][-1] == (
        "order.created",
        "done",
        "webhook",
    )

    # The same delivery again: one event, one split.
    again = _deliver(stack, store_id, delivery)
    assert (again.status_code, again.json()) == (202, {"duplicate": True})
    with open_shop(path) as after:
        assert [o.id for o in after.orders.values() if o.links.parent_id == order_id] == [
            backorder.id
        ]
    assert len(plugin_db.ledger.for_order(store_id, order_id)) == 1
