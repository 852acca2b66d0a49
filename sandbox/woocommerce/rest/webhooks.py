"""REST routes for /webhooks (creating one sends the ping)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from sandbox.woocommerce.errors import ApiError, not_in_enum
from sandbox.woocommerce.rest.batch import run_batch
from sandbox.woocommerce.rest.http import (
    bp,
    current_store,
    extensions,
    force_arg,
    json_response,
    paginate,
    request_body,
    with_links,
)


def _webhook_out(webhook_id: int) -> dict[str, Any] | None:
    data = current_store().webhook_json(webhook_id)
    if data is None:
        return None
    return with_links(data, f"webhooks/{webhook_id}", "webhooks")


def _create_webhook(data: dict[str, Any]) -> dict[str, Any]:
    store = current_store()
    created = store.create_webhook(data)
    deliverer = extensions().get("deliverer")
    if deliverer is not None:
        # class-wc-rest-webhooks-v1-controller.php create_item sends the ping and ignores its
        # result: a failed ping neither refuses nor deactivates a webhook created over REST
        # (only the admin screen refuses it). pending_delivery stays set, as in WooCommerce.
        ok = bool(deliverer.ping(store.webhook(created["id"])))
        store.mark_pinged(created["id"], ok)
    return _webhook_out(created["id"]) or {}


@bp.get("/webhooks")
def list_webhooks() -> Response:
    """GET /webhooks."""
    status = request.args.get("status", "all")
    if status not in ("all", "active", "paused", "disabled"):
        raise not_in_enum("status", ("all", "active", "paused", "disabled"))
    return paginate(current_store().list_webhooks(status), _webhook_out)


@bp.post("/webhooks")
def create_webhook() -> Response:
    """POST /webhooks."""
    return json_response(_create_webhook(request_body()), 201)


@bp.get("/webhooks/<int:webhook_id>")
def get_webhook(webhook_id: int) -> Response:
    """GET /webhooks/<id>."""
    data = _webhook_out(webhook_id)
    if data is None:
        raise ApiError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
    return json_response(data)


@bp.route("/webhooks/<int:webhook_id>", methods=["PUT", "PATCH", "POST"])
def update_webhook(webhook_id: int) -> Response:
    """PUT /webhooks/<id>."""
    current_store().update_webhook(webhook_id, request_body())
    return json_response(_webhook_out(webhook_id))


@bp.delete("/webhooks/<int:webhook_id>")
def delete_webhook(webhook_id: int) -> Response:
    """DELETE /webhooks/<id>?force=true (webhooks do not support trashing)."""
    if not force_arg():
        raise ApiError(
            "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501
        )
    data = current_store().delete_webhook(webhook_id)
    return json_response(with_links(data, f"webhooks/{webhook_id}", "webhooks"))


@bp.post("/webhooks/batch")
def batch_webhooks() -> Response:
    """POST /webhooks/batch."""
    store = current_store()
    return run_batch(
        _create_webhook,
        lambda i, d: (store.update_webhook(i, d), _webhook_out(i) or {})[1],
        lambda i: with_links(store.delete_webhook(i), f"webhooks/{i}", "webhooks"),
    )
