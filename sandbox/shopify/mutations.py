"""Mutation resolvers: each checks its input, calls the shop operation and builds the payload.

A refusal is a payload with ``userErrors`` (and its objects null), as Shopify answers; the
operation raised before changing anything, so a refused mutation leaves the shop as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify import catalog, fulfillment, gid, orders, subscriptions
from sandbox.shopify import metafields as metafield_store
from sandbox.shopify.resolvers import RESOLVERS, TYPE_SCOPES, calculated_line, require, shop_of
from sandbox.shopify.user_errors import UserErrors, refuse


def mutation(
    name: str, empty: dict[str, Any], errors_key: str = "userErrors"
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register a mutation; UserErrors become ``{**empty, errors_key: [...]}``."""

    def register(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def resolve(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
            shop = shop_of(info)
            noted = shop.pending()
            try:
                payload = function(info, **args)
            except UserErrors as refusal:
                shop.restore_pending(noted)
                return {**empty, errors_key: [p.as_dict() for p in refusal.problems]}
            payload.setdefault(errors_key, [])
            return payload

        RESOLVERS[("Mutation", name)] = resolve
        return function

    return register


def _owner_scope(info: GraphQLResolveInfo, owner_id: str) -> None:
    kind = gid.kind_of(owner_id)
    if kind in TYPE_SCOPES:
        require(info, "write_" + TYPE_SCOPES[kind])


# --------------------------------------------------------------------- catalogue
@mutation("productVariantsBulkUpdate", {"product": None, "productVariants": None})
def _variants_bulk_update(
    info: GraphQLResolveInfo,
    productId: str,
    variants: list[Any],  # noqa: N803
    allowPartialUpdates: bool | None = None,
    **_: Any,
) -> dict[str, Any]:  # noqa: N803
    gid.parse(productId)
    product, updated, problems = catalog.update_variants(
        shop_of(info), productId, variants, bool(allowPartialUpdates)
    )
    return {
        "product": product,
        "productVariants": updated,
        "userErrors": [p.as_dict() for p in problems],
    }


@mutation("inventoryAdjustQuantities", {"inventoryAdjustmentGroup": None})
def _adjust(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    for change in input["changes"]:
        gid.parse(change["inventoryItemId"])
        gid.parse(change["locationId"])
    group = catalog.adjust_quantities(
        shop_of(info),
        input["reason"],
        input["name"],
        input.get("referenceDocumentUri"),
        input["changes"],
    )
    return {"inventoryAdjustmentGroup": group}


@mutation("inventorySetQuantities", {"inventoryAdjustmentGroup": None})
def _set(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    for entry in input["quantities"]:
        gid.parse(entry["inventoryItemId"])
        gid.parse(entry["locationId"])
    group = catalog.set_quantities(
        shop_of(info),
        input["reason"],
        input["name"],
        input.get("referenceDocumentUri"),
        input["quantities"],
        bool(input.get("ignoreCompareQuantity")),
    )
    return {"inventoryAdjustmentGroup": group}


# ------------------------------------------------------------ fulfillment orders
@mutation("fulfillmentOrderSplit", {"fulfillmentOrderSplits": None})
def _split(info: GraphQLResolveInfo, fulfillmentOrderSplits: list[Any]) -> dict[str, Any]:  # noqa: N803
    for data in fulfillmentOrderSplits:
        gid.parse(data["fulfillmentOrderId"])
    return {"fulfillmentOrderSplits": fulfillment.split(shop_of(info), fulfillmentOrderSplits)}


@mutation(
    "fulfillmentOrderHold",
    {"fulfillmentHold": None, "fulfillmentOrder": None, "remainingFulfillmentOrder": None},
)
def _hold(info: GraphQLResolveInfo, id: str, fulfillmentHold: dict[str, Any]) -> dict[str, Any]:  # noqa: A002, N803
    gid.parse(id)
    new_hold, fulfillment_order, remaining = fulfillment.hold(
        shop_of(info), id, fulfillmentHold, info.context.app.id
    )
    return {
        "fulfillmentHold": new_hold,
        "fulfillmentOrder": fulfillment_order,
        "remainingFulfillmentOrder": remaining,
    }


@mutation("fulfillmentOrderReleaseHold", {"fulfillmentOrder": None})
def _release(
    info: GraphQLResolveInfo,
    id: str,
    holdIds: list[str] | None = None,  # noqa: A002, N803
    externalId: str | None = None,
) -> dict[str, Any]:  # noqa: N803
    gid.parse(id)
    released = fulfillment.release_hold(shop_of(info), id, holdIds, externalId, info.context.app.id)
    return {"fulfillmentOrder": released}


# ---------------------------------------------------------- metafields and tags
@mutation("metafieldsSet", {"metafields": None})
def _metafields_set(info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> dict[str, Any]:
    for data in metafields:
        gid.parse(data["ownerId"])
        _owner_scope(info, data["ownerId"])
    saved = metafield_store.set_metafields(shop_of(info), metafields, info.context.app.namespace)
    return {"metafields": saved}


def _tags(add: bool) -> Callable[..., dict[str, Any]]:
    def change(info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:  # noqa: A002
        gid.parse(id)
        _owner_scope(info, id)
        return {"node": orders.change_tags(shop_of(info), id, tags, add)}

    return change


mutation("tagsAdd", {"node": None})(_tags(add=True))
mutation("tagsRemove", {"node": None})(_tags(add=False))


# ------------------------------------------------------------------------ orders
@mutation("orderUpdate", {"order": None})
def _order_update(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    gid.parse(input["id"])
    shop = shop_of(info)
    if shop.get(input["id"], "Order") is None:
        raise refuse(["id"], "Order does not exist")
    entries = [{**m, "ownerId": input["id"]} for m in input.get("metafields") or []]
    metafield_store.check(shop, entries, info.context.app.namespace, "metafields")
    order = orders.update_order(shop, input)  # checks before it changes anything
    metafield_store.set_metafields(shop, entries, info.context.app.namespace)
    return {"order": order}


@mutation("orderMarkAsPaid", {"order": None})
def _mark_as_paid(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    gid.parse(input["id"])
    return {"order": orders.mark_as_paid(shop_of(info), input["id"])}


@mutation("orderInvoiceSend", {"order": None})
def _invoice_send(
    info: GraphQLResolveInfo,
    id: str,
    email: dict[str, Any] | None = None,  # noqa: A002
) -> dict[str, Any]:
    gid.parse(id)
    return {"order": orders.send_invoice(shop_of(info), id, email)}


@mutation("orderCapture", {"transaction": None})
def _capture(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    gid.parse(input["id"])
    gid.parse(input["parentTransactionId"])
    transaction = orders.capture(
        shop_of(info),
        input["id"],
        input["parentTransactionId"],
        input["amount"],
        input.get("currency"),
        input.get("finalCapture"),
    )
    return {"transaction": transaction}


@mutation("orderCancel", {"job": None, "userErrors": []}, errors_key="orderCancelUserErrors")
def _cancel(
    info: GraphQLResolveInfo,
    orderId: str,
    refund: bool,
    restock: bool,
    reason: str,  # noqa: N803
    notifyCustomer: bool | None = None,
    staffNote: str | None = None,
) -> dict[str, Any]:  # noqa: N803
    gid.parse(orderId)
    job = orders.cancel(shop_of(info), orderId, reason, refund, restock, staffNote)
    return {"job": job, "userErrors": []}


_CREATE_STATUS_PAYMENTS = {"PAID": orders.PAID, "AUTHORIZED": orders.CARD}


@mutation("orderCreate", {"order": None})
def _order_create(
    info: GraphQLResolveInfo, order: dict[str, Any], options: dict[str, Any] | None = None
) -> dict[str, Any]:
    shop = shop_of(info)
    lines = []
    for index, data in enumerate(order.get("lineItems") or []):
        variant = None
        if data.get("variantId"):
            gid.parse(data["variantId"])
            variant = shop.get(data["variantId"], "ProductVariant")
            if variant is None:
                raise refuse(
                    ["order", "lineItems", str(index), "variantId"],
                    "Variant does not exist",
                    "PRODUCT_VARIANT_DOES_NOT_EXIST",
                )
        elif not data.get("title"):
            raise refuse(
                ["order", "lineItems", str(index), "title"],
                "Title is required for a line item without a variant",
                "INVALID",
            )
        price_set = data.get("priceSet")
        price = price_set["shopMoney"]["amount"] if price_set else None
        lines.append(
            {
                "variant": variant,
                "quantity": data["quantity"],
                "price": price,
                "title": data.get("title"),
                "sku": data.get("sku"),
            }
        )
    customer = _create_customer(shop, order)
    transactions = [
        {
            "kind": t.get("kind") or "SALE",
            "status": t.get("status") or "SUCCESS",
            "amount": t["amountSet"]["shopMoney"]["amount"],
            "gateway": t.get("gateway"),
            "test": t.get("test"),
        }
        for t in order.get("transactions") or []
    ]
    entries = [{**m, "ownerId": None} for m in order.get("metafields") or []]
    metafield_store.check(shop, entries, info.context.app.namespace, "metafields")
    behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
    created = orders.create_order(
        shop,
        lines,
        email=order.get("email") or (customer["email"] if customer else None),
        customer=customer,
        transactions=transactions or None,
        payment=None
        if transactions
        else _CREATE_STATUS_PAYMENTS.get(order.get("financialStatus") or ""),
        inventory=behaviour,
        tags=order.get("tags"),
        note=order.get("note"),
        source_name=order.get("sourceName") or "sandbox-api",
        test=bool(order.get("test")),
        processed_at=order.get("processedAt"),
    )
    if order.get("name"):
        # OrderCreateOrderInput.name: the order's name instead of the next "#<number>".
        created["name"] = order["name"]
    entries = [{**m, "ownerId": created["id"]} for m in entries]
    metafield_store.set_metafields(shop, entries, info.context.app.namespace)
    return {"order": created}


def _create_customer(shop: Any, order: dict[str, Any]) -> dict[str, Any] | None:
    data = order.get("customer") or {}
    associate = data.get("toAssociate")
    if associate:
        if associate.get("id"):
            found = shop.get(associate["id"], "Customer")
            if found is None:
                raise refuse(
                    ["order", "customer", "toAssociate", "id"],
                    "Customer does not exist",
                    "CUSTOMER_DOES_NOT_EXIST",
                )
            return found  # type: ignore[no-any-return]
        if associate.get("email"):
            return orders.customer_for(shop, associate["email"])
    upsert = data.get("toUpsert")
    if upsert and upsert.get("email"):
        return orders.customer_for(
            shop,
            upsert["email"],
            upsert.get("firstName") or "",
            upsert.get("lastName") or "",
            upsert.get("phone"),
        )
    if order.get("email"):
        return orders.customer_for(shop, order["email"])
    return None


@mutation("orderEditBegin", {"calculatedOrder": None})
def _edit_begin(info: GraphQLResolveInfo, id: str) -> dict[str, Any]:  # noqa: A002
    gid.parse(id)
    return {"calculatedOrder": orders.edit_begin(shop_of(info), id)}


@mutation("orderEditSetQuantity", {"calculatedOrder": None, "calculatedLineItem": None})
def _edit_set_quantity(
    info: GraphQLResolveInfo,
    id: str,
    lineItemId: str,
    quantity: int,  # noqa: A002, N803
    restock: bool | None = None,
) -> dict[str, Any]:
    gid.parse(id)
    gid.parse(lineItemId)
    shop = shop_of(info)
    calculated, line = orders.edit_set_quantity(shop, id, lineItemId, quantity, bool(restock))
    return {
        "calculatedOrder": calculated,
        "calculatedLineItem": calculated_line(shop, calculated, line),
    }


@mutation("orderEditCommit", {"order": None})
def _edit_commit(
    info: GraphQLResolveInfo,
    id: str,
    notifyCustomer: bool | None = None,  # noqa: A002, N803
    staffNote: str | None = None,
) -> dict[str, Any]:  # noqa: N803
    gid.parse(id)
    return {"order": orders.edit_commit(shop_of(info), id, staffNote)}


# --------------------------------------------------------- webhook subscriptions
@mutation("webhookSubscriptionCreate", {"webhookSubscription": None})
def _webhook_create(
    info: GraphQLResolveInfo, topic: str, webhookSubscription: dict[str, Any]
) -> dict[str, Any]:  # noqa: N803
    created = subscriptions.create(shop_of(info), info.context.app.id, topic, webhookSubscription)
    return {"webhookSubscription": created}


@mutation("webhookSubscriptionUpdate", {"webhookSubscription": None})
def _webhook_update(
    info: GraphQLResolveInfo,
    id: str,  # noqa: A002
    webhookSubscription: dict[str, Any],
) -> dict[str, Any]:  # noqa: N803
    gid.parse(id)
    updated = subscriptions.update(shop_of(info), info.context.app.id, id, webhookSubscription)
    return {"webhookSubscription": updated}


@mutation("webhookSubscriptionDelete", {"deletedWebhookSubscriptionId": None})
def _webhook_delete(info: GraphQLResolveInfo, id: str) -> dict[str, Any]:  # noqa: A002
    gid.parse(id)
    deleted = subscriptions.delete(shop_of(info), info.context.app.id, id)
    return {"deletedWebhookSubscriptionId": deleted}
