"""A partial release on the Shopify sandbox as a real process (the platform contract's
`test_split_a_backorder_order_again`, in Shopify's terms): a held part of 3 boards is split
again when 1 arrives, the 2 that wait move to a new held fulfillment order numbered
`#<order>-002`, a retry (also after a crash between the split and the hold) changes nothing,
and the releases capture exactly each part, the last one finally."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRepository
from plugin.core.model import Policies, Status, StoreSettings
from plugin.core.split import plan_resplit, plan_split, resplit_key
from plugin.errors import PermanentError
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from plugin.platforms.shopify.mapping import fulfillment_order_number
from plugin.platforms.shopify.resplitting import SPLIT
from plugin.ports import ReleaseAs, ReleaseState, SplitState
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
    view,
)
from tests.integration.platforms.shopify.test_usecases_sandbox import Plugin
from tests.integration.sandbox_shopify.conftest import Shop


def _held(shop: Shop, payment: str) -> tuple[str, str, str, ShopifyPlatform]:
    """A checkout of a mug and 3 boards, split: (name, order id, held part id, platform)."""
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment=payment)
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    order = platform.get_order(order_id)
    plan = plan_split(order, platform.get_stock(order), Policies())
    held_id = platform.write_split(order, plan, backorder_order_id=None)
    return name, order_id, held_id, platform


def _parts(view_: dict[str, Any]) -> list[tuple[str, list[int], list[str]]]:
    return [
        (
            fo["status"],
            [n["remainingQuantity"] for n in fo["lineItems"]["nodes"] if n["remainingQuantity"]],
            [h["handle"] for h in fo["fulfillmentHolds"]],
        )
        for fo in view_["fulfillmentOrders"]["nodes"]
    ]


def _captures(view_: dict[str, Any]) -> list[str]:
    return [
        t["amountSet"]["shopMoney"]["amount"]
        for t in view_["transactions"]
        if t["kind"] == "CAPTURE"
    ]


def test_a_held_part_split_again_then_each_part_released_and_captured(shop: Shop) -> None:
    name, order_id, held_id, platform = _held(shop, "card")
    backorder = platform.get_order(held_id)
    [line] = backorder.lines
    numbers = platform.backorder_numbers(order_id)
    assert numbers == [f"{name}-001"]
    plan = plan_resplit(
        backorder, {line.line_id: 1}, original_number=name, taken_numbers=numbers,
        settings=StoreSettings(),
    )  # fmt: skip
    assert plan.backorder_number == f"{name}-002"
    assert platform.find_backorder_order(order_id, str(plan.split_key)) is None

    calls = platform.calls
    new_id = platform.write_resplit(backorder, plan, new_order_id=None)
    assert platform.calls - calls == 4  # the order read, the split, the hold, the record

    after = view(shop, gid_of(order_id))
    assert _parts(after) == [
        ("ON_HOLD", [1], [f"backorders-{order_id}-1"]),
        ("OPEN", [1], []),
        ("ON_HOLD", [2], [f"backorders-{order_id}-1", f"backorders-resplit-{held_id}"]),
    ]
    assert new_id == f"fo-{number(after['fulfillmentOrders']['nodes'][2]['id'])}"
    assert after["metafield"]["jsonValue"] == {
        f"{order_id}:1": {"number": f"{name}-001", "fulfillment_order": held_id[3:]},
        str(plan.split_key): {"number": f"{name}-002", "fulfillment_order": new_id[3:]},
    }
    assert sorted(after["tags"]) == sorted(["backorder", f"#{name}-001", f"#{name}-002"])
    assert _captures(after) == ["12.0"]  # the re-split captures nothing; the release does
    again = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    assert again.find_backorder_order(order_id, str(plan.split_key)) == new_id
    assert again.backorder_numbers(order_id) == [f"{name}-001", f"{name}-002"]
    waiting = again.get_order(new_id)
    assert (waiting.number, waiting.status, [ln.quantity for ln in waiting.lines]) == (
        f"{name}-002",
        Status.NEW_BACKORDER,
        [2],
    )
    assert waiting.links.parent_id == order_id
    # A retry, found or not (the hold's handle is the marker), writes nothing more.
    assert again.write_resplit(again.get_order(held_id), plan, new_order_id=new_id) == new_id
    assert again.write_resplit(again.get_order(held_id), plan, new_order_id=None) == new_id
    assert view(shop, gid_of(order_id)) == after

    # The part that ships now: released and captured for exactly its 1 board, not finally.
    assert again.release_order(held_id, ReleaseAs.UNPAID, "release-1") is None
    released = view(shop, gid_of(order_id))
    assert [status for status, _, _ in _parts(released)] == ["OPEN", "OPEN", "ON_HOLD"]
    assert _captures(released) == ["12.0", "45.0"]
    assert released["totalCapturableSet"]["shopMoney"]["amount"] == "90.0"
    # Retried after a crash past the release: nothing captured again.
    again.release_order(held_id, ReleaseAs.UNPAID, "release-1")
    assert view(shop, gid_of(order_id))["transactions"] == released["transactions"]

    # The rest arrives: released, the final capture; the order's total captured exactly.
    assert again.release_order(new_id, ReleaseAs.UNPAID, "release-2") is None
    final = view(shop, gid_of(order_id))
    assert [status for status, _, _ in _parts(final)] == ["OPEN", "OPEN", "OPEN"]
    assert _captures(final) == ["12.0", "45.0", "90.0"]
    assert final["displayFinancialStatus"] == "PAID"


def test_a_crash_between_the_split_and_the_hold_is_finished_once(shop: Shop) -> None:
    name, order_id, held_id, platform = _held(shop, "paid")
    backorder = platform.get_order(held_id)
    [line] = backorder.lines
    plan = plan_resplit(
        backorder, {line.line_id: 2}, original_number=name,
        taken_numbers=platform.backorder_numbers(order_id), settings=StoreSettings(),
    )  # fmt: skip
    held = shop.data(
        "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id "
        "lineItems(first: 5) { nodes { id } } } } } }",
        {"id": gid_of(order_id)},
    )["order"]["fulfillmentOrders"]["nodes"][0]
    [node] = held["lineItems"]["nodes"]
    # The split alone, as a job that died before its hold would have left it.
    platform.client.mutate(
        SPLIT,
        {"splits": [{"fulfillmentOrderId": held["id"],
                     "fulfillmentOrderLineItems": [{"id": node["id"], "quantity": 2}]}]},
        "fulfillmentOrderSplit",
    )  # fmt: skip
    before = view(shop, gid_of(order_id))["transactions"]

    retried = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    assert retried.find_backorder_order(order_id, str(plan.split_key)) is None
    new_id = retried.write_resplit(retried.get_order(held_id), plan, new_order_id=None)

    after = view(shop, gid_of(order_id))
    assert _parts(after) == [
        ("ON_HOLD", [2], [f"backorders-{order_id}-1"]),
        ("OPEN", [1], []),
        ("ON_HOLD", [1], [f"backorders-{order_id}-1", f"backorders-resplit-{held_id}"]),
    ]
    assert fulfillment_order_number(new_id) == number(after["fulfillmentOrders"]["nodes"][2]["id"])
    assert after["transactions"] == before  # a paid order: nothing captured
    assert retried.backorder_numbers(order_id) == [f"{name}-001", f"{name}-002"]


def test_a_part_that_changed_since_the_plan_is_refused_and_nothing_written(shop: Shop) -> None:
    name, order_id, held_id, platform = _held(shop, "card")
    backorder = platform.get_order(held_id)
    [line] = backorder.lines
    plan = plan_resplit(
        backorder, {line.line_id: 1}, original_number=name,
        taken_numbers=platform.backorder_numbers(order_id), settings=StoreSettings(),
    )  # fmt: skip
    platform.release_order(held_id, ReleaseAs.UNPAID, "released-by-hand")
    before = view(shop, gid_of(order_id))

    with pytest.raises(PermanentError) as refused:
        platform.write_resplit(backorder, plan, new_order_id=None)

    assert refused.value.reason == "resplit_mismatch"
    assert view(shop, gid_of(order_id)) == before


@pytest.mark.database("sqlite")  # the Shopify writes; storage is covered on both elsewhere
def test_an_order_held_whole_releases_what_arrived_and_holds_the_rest_as_001(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    name = shop.checkout([("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    assert plugin.handle(order_id).status == "hold"  # nothing in stock: it waits whole
    [line] = plugin.platform.get_order(order_id).lines
    warehouse = locations(shop)["Warehouse"]

    adjust(shop, "BOARD-WALNUT", warehouse, 1)
    plugin.allocate(line.ref.variant_id or "")

    record = plugin.splits.get(plugin.store_id, resplit_key(order_id))
    assert record is not None and record.state == SplitState.DONE
    new_id = str(record.backorder_order_id)
    partly = view(shop, gid_of(order_id))
    assert _parts(partly) == [
        ("OPEN", [1], []),
        ("ON_HOLD", [2], [f"backorders-hold-{order_id}", f"backorders-resplit-{order_id}"]),
    ]
    assert _captures(partly) == ["45.0"]  # exactly the board that ships
    assert sorted(partly["tags"]) == sorted(["backorder", f"#{name}-001"])
    [release] = plugin.releases.for_order(plugin.store_id, order_id)
    assert release.state == ReleaseState.DONE
    waiting = plugin.platform.get_order(new_id)
    assert (waiting.number, [ln.quantity for ln in waiting.lines]) == (f"{name}-001", [2])

    adjust(shop, "BOARD-WALNUT", warehouse, 2)
    plugin.allocate(line.ref.variant_id or "")
    [rest] = plugin.releases.for_order(plugin.store_id, new_id)
    assert rest.state == ReleaseState.DONE
    final = view(shop, gid_of(order_id))
    assert [status for status, _, _ in _parts(final)] == ["OPEN", "OPEN"]
    assert _captures(final) == ["45.0", "90.0"]
    assert final["displayFinancialStatus"] == "PAID"
