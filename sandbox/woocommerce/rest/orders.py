"""REST routes for /orders."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from sandbox.woocommerce.errors import ApiError, not_in_enum
from sandbox.woocommerce.rest.batch import run_batch
from sandbox.woocommerce.rest.http import (
    bp,
    current_store,
    date_arg,
    force_arg,
    int_arg,
    int_list_arg,
    json_response,
    list_arg,
    paginate,
    request_body,
    with_links,
)
from sandbox.woocommerce.store import REST_ORDER_STATUSES


def _order_links(data: dict[str, Any]) -> dict[str, Any]:
    """Version2 prepare_links: self, collection, customer and up when they apply."""
    extra = {}
    if data["customer_id"]:
        extra["customer"] = f"customers/{data['customer_id']}"
    if data["parent_id"]:
        extra["up"] = f"orders/{data['parent_id']}"
    return with_links(data, f"orders/{data['id']}", "orders", extra)


def _order_out(order_id: int) -> dict[str, Any] | None:
    data = current_store().order_json(order_id)
    return None if data is None else _order_links(data)


# GET /orders `status` (WC_REST_Orders_Controller::get_collection_params): "any", "trash" or an
# order status, in the order its error message lists.
_ORDER_STATUS_FILTER = ("any", "trash", *REST_ORDER_STATUSES)
_ORDER = ("asc", "desc")
_ORDERBY = ("date", "id", "include", "title", "slug", "modified")


@bp.get("/orders")
def list_orders() -> Response:
    """GET /orders with the documented filters."""
    statuses = list_arg("status")
    for status in statuses or []:
        if status not in _ORDER_STATUS_FILTER:
            raise not_in_enum("status", _ORDER_STATUS_FILTER, "status[0]")
    order = request.args.get("order", "desc")
    if order not in _ORDER:
        raise not_in_enum("order", _ORDER)
    orderby = request.args.get("orderby", "date")
    if orderby not in _ORDERBY:
        raise not_in_enum("orderby", _ORDERBY)
    ids = current_store().list_orders(
        status=statuses,
        modified_after=date_arg("modified_after"),
        modified_before=date_arg("modified_before"),
        after=date_arg("after"),
        before=date_arg("before"),
        parent=int_list_arg("parent"),
        parent_exclude=int_list_arg("parent_exclude"),
        include=int_list_arg("include"),
        exclude=int_list_arg("exclude"),
        customer=int_arg("customer"),
        product=int_arg("product"),
        orderby=orderby,
        order=order,
    )
    return paginate(ids, _order_out)


@bp.post("/orders")
def create_order() -> Response:
    """POST /orders."""
    data = current_store().create_order(request_body(), created_via="rest-api")
    return json_response(_order_out(data["id"]), 201)


@bp.get("/orders/<int:order_id>")
def get_order(order_id: int) -> Response:
    """GET /orders/<id>."""
    data = _order_out(order_id)
    if data is None:
        raise ApiError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
    return json_response(data)


@bp.route("/orders/<int:order_id>", methods=["PUT", "PATCH", "POST"])
def update_order(order_id: int) -> Response:
    """PUT /orders/<id>."""
    current_store().update_order(order_id, request_body())
    return json_response(_order_out(order_id))


@bp.delete("/orders/<int:order_id>")
def delete_order(order_id: int) -> Response:
    """DELETE /orders/<id>[?force=true]."""
    return json_response(_order_links(current_store().delete_order(order_id, force=force_arg())))


@bp.post("/orders/batch")
def batch_orders() -> Response:
    """POST /orders/batch (delete entries are permanent, as WooCommerce forces them)."""
    store = current_store()
    return run_batch(
        lambda d: _order_out(store.create_order(d, created_via="rest-api")["id"]) or {},
        lambda i, d: (store.update_order(i, d), _order_out(i) or {})[1],
        lambda i: _order_links(store.delete_order(i, force=True)),
    )
