"""Fulfillment orders: split, hold and release, as the Admin API's mutations do them.

A split or a hold on some line items keeps the named quantities on the original fulfillment
order and moves the rest to a new one: ``FulfillmentOrderHoldPayload.remainingFulfillmentOrder``
is documented as "the remaining fulfillment order containing the line items to which the hold
wasn't applied", and ``FulfillmentOrderSplitResult`` names the same pair.
"""

from __future__ import annotations

from typing import Any

from sandbox.shopify import orders
from sandbox.shopify.shop import Shop
from sandbox.shopify.user_errors import Problem, UserErrors, refuse

MAX_HOLDS = 10  # FULFILLMENT_ORDER_HOLD_LIMIT_REACHED
SPLITTABLE = ("OPEN", "ON_HOLD", "IN_PROGRESS", "SCHEDULED")

# FulfillmentHold.displayReason for each FulfillmentHoldReason.
DISPLAY_REASONS = {
    "AWAITING_PAYMENT": "Awaiting payment",
    "HIGH_RISK_OF_FRAUD": "High risk of fraud",
    "INCORRECT_ADDRESS": "Incorrect address",
    "INVENTORY_OUT_OF_STOCK": "Inventory out of stock",
    "UNKNOWN_DELIVERY_DATE": "Unknown delivery date",
    "ONLINE_STORE_POST_PURCHASE_CROSS_SELL": "Online store post purchase cross sell",
    "AWAITING_RETURN_ITEMS": "Awaiting return items",
    "OTHER": "Other",
}


def _quantities(
    shop: Shop,
    fulfillment_order: dict[str, Any],
    items: list[dict[str, Any]],
    where: list[str],
    codes: dict[str, str],
) -> dict[str, int]:
    """Validate (fulfillment order line item id, quantity) inputs; {entry id: quantity}."""
    wanted: dict[str, int] = {}
    for index, item in enumerate(items):
        at = [*where, str(index)]
        entry = shop.get(item["id"], "FulfillmentOrderLineItem")
        if entry is None or entry["_fulfillment_order"] != fulfillment_order["id"]:
            raise refuse(
                [*at, "id"],
                "The line item does not belong to the fulfillment order.",
                codes["quantity"],
            )
        if item["quantity"] <= 0:
            raise refuse(
                [*at, "quantity"],
                "You must select at least one item to split into a new fulfillment order."
                if codes["positive"] == "GREATER_THAN"
                else "The quantity must be greater than zero.",
                codes["positive"],
            )
        total = wanted.get(entry["id"], 0) + item["quantity"]
        if total > entry["remainingQuantity"]:
            raise refuse([*at, "quantity"], "The line item quantity is invalid.", codes["quantity"])
        wanted[entry["id"]] = total
    return wanted


def _split(
    shop: Shop, fulfillment_order: dict[str, Any], wanted: dict[str, int]
) -> dict[str, Any] | None:
    """Keep `wanted` on the fulfillment order, move the rest to a new one (returned)."""
    rest: list[tuple[dict[str, Any], int]] = []
    for entry in shop.children("fo_lines", fulfillment_order["_lines"]):
        moved = entry["remainingQuantity"] - wanted.get(entry["id"], 0)
        if moved > 0:
            rest.append((entry, moved))
    if not rest:
        return None
    order = shop.table("orders")[fulfillment_order["_order"]]
    remaining = orders.new_fulfillment_order(
        shop,
        order,
        fulfillment_order["_location"],
        [(shop.table("lines")[entry["_line"]], moved) for entry, moved in rest],
    )
    for entry, moved in rest:
        entry["remainingQuantity"] -= moved
        entry["totalQuantity"] -= moved
    kept = [e for e in fulfillment_order["_lines"] if shop.table("fo_lines")[e]["totalQuantity"]]
    fulfillment_order["_lines"] = kept
    remaining["status"] = "OPEN"
    fulfillment_order["updatedAt"] = shop.now_iso()
    return remaining


def split(shop: Shop, splits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """fulfillmentOrderSplit: one result per input; all or nothing."""
    checked = []
    for index, data in enumerate(splits):
        where = ["fulfillmentOrderSplits", str(index)]
        fulfillment_order = shop.get(data["fulfillmentOrderId"], "FulfillmentOrder")
        if fulfillment_order is None:
            raise refuse(
                [*where, "fulfillmentOrderId"],
                "Fulfillment order does not exist.",
                "FULFILLMENT_ORDER_NOT_FOUND",
            )
        if not data["fulfillmentOrderLineItems"]:
            raise refuse(
                [*where, "fulfillmentOrderLineItems"],
                "You must specify line items to split.",
                "NO_LINE_ITEMS_PROVIDED_TO_SPLIT",
            )
        if fulfillment_order["status"] not in SPLITTABLE:
            raise refuse(
                [*where, "fulfillmentOrderId"],
                "The fulfillment order cannot be split.",
                "FULFILLMENT_ORDER_NOT_FOUND",
            )
        wanted = _quantities(
            shop,
            fulfillment_order,
            data["fulfillmentOrderLineItems"],
            [*where, "fulfillmentOrderLineItems"],
            {"positive": "GREATER_THAN", "quantity": "INVALID_LINE_ITEM_QUANTITY"},
        )
        if all(
            wanted.get(e["id"], 0) == e["remainingQuantity"]
            for e in shop.children("fo_lines", fulfillment_order["_lines"])
        ):
            raise refuse(
                [*where, "fulfillmentOrderLineItems"],
                "The line item quantity is invalid: it would leave nothing to split.",
                "INVALID_LINE_ITEM_QUANTITY",
            )
        checked.append((fulfillment_order, wanted))
    results = []
    for fulfillment_order, wanted in checked:
        remaining = _split(shop, fulfillment_order, wanted)
        assert remaining is not None  # checked above
        if fulfillment_order["status"] == "ON_HOLD":
            remaining["status"] = "ON_HOLD"
            remaining["_holds"] = [
                dict(h, id=shop.new_gid("FulfillmentHold")) for h in fulfillment_order["_holds"]
            ]
        results.append(
            {
                "fulfillmentOrder": fulfillment_order,
                "remainingFulfillmentOrder": remaining,
                "replacementFulfillmentOrder": None,
            }
        )
    return results


def hold(
    shop: Shop, fulfillment_order_id: str, data: dict[str, Any], app_id: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """fulfillmentOrderHold: (hold, fulfillment order, remaining fulfillment order)."""
    fulfillment_order = shop.get(fulfillment_order_id, "FulfillmentOrder")
    if fulfillment_order is None:
        raise refuse(["id"], "Fulfillment order does not exist.", "FULFILLMENT_ORDER_NOT_FOUND")
    if fulfillment_order["status"] not in ("OPEN", "ON_HOLD", "SCHEDULED"):
        raise UserErrors(
            Problem(
                ["id"],
                "The fulfillment order's status must be OPEN or ON_HOLD to be placed on hold.",
            )
        )
    handle = data.get("handle") or ""
    holds = fulfillment_order["_holds"]
    if any(h["handle"] == handle and h["_app"] == app_id for h in holds):
        raise refuse(
            ["fulfillmentHold", "handle"],
            "The handle provided for the fulfillment "
            "hold is already in use by this app for another hold on this fulfillment "
            "order.",
            "DUPLICATE_FULFILLMENT_HOLD_HANDLE",
        )
    if len(holds) >= MAX_HOLDS:
        raise refuse(
            ["id"],
            "The maximum number of fulfillment holds for this fulfillment "
            "order has been reached for this app.",
            "FULFILLMENT_ORDER_HOLD_LIMIT_REACHED",
        )
    if handle and len(handle) > 64:
        raise refuse(["fulfillmentHold", "handle"], "Handle is too long (maximum is 64 characters)")
    items = data.get("fulfillmentOrderLineItems") or []
    remaining = None
    if items:
        if fulfillment_order["status"] == "ON_HOLD":
            raise refuse(
                ["fulfillmentHold", "fulfillmentOrderLineItems"],
                "The fulfillment order is not in a splittable state.",
                "FULFILLMENT_ORDER_NOT_SPLITTABLE",
            )
        wanted = _quantities(
            shop,
            fulfillment_order,
            items,
            ["fulfillmentHold", "fulfillmentOrderLineItems"],
            {"positive": "GREATER_THAN_ZERO", "quantity": "INVALID_LINE_ITEM_QUANTITY"},
        )
        remaining = _split(shop, fulfillment_order, wanted)
    new_hold = {
        "__typename": "FulfillmentHold",
        "id": shop.new_gid("FulfillmentHold"),
        "reason": data["reason"],
        "reasonNotes": data.get("reasonNotes"),
        "displayReason": DISPLAY_REASONS[data["reason"]],
        "handle": handle,
        "heldByRequestingApp": True,
        "_external_id": data.get("externalId"),
        "_app": app_id,
    }
    holds.append(new_hold)
    fulfillment_order["status"] = "ON_HOLD"
    fulfillment_order["updatedAt"] = shop.now_iso()
    return new_hold, fulfillment_order, remaining


def release_hold(
    shop: Shop,
    fulfillment_order_id: str,
    hold_ids: list[str] | None,
    external_id: str | None,
    app_id: str,
) -> dict[str, Any]:
    """fulfillmentOrderReleaseHold: release this app's holds (all, or those named)."""
    fulfillment_order = shop.get(fulfillment_order_id, "FulfillmentOrder")
    if fulfillment_order is None:
        raise refuse(["id"], "Fulfillment order does not exist.", "FULFILLMENT_ORDER_NOT_FOUND")
    holds = fulfillment_order["_holds"]
    if hold_ids:
        known = {h["id"]: h for h in holds}
        for index, hold_id in enumerate(hold_ids):
            if hold_id not in known or known[hold_id]["_app"] != app_id:
                raise refuse(
                    ["holdIds", str(index)],
                    "The app is not authorized to release this hold.",
                    "INVALID_ACCESS",
                )
        released = set(hold_ids)
    else:
        released = {h["id"] for h in holds if h["_app"] == app_id}
    if fulfillment_order["status"] != "ON_HOLD" or not released:
        raise refuse(["id"], "The fulfillment order is not on hold.")
    fulfillment_order["_holds"] = [h for h in holds if h["id"] not in released]
    if not fulfillment_order["_holds"]:
        fulfillment_order["status"] = "OPEN"
    fulfillment_order["updatedAt"] = shop.now_iso()
    if external_id is not None:
        fulfillment_order["_release_external_id"] = external_id
    return fulfillment_order
