"""REST routes for /products and /products/<id>/variations."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from sandbox.woocommerce.errors import ApiError, not_in_enum
from sandbox.woocommerce.rest.batch import run_batch
from sandbox.woocommerce.rest.http import (
    bp,
    current_store,
    force_arg,
    int_list_arg,
    json_response,
    paginate,
    request_body,
    with_links,
)

# wc_get_product_types() and wc_get_product_stock_status_options(), in their order.
PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")


def _product_out(product_id: int) -> dict[str, Any] | None:
    data = current_store().product_json(product_id)
    if data is None:
        return None
    extra = {"up": f"products/{data['parent_id']}"} if data["parent_id"] else None
    return with_links(data, f"products/{product_id}", "products", extra)


def _variation_out(product_id: int, variation_id: int) -> dict[str, Any] | None:
    data = current_store().variation_json(variation_id)
    return None if data is None else _variation_links(product_id, data)


def _variation_links(product_id: int, data: dict[str, Any]) -> dict[str, Any]:
    variation_id = data["id"]
    return with_links(
        data,
        f"products/{product_id}/variations/{variation_id}",
        f"products/{product_id}/variations",
        {"up": f"products/{product_id}"},
    )


@bp.get("/products")
def list_products() -> Response:
    """GET /products."""
    stock_status = request.args.get("stock_status")
    if stock_status and stock_status not in STOCK_STATUSES:
        raise not_in_enum("stock_status", STOCK_STATUSES)
    product_type = request.args.get("type")
    if product_type and product_type not in PRODUCT_TYPES:
        # WC_REST_Products_V2_Controller::get_collection_params: `type` is an enum of
        # wc_get_product_types(); a variation is not a product type there.
        raise not_in_enum("type", PRODUCT_TYPES)
    ids = current_store().list_products(
        include=int_list_arg("include"),
        sku=request.args.get("sku"),
        stock_status=stock_status,
        status=request.args.get("status"),
        product_type=product_type,
        search=request.args.get("search"),
        parent=int_list_arg("parent"),
    )
    return paginate(ids, _product_out)


@bp.post("/products")
def create_product() -> Response:
    """POST /products."""
    data = current_store().create_product(request_body())
    return json_response(_product_out(data["id"]), 201)


@bp.get("/products/<int:product_id>")
def get_product(product_id: int) -> Response:
    """GET /products/<id>."""
    data = _product_out(product_id)
    if data is None:
        raise ApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    return json_response(data)


@bp.route("/products/<int:product_id>", methods=["PUT", "PATCH", "POST"])
def update_product(product_id: int) -> Response:
    """PUT /products/<id>."""
    current_store().update_product(product_id, request_body())
    return json_response(_product_out(product_id))


@bp.delete("/products/<int:product_id>")
def delete_product(product_id: int) -> Response:
    """DELETE /products/<id>."""
    data = current_store().delete_product(product_id, force=force_arg())
    return json_response(with_links(data, f"products/{product_id}", "products"))


@bp.get("/products/<int:product_id>/variations")
def list_variations(product_id: int) -> Response:
    """GET /products/<id>/variations."""
    if current_store().product_json(product_id) is None:
        raise ApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    ids = current_store().list_variations(product_id)
    include = int_list_arg("include")
    if include:
        ids = [i for i in ids if i in include]
    stock_status = request.args.get("stock_status")
    sku = request.args.get("sku")
    if stock_status or sku:
        kept = []
        for variation_id in ids:
            record = current_store().variation_json(variation_id) or {}
            if stock_status and record.get("stock_status") != stock_status:
                continue
            if sku and record.get("sku") != sku:
                continue
            kept.append(variation_id)
        ids = kept
    return paginate(ids, lambda vid: _variation_out(product_id, vid))


@bp.post("/products/<int:product_id>/variations")
def create_variation(product_id: int) -> Response:
    """POST /products/<id>/variations."""
    data = current_store().create_variation(product_id, request_body())
    return json_response(_variation_out(product_id, data["id"]), 201)


@bp.get("/products/<int:product_id>/variations/<int:variation_id>")
def get_variation(product_id: int, variation_id: int) -> Response:
    """GET /products/<id>/variations/<vid>."""
    record = current_store().product_record(variation_id)
    if record is None or record["type"] != "variation" or record["parent_id"] != product_id:
        raise ApiError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404)
    return json_response(_variation_out(product_id, variation_id))


@bp.route(
    "/products/<int:product_id>/variations/<int:variation_id>", methods=["PUT", "PATCH", "POST"]
)
def update_variation(product_id: int, variation_id: int) -> Response:
    """PUT /products/<id>/variations/<vid>."""
    current_store().update_variation(product_id, variation_id, request_body())
    return json_response(_variation_out(product_id, variation_id))


@bp.delete("/products/<int:product_id>/variations/<int:variation_id>")
def delete_variation(product_id: int, variation_id: int) -> Response:
    """DELETE /products/<id>/variations/<vid> (variations do not support trashing)."""
    if not force_arg():
        raise ApiError(
            "woocommerce_rest_trash_not_supported",
            "The variation does not support trashing.",
            501,
        )
    data = current_store().delete_variation(product_id, variation_id)
    return json_response(_variation_links(product_id, data))


@bp.post("/products/batch")
def batch_products() -> Response:
    """POST /products/batch."""
    store = current_store()
    return run_batch(
        lambda d: _product_out(store.create_product(d)["id"]) or {},
        lambda i, d: (store.update_product(i, d), _product_out(i) or {})[1],
        lambda i: with_links(store.delete_product(i, force=True), f"products/{i}", "products"),
    )


@bp.post("/products/<int:product_id>/variations/batch")
def batch_variations(product_id: int) -> Response:
    """POST /products/<id>/variations/batch."""
    store = current_store()
    return run_batch(
        lambda d: _variation_out(product_id, store.create_variation(product_id, d)["id"]) or {},
        lambda i, d: (
            store.update_variation(product_id, i, d),
            _variation_out(product_id, i) or {},
        )[1],
        lambda i: _variation_links(product_id, store.delete_variation(product_id, i)),
    )
