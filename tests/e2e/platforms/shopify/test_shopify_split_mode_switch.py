"""A Shopify store that changes its split mode while a split is open (issue 16), with real
processes on loopback (the Shopify sandbox, Redis, the web app and a worker; every webhook
delivered twice). The split's first write is made, then the shop answers its next one 503
(`api_fail_matching`), the merchant switches the mode, and the worker's retry finishes the
split in the mode it began in: held after the store went linked (no linked order is created;
the boards arriving release the held part and capture it exactly), linked after the store went
back to held (no hold on the original; the boards arriving release the linked order and
Shopify's invoice asks for it)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

import run
from plugin.adapters.sql.merchants import StoreSettingsForm, save_store_settings
from plugin.core.model import StoreSettings
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState, SplitState
from tests.e2e.helpers import Jobs, PluginDb, wait_for
from tests.e2e.platforms.shopify.stack import (
    captured,
    connect_shop,
    plugin_releases,
    split_done,
)
from tests.integration.platforms.shopify.test_linked_sandbox import (
    TAGGED,
    lines,
    linked_view,
)
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
    view,
)
from tests.integration.sandbox_shopify.conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database

EVERY_ORDER = "query { orders(first: 50) { nodes { id name } } }"


def _faults(shop: Shop, faults: dict[str, Any]) -> None:
    answer = requests.post(f"{shop.url}/sandbox/faults", json=faults, timeout=5)
    assert answer.ok, answer.text


def _switch(plugin: PluginDb, store: Any, mode: str) -> None:
    """The settings page's save of the split mode (functional/web/test_split_mode_setting.py)."""
    assert save_store_settings(
        plugin.db, store.id, StoreSettingsForm(StoreSettings(), "", 300, 5.0, split_mode=mode)
    )


def _begun(stack: run.Stack, plugin: PluginDb, store: Any, order_id: str, written: Any) -> None:
    """Wait until the order's split made its first write on the shop and its next write failed:
    the split is still planned and its job waits for its retry."""
    jobs = Jobs(stack.redis_url)

    def begun() -> bool:
        records = plugin.ledger.for_order(store.id, order_id)
        started = bool(records) and records[0].create_attempted
        planned = started and records[0].state == SplitState.PLANNED
        return planned and bool(jobs.busy()["scheduled"]) and written()

    try:
        wait_for(begun, what="the split's first write and its failed record", timeout=60)
    finally:
        jobs.close()


def _released(plugin: PluginDb, store: Any, order_id: str) -> Any:
    releases = plugin_releases(plugin).for_order(store.id, order_id)
    return [r for r in releases if r.state == ReleaseState.DONE] or None


def _errors(plugin: PluginDb, store: Any, *order_ids: str) -> list[Any]:
    return [
        e
        for order_id in order_ids
        for e in plugin.audit.for_order(store.id, order_id)
        if e.kind == "error"
    ]


def _parts(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (fo["status"], sum(n["remainingQuantity"] for n in fo["lineItems"]["nodes"]))
        for fo in order["fulfillmentOrders"]["nodes"]
    ]


def test_a_held_split_stays_held_when_the_store_switches_to_linked(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    _faults(shop, {"duplicate_rate": 1.0, "api_fail_matching": "metafieldsSet"})
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    shop.flush()

    def held() -> bool:
        return _parts(view(shop, gid_of(order_id))) == [("ON_HOLD", 3), ("OPEN", 1)]

    _begun(stack, plugin, store, order_id, held)
    _switch(plugin, store, "linked")
    _faults(shop, {"api_fail_matching": ""})

    held_id = split_done(plugin, store, order_id).backorder_order_id
    assert held_id is not None and held_id.startswith("fo-")
    shop.flush()
    wait_for(plugin.events_finished, what="the echoes of our writes", timeout=60)
    split = view(shop, gid_of(order_id))
    assert _parts(split) == [("ON_HOLD", 3), ("OPEN", 1)]
    assert split["metafield"]["jsonValue"] == {
        f"{order_id}:1": {"number": f"{name}-001", "fulfillment_order": held_id[3:]}
    }
    assert captured(split) == ["12.0"]
    assert [n["name"] for n in shop.data(EVERY_ORDER)["orders"]["nodes"]] == [f"#{name}"]

    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    shop.flush()
    [release] = wait_for(lambda: _released(plugin, store, held_id), what="the release", timeout=60)
    assert [line["units"] for line in release.lines] == [3]
    final = view(shop, gid_of(order_id))
    assert _parts(final) == [("OPEN", 3), ("OPEN", 1)]
    assert captured(final) == ["12.0", "135.0"]
    assert final["displayFinancialStatus"] == "PAID"
    # No linked order: the shop has the one order, none tagged with the split.
    assert [n["name"] for n in shop.data(EVERY_ORDER)["orders"]["nodes"]] == [f"#{name}"]
    assert shop.data(TAGGED, {"q": f"tag:'backorders-{order_id}-1'"})["orders"]["nodes"] == []
    assert [r.split_key for r in plugin.ledger.for_order(store.id, order_id)] == [f"{order_id}:1"]
    assert _errors(plugin, store, order_id, held_id) == []


def test_a_linked_split_stays_linked_when_the_store_switches_to_held(
    shopify_stack: run.Stack, shop: Shop
) -> None:
    stack = shopify_stack
    plugin = PluginDb(stack.config())
    store = connect_shop(stack, plugin, shop)
    _switch(plugin, store, "linked")
    _faults(shop, {"duplicate_rate": 1.0, "api_fail_matching": "orderEditBegin"})
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    shop.flush()

    def created() -> bool:
        query = {"q": f"tag:'backorders-{order_id}-1'"}
        return bool(shop.data(TAGGED, query)["orders"]["nodes"])

    _begun(stack, plugin, store, order_id, created)
    _switch(plugin, store, "")
    _faults(shop, {"api_fail_matching": ""})

    new_id = split_done(plugin, store, order_id).backorder_order_id
    assert new_id is not None and not new_id.startswith("fo-")
    shop.flush()
    wait_for(plugin.events_finished, what="the echoes of our writes", timeout=60)
    original = linked_view(shop, order_id)
    assert lines(original) == [("MUG-BLUE", 1), ("BOARD-WALNUT", 0)]
    assert _parts(original) == [("OPEN", 1)]  # nothing held on the original
    assert original["splits"]["jsonValue"] == {
        f"{order_id}:1": {"number": f"{name}-001", "order": new_id}
    }
    assert sorted(n["name"] for n in shop.data(EVERY_ORDER)["orders"]["nodes"]) == sorted(
        [f"#{name}", f"#{name}-001"]
    )

    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    shop.flush()
    [release] = wait_for(lambda: _released(plugin, store, new_id), what="the release", timeout=60)
    assert [line["units"] for line in release.lines] == [3]
    new = linked_view(shop, new_id)
    assert lines(new) == [("BOARD-WALNUT", 3)]
    assert [fo["status"] for fo in new["fulfillmentOrders"]["nodes"]] == ["OPEN"]
    assert release.payment_url == new["statusPageUrl"]
    [invoice] = requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json()
    assert (invoice["order"], invoice["amount"]) == (gid_of(new_id), "135.00")
    assert [t["kind"] for t in linked_view(shop, order_id)["transactions"]] == [
        "AUTHORIZATION",
        "CAPTURE",
    ]
    assert [r.split_key for r in plugin.ledger.for_order(store.id, order_id)] == [f"{order_id}:1"]
    assert _errors(plugin, store, order_id, new_id) == []
