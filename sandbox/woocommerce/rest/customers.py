"""REST routes for /customers."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from sandbox.woocommerce.errors import ApiError
from sandbox.woocommerce.rest.http import (
    bp,
    current_store,
    int_list_arg,
    json_response,
    paginate,
    request_body,
    with_links,
)


def _customer_out(customer_id: int) -> dict[str, Any] | None:
    data = current_store().customer_json(customer_id)
    if data is None:
        return None
    return with_links(data, f"customers/{customer_id}", "customers")


@bp.get("/customers")
def list_customers() -> Response:
    """GET /customers."""
    ids = current_store().list_customers(
        email=request.args.get("email"), include=int_list_arg("include")
    )
    if request.args.get("order", "asc") == "desc":
        ids.reverse()
    return paginate(ids, _customer_out)


@bp.post("/customers")
def create_customer() -> Response:
    """POST /customers."""
    data = current_store().create_customer(request_body())
    return json_response(_customer_out(data["id"]), 201)


@bp.get("/customers/<int:customer_id>")
def get_customer(customer_id: int) -> Response:
    """GET /customers/<id>."""
    data = _customer_out(customer_id)
    if data is None:
        raise ApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return json_response(data)
