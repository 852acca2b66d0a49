"""REST routes for /orders/<id>/notes."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from sandbox.woocommerce.errors import ApiError, not_in_enum
from sandbox.woocommerce.rest.http import (
    bp,
    current_store,
    force_arg,
    json_response,
    request_body,
    with_links,
)


def _note_out(order_id: int, note_id: int) -> dict[str, Any] | None:
    data = current_store().note_json(note_id)
    return None if data is None else _note_links(order_id, data)


def _note_links(order_id: int, data: dict[str, Any]) -> dict[str, Any]:
    note_id = data["id"]
    return with_links(
        data,
        f"orders/{order_id}/notes/{note_id}",
        f"orders/{order_id}/notes",
        {"up": f"orders/{order_id}"},
    )


def _require_order(order_id: int) -> None:
    if not current_store().has_order(order_id):
        raise ApiError("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)


@bp.get("/orders/<int:order_id>/notes")
def list_notes(order_id: int) -> Response:
    """GET /orders/<id>/notes (not paginated in WooCommerce)."""
    _require_order(order_id)
    note_type = request.args.get("type", "any")
    if note_type not in ("any", "customer", "internal"):
        raise not_in_enum("type", ("any", "customer", "internal"))
    ids = current_store().order_notes(order_id, note_type)
    return json_response([_note_out(order_id, i) for i in ids])


@bp.post("/orders/<int:order_id>/notes")
def create_note(order_id: int) -> Response:
    """POST /orders/<id>/notes."""
    data = current_store().add_order_note(order_id, request_body())
    return json_response(_note_out(order_id, data["id"]), 201)


@bp.get("/orders/<int:order_id>/notes/<int:note_id>")
def get_note(order_id: int, note_id: int) -> Response:
    """GET /orders/<id>/notes/<note_id>."""
    _require_order(order_id)
    if note_id not in current_store().order_notes(order_id):
        raise ApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return json_response(_note_out(order_id, note_id))


@bp.delete("/orders/<int:order_id>/notes/<int:note_id>")
def delete_note(order_id: int, note_id: int) -> Response:
    """DELETE /orders/<id>/notes/<note_id>?force=true."""
    _require_order(order_id)
    if not force_arg():
        raise ApiError(
            "woocommerce_rest_trash_not_supported",
            "Order notes do not support trashing.",
            501,
        )
    data = current_store().delete_order_note(order_id, note_id)
    return json_response(
        with_links(data, f"orders/{order_id}/notes/{note_id}", f"orders/{order_id}/notes")
    )
