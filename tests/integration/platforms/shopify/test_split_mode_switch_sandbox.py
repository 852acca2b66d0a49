"""A split keeps the mode it was written in when the merchant changes the store's split mode
(issue 16), through the use cases on the Shopify sandbox process. A split whose worker died
between its first write and its record is resumed after the switch in the mode it began in:
a held split after the store went linked records its held part (no linked order is created)
and stock arriving releases and captures it; a linked split after the store went back to held
finishes its linked order (no hold on the original) and stock arriving releases it with
Shopify's invoice. A new order after the switch is split the new way."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRepository
from plugin.errors import TransientError
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from plugin.ports import ReleaseState, SplitState
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
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
    view,
)
from tests.integration.platforms.shopify.test_usecases_sandbox import Plugin
from tests.integration.sandbox_shopify.conftest import Shop

EVERY_ORDER = "query { orders(first: 50) { nodes { id name } } }"


class DyingClient(ShopifyClient):
    """A client whose worker "dies" (TransientError) just before its first request whose
    query names `fatal`: the split's first write is made, its record is not."""

    def __init__(self, url: str, token: str, fatal: str) -> None:
        super().__init__(url, token)
        self.fatal = fatal
        self.died = False

    def execute(self, query: str, variables: Any = None) -> Any:
        if self.fatal in query and not self.died:
            self.died = True
            raise TransientError("worker killed", reason="test_crash")
        return super().execute(query, variables)


def _switched(shop: Shop, mode: str) -> ShopifyPlatform:
    """The store's platform as a worker opens it after the merchant saved `mode`."""
    return ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN), split_mode=mode)


def _parts(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (fo["status"], sum(n["remainingQuantity"] for n in fo["lineItems"]["nodes"]))
        for fo in order["fulfillmentOrders"]["nodes"]
    ]


def _board(plugin: Plugin, order_id: str) -> str:
    line = next(
        line for line in plugin.platform.get_order(order_id).lines if line.sku == "BOARD-WALNUT"
    )
    return plugin.releases.parent_product(plugin.store_id, line.ref.variant_id or "") or ""


@pytest.mark.database("sqlite")  # the use cases' storage is covered on both elsewhere
def test_a_held_split_resumed_after_the_switch_to_linked_stays_held_and_is_released(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    plugin.platform = ShopifyPlatform(DyingClient(shop.url, DEMO_ACCESS_TOKEN, "metafieldsSet"))
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    with pytest.raises(TransientError):  # held, then the worker died before the record
        plugin.handle(order_id)
    assert _parts(view(shop, gid_of(order_id))) == [("ON_HOLD", 3), ("OPEN", 1)]

    plugin.platform = _switched(shop, "linked")
    assert plugin.handle(order_id).status == "split"
    [record] = plugin.splits.for_order(plugin.store_id, order_id)
    assert record.state == SplitState.DONE
    held_id = record.backorder_order_id
    assert held_id is not None and held_id.startswith("fo-")
    split = view(shop, gid_of(order_id))
    assert _parts(split) == [("ON_HOLD", 3), ("OPEN", 1)]
    assert split["metafield"]["jsonValue"] == {
        f"{order_id}:1": {"number": f"{name}-001", "fulfillment_order": held_id[3:]}
    }
    assert payments(linked_view(shop, order_id)) == [
        ("AUTHORIZATION", "147.0"),
        ("CAPTURE", "12.0"),
    ]
    # No linked order: the shop has the one order, and none carries the split's tag.
    assert [n["name"] for n in shop.data(EVERY_ORDER)["orders"]["nodes"]] == [f"#{name}"]
    assert shop.data(TAGGED, {"q": f"tag:'backorders-{order_id}-1'"})["orders"]["nodes"] == []
    assert plugin.handle(order_id).status == "ignored"  # the event again: nothing more

    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    plugin.allocate(_board(plugin, order_id))
    [release] = plugin.releases.for_order(plugin.store_id, held_id)
    assert release.state == ReleaseState.DONE
    released = view(shop, gid_of(order_id))
    assert _parts(released) == [("OPEN", 3), ("OPEN", 1)]
    assert payments(linked_view(shop, order_id)) == [
        ("AUTHORIZATION", "147.0"),
        ("CAPTURE", "12.0"),
        ("CAPTURE", "135.0"),
    ]
    assert released["displayFinancialStatus"] == "PAID"
    assert [n["name"] for n in shop.data(EVERY_ORDER)["orders"]["nodes"]] == [f"#{name}"]

    # The setting decides how a new split is written: linked now.
    later = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 2)], payment="card")
    later_id = number(order_gid(shop, later))
    assert plugin.handle(later_id).status == "split"
    [new] = plugin.splits.for_order(plugin.store_id, later_id)
    assert new.backorder_order_id is not None and not new.backorder_order_id.startswith("fo-")
    assert lines(linked_view(shop, new.backorder_order_id)) == [("BOARD-WALNUT", 2)]


@pytest.mark.database("sqlite")  # the use cases' storage is covered on both elsewhere
def test_a_linked_split_resumed_after_the_switch_to_held_stays_linked_and_is_released(
    shop: Shop, db: Database, stores: StoreRepository
) -> None:
    plugin = Plugin(shop, db, stores)
    plugin.platform = ShopifyPlatform(
        DyingClient(shop.url, DEMO_ACCESS_TOKEN, "orderEditBegin"), split_mode="linked"
    )
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    with pytest.raises(TransientError):  # created and held, then the worker died
        plugin.handle(order_id)
    [made] = shop.data(TAGGED, {"q": f"tag:'backorders-{order_id}-1'"})["orders"]["nodes"]
    new_id = number(made["id"])

    plugin.platform = _switched(shop, "")
    assert plugin.handle(order_id).status == "split"
    [record] = plugin.splits.for_order(plugin.store_id, order_id)
    assert (record.state, record.backorder_order_id) == (SplitState.DONE, new_id)
    original = linked_view(shop, order_id)
    assert lines(original) == [("MUG-BLUE", 1), ("BOARD-WALNUT", 0)]
    assert [fo["status"] for fo in original["fulfillmentOrders"]["nodes"]] == ["OPEN"]
    assert payments(original) == [("AUTHORIZATION", "147.0"), ("CAPTURE", "12.0")]
    assert original["splits"]["jsonValue"] == {
        f"{order_id}:1": {"number": f"{name}-001", "order": new_id}
    }
    assert sorted(n["name"] for n in shop.data(EVERY_ORDER)["orders"]["nodes"]) == sorted(
        [f"#{name}", f"#{name}-001"]
    )
    new = linked_view(shop, new_id)
    assert lines(new) == [("BOARD-WALNUT", 3)]
    assert [fo["status"] for fo in new["fulfillmentOrders"]["nodes"]] == ["ON_HOLD"]
    assert plugin.handle(order_id).status == "ignored"  # the event again: nothing more

    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 3)
    plugin.allocate(_board(plugin, new_id))
    [release] = plugin.releases.for_order(plugin.store_id, new_id)
    assert release.state == ReleaseState.DONE
    final = linked_view(shop, new_id)
    assert [fo["status"] for fo in final["fulfillmentOrders"]["nodes"]] == ["OPEN"]
    assert release.payment_url == final["statusPageUrl"]
    [invoice] = requests.get(f"{shop.url}/sandbox/shopify/invoices", timeout=5).json()
    assert (invoice["order"], invoice["amount"]) == (gid_of(new_id), "135.00")
    assert payments(linked_view(shop, order_id)) == payments(original)  # not charged again

    # The setting decides how a new split is written: held now.
    later = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 2)], payment="card")
    later_id = number(order_gid(shop, later))
    assert plugin.handle(later_id).status == "split"
    [held] = plugin.splits.for_order(plugin.store_id, later_id)
    assert held.backorder_order_id is not None and held.backorder_order_id.startswith("fo-")
