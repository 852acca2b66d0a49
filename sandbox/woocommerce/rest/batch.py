"""The shared runner of the ``/batch`` endpoints (orders, products, variations, webhooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response

from sandbox.woocommerce.errors import ApiError
from sandbox.woocommerce.rest.http import json_response, request_body

# WP_REST_Server: the batch endpoints accept at most 100 objects (orders.md "Batch update").
BATCH_LIMIT = 100


def run_batch(
    create: Callable[[dict[str, Any]], dict[str, Any]],
    update: Callable[[int, dict[str, Any]], dict[str, Any]],
    delete: Callable[[int], dict[str, Any]],
) -> Response:
    """WC_REST_Controller::batch_items: each entry succeeds or carries its own error."""
    body = request_body()
    entries = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
    if entries > BATCH_LIMIT:
        raise ApiError(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            413,
        )
    result: dict[str, list[Any]] = {}

    def run(fn: Callable[..., dict[str, Any]], *args: Any, item_id: int = 0) -> dict[str, Any]:
        try:
            return fn(*args)
        except ApiError as error:
            return {
                "id": item_id,
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": error.status},
                },
            }

    if "create" in body:
        result["create"] = [run(create, entry) for entry in body.get("create") or []]
    if "update" in body:
        result["update"] = [
            run(update, int(entry.get("id", 0)), entry, item_id=int(entry.get("id", 0)))
            for entry in body.get("update") or []
        ]
    if "delete" in body:
        result["delete"] = [
            run(delete, int(item), item_id=int(item)) for item in body.get("delete") or []
        ]
    return json_response(result)
