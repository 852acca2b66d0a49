"""A Shopify shop in the linked split mode end to end, with real processes on loopback (the
Shopify sandbox, Redis, the web app and a worker). Every webhook is delivered twice. A card
checkout with an in-stock and an out-of-stock line is split: the original reduced by an order
edit to what ships and that part captured exactly, a separate backorder order `#<n>-001` created
once, held and linked both ways. Stock arriving releases it: the hold is lifted and the customer
is sent Shopify's invoice for it."""

from __future__ import annotations

from typing import Any

import pytest
import requests

import run
from plugin.adapters.sql.merchants import StoreSettingsForm, save_store_settings
from plugin.core.model import StoreSettings
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState
from tests.e2e.helpers import PluginDb, wait_for
from tests.e2e.platforms.shopify.stack import (
    connect_shop,
    plugin_releases,
    split_done,
)
from tests.integration.platforms.shopify.test_linked_sandbox import (
    TAGGED,
    lines,
    linked_view,
    payments,
)
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
)
from tests.integration.sandbox_shopify.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database


def test_a_linked_store_splits_into_a_separate_order_once_and_releases_it(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    # The settings page's save (tests/functional/web/test_split_mode_setting.py).
    assert save_store_settings(
        plugin.db,
        store.id,
        StoreSettingsForm(StoreSettings(), "", 300, 5.0, split_mode="linked"),
    )
    faults = requests.post(f"{shop.url}/sandbox/faults", json={"duplicate_rate": 1.0}, timeout=5)
    assert faults.ok, faults.text

    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    shop.flush()

    record = split_done(plugin, store, order_id)
    new_id = record.backorder_order_id
    assert new_id is not None and not new_id.startswith("fo-")
    # Our own writes come back as webhooks (the edit, the capture, the new order), each twice.
    shop.flush()
    wait_for(plugin.events_finished, what="the echoes of our writes", timeout=60)

    original = linked_view(shop, order_id)
    assert lines(original) == [("MUG-BLUE", 1), ("BOARD-WALNUT", 0)]
    assert payments(original) == [
        ("AUTHORIZATION", "147.0"),
        ("CAPTURE", "12.0"),  # what ships, exactly; the rest of the authorisation is let go
    ]
    assert original["splits"]["jsonValue"] == {
        record.split_key: {"number": f"{name}-001", "order": new_id}
    }
    tagged = shop.data(TAGGED, {"q": f"tag:'backorders-{order_id}-1'"})["orders"]["nodes"]
    assert [(number(n["id"]), n["name"]) for n in tagged] == [(new_id, f"#{name}-001")]
    new = linked_view(shop, new_id)
    assert lines(new) == [("BOARD-WALNUT", 3)]
    assert new["displayFinancialStatus"] == "PENDING" and new["transactions"] == []
    assert new["origin"]["jsonValue"]["order"] == order_id
    assert [fo["status"] for fo in new["fulfillmentOrders"]["nodes"]] == ["ON_HOLD"]
    # One split, and the new order's own events did not start another.
    assert [r.split_key for r in plugin.ledger.for_order(store.id, order_id)] == [record.split_key]
    assert [r.split_key for r in plugin.ledger.for_order(store.id, new_id)] == [record.split_key]
    new_events = plugin.events_for(store.id, int(new_id))
    assert new_events and {e.status for e in new_events} == {"ignored"}

    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    shop.flush()

    def released() -> Any:
        found = [
            r
            for r in plugin_releases(plugin).for_order(store.id, new_id)
            if r.state == ReleaseState.DONE
        ]
        return found or None

    [release] = wait_for(released, what="the release", timeout=60)
    final = linked_view(shop, new_id)
    assert [fo["status"] for fo in final["fulfillmentOrders"]["nodes"]] == ["OPEN"]
    assert release.payment_url == final["statusPageUrl"]
    [invoice] = requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json()
    assert (invoice["order"], invoice["amount"], invoice["to"]) == (
        gid_of(new_id),
        "135.00",
        "ada@example.com",
    )
    assert linked_view(shop, order_id)["transactions"] == original["transactions"]
    errors = [e for e in plugin.audit.for_order(store.id, order_id) if e.kind == "error"]
    assert errors == []
