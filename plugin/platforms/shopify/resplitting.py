"""A partial release of a held part in Shopify's terms (issue 16): the held fulfillment order
`fo-<n>` keeps the units that ship now, and the units that still wait move to a new held
fulfillment order of the same order, the re-split's backorder (`plugin/usecases/resplitting.py`).

Two writes, each found again on a retry:

1. `fulfillmentOrderSplit` of `fo-<n>` naming the units that ship now: Shopify keeps the named
   quantities on the fulfillment order and puts the rest on a new one
   (`FulfillmentOrderSplitResult.remainingFulfillmentOrder`); a held fulfillment order is split
   into held ones, its holds carried over to the new one.
2. `fulfillmentOrderHold` of the new fulfillment order, reason `INVENTORY_OUT_OF_STOCK`, handle
   `backorders-resplit-fo-<n>`: a fulfillment order already on hold takes another hold with its
   own handle (schema 2025-01, `fulfillmentOrderHold`: "the mutation can be successfully executed
   on fulfillment orders that are already on hold"), so the re-split is found by its handle
   (`ShopifyPlatform.find_backorder_order`).

A crash between the two leaves `fo-<n>` holding exactly the units that ship now beside a held
fulfillment order no split recorded, holding exactly the units that wait: that one is taken
(`split_off`), never split again. The adapter then records the new part in the order's
`backorders.splits` metafield and tags (`#1042-002`); the release of `fo-<n>` that follows
captures its value (`ShopifyPlatform.release_order`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from plugin.core.model import Plan
from plugin.errors import NotFound, PermanentError
from plugin.platforms.shopify.ids import number
from plugin.platforms.shopify.mapping import hold_handle, splits_of

SPLIT = """mutation split($splits: [FulfillmentOrderSplitInput!]!) {
  fulfillmentOrderSplit(fulfillmentOrderSplits: $splits) {
    fulfillmentOrderSplits { fulfillmentOrder { id status }
      remainingFulfillmentOrder { id status } replacementFulfillmentOrder { id } }
    userErrors { field message code } } }"""
HOLD_REST = """mutation holdRest($id: ID!, $hold: FulfillmentOrderHoldInput!) {
  fulfillmentOrderHold(id: $id, fulfillmentHold: $hold) {
    fulfillmentHold { id handle } userErrors { field message code } } }"""


class Mutations(Protocol):
    def mutate(self, query: str, variables: Mapping[str, Any] | None, payload: str) -> Any: ...


def quantities_of(fulfillment_order: Mapping[str, Any]) -> dict[str, int]:
    """Units still to ship per line number on a fulfillment order."""
    units: dict[str, int] = {}
    for node in fulfillment_order["lineItems"]["nodes"]:
        remaining = int(node["remainingQuantity"])
        if remaining > 0:
            line = number(node["lineItem"]["id"])
            units[line] = units.get(line, 0) + remaining
    return units


def shares(plan: Plan) -> tuple[dict[str, int], dict[str, int]]:
    """(units that ship now, units that still wait) per line number of a re-split plan."""
    kept = {lp.line_id: lp.keep for lp in plan.lines if lp.keep > 0}
    waiting = {lp.line_id: lp.backorder for lp in plan.lines if lp.backorder > 0}
    return kept, waiting


def unrecorded_part(
    data: Mapping[str, Any], fulfillment_order: Mapping[str, Any], waiting: Mapping[str, int]
) -> Mapping[str, Any] | None:
    """A held fulfillment order of the order that no split recorded and that holds exactly
    `waiting`: what a split of `fulfillment_order` made before a crash."""
    recorded = recorded_parts(data)
    nodes: list[Mapping[str, Any]] = data["fulfillmentOrders"]["nodes"]
    for node in nodes:
        if node["id"] == fulfillment_order["id"] or number(node["id"]) in recorded:
            continue
        if node["status"] == "ON_HOLD" and quantities_of(node) == dict(waiting):
            return node
    return None


def split_off(client: Mutations, data: Mapping[str, Any], part: str | None, plan: Plan) -> str:
    """Move what still waits of the held part `part` (a fulfillment order number of the order
    `data`; None: the order itself, held whole) to a new held fulfillment order, once; that
    fulfillment order's number."""
    assert plan.split_key is not None
    handle = hold_handle(plan.split_key)
    made = _made(data, plan.split_key, handle)
    if made is not None:
        return made
    kept, waiting = shares(plan)
    whole = {line: kept.get(line, 0) + waiting.get(line, 0) for line in {*kept, *waiting}}
    if part is None:
        part = _held_whole(data, whole, kept)
    fulfillment_order = next(
        (fo for fo in data["fulfillmentOrders"]["nodes"] if number(fo["id"]) == part), None
    )
    if fulfillment_order is None:
        raise NotFound(f"backorder fo-{part} is not on its order", reason="not_found")
    units = quantities_of(fulfillment_order)
    done = unrecorded_part(data, fulfillment_order, waiting) if units == kept else None
    if done is not None:
        if not any(h.get("handle") == handle for h in done.get("fulfillmentHolds") or ()):
            _hold(client, str(done["id"]), handle, plan)
        return number(done["id"])
    if units != whole or fulfillment_order["status"] != "ON_HOLD":
        raise PermanentError(
            f"backorder fo-{part} no longer holds what the partial release planned "
            f"({units} held, {whole} planned); release it from Shopify's admin",
            reason="resplit_mismatch",
        )
    items = [
        {"id": node["id"], "quantity": kept[number(node["lineItem"]["id"])]}
        for node in fulfillment_order["lineItems"]["nodes"]
        if kept.get(number(node["lineItem"]["id"]), 0) > 0
    ]
    result = client.mutate(
        SPLIT,
        {
            "splits": [
                {"fulfillmentOrderId": fulfillment_order["id"], "fulfillmentOrderLineItems": items}
            ]
        },
        "fulfillmentOrderSplit",
    )
    [outcome] = result["fulfillmentOrderSplits"]
    if outcome.get("replacementFulfillmentOrder"):
        # Shopify replaced the fulfillment order instead of splitting it: `fo-<n>` is gone.
        raise PermanentError(
            f"backorder fo-{part} was replaced by Shopify when split; release it from "
            "Shopify's admin",
            reason="resplit_replaced",
        )
    rest = str(outcome["remainingFulfillmentOrder"]["id"])
    _hold(client, rest, handle, plan)
    return number(rest)


def recorded_parts(data: Mapping[str, Any]) -> set[str]:
    """Numbers of the fulfillment orders our splits recorded as held parts."""
    return {str(entry.get("fulfillment_order")) for entry in splits_of(data).values()}


def _held_whole(data: Mapping[str, Any], whole: Mapping[str, int], kept: Mapping[str, int]) -> str:
    """The held fulfillment order of an order held whole (`ShopifyPlatform.set_status`) that
    holds the units of the plan: all of them, or (split before a crash) those that ship."""
    held = [
        fo
        for fo in data["fulfillmentOrders"]["nodes"]
        if fo["status"] == "ON_HOLD" and number(fo["id"]) not in recorded_parts(data)
    ]
    for wanted in (whole, kept):
        for fo in held:
            if quantities_of(fo) == dict(wanted):
                return number(fo["id"])
    raise PermanentError(
        f"order {data.get('name', '')}: the units of the partial release are not on one held "
        "fulfillment order; release them from Shopify's admin",
        reason="unsupported_split",
    )


def _made(data: Mapping[str, Any], split_key: str, handle: str) -> str | None:
    """The fulfillment order this re-split made, when recorded or held under its handle."""
    entry = splits_of(data).get(split_key) or {}
    if entry.get("fulfillment_order"):
        return str(entry["fulfillment_order"])
    for node in data["fulfillmentOrders"]["nodes"]:
        if any(h.get("handle") == handle for h in node.get("fulfillmentHolds") or ()):
            return number(node["id"])
    return None


def _hold(client: Mutations, fulfillment_order_id: str, handle: str, plan: Plan) -> None:
    client.mutate(
        HOLD_REST,
        {
            "id": fulfillment_order_id,
            "hold": {
                "reason": "INVENTORY_OUT_OF_STOCK",
                "reasonNotes": f"Backorder {plan.backorder_number}",
                "handle": handle,
                "notifyMerchant": False,
            },
        },
        "fulfillmentOrderHold",
    )
