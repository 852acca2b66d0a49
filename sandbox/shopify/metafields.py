"""Metafields: ``metafieldsSet`` (atomic, up to 25, compare-and-set) and their typed values."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.shopify.shop import Shop
from sandbox.shopify.user_errors import Problem, UserErrors

MAX_PER_CALL = 25  # MetafieldsSetInput: at most 25 metafields per call
OWNER_TYPES = {
    "Order": "ORDER",
    "Product": "PRODUCT",
    "ProductVariant": "PRODUCTVARIANT",
    "Customer": "CUSTOMER",
    "Location": "LOCATION",
}
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _valid_value(kind: str, value: str) -> bool:
    try:
        if kind == "number_integer":
            return re.fullmatch(r"-?\d+", value) is not None
        if kind == "number_decimal":
            return Decimal(value).is_finite()
        if kind == "boolean":
            return value in ("true", "false")
        if kind == "json":
            json.loads(value)
            return True
        if kind == "date":
            date.fromisoformat(value)
            return True
        if kind == "date_time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return True
        if kind == "single_line_text_field":
            return "\n" not in value
        return kind in ("multi_line_text_field", "url", "id", "color")
    except (ValueError, InvalidOperation):
        return False


def json_value(metafield: dict[str, Any]) -> Any:
    """``Metafield.jsonValue``: the value as JSON of its type."""
    kind, value = metafield["type"], metafield["value"]
    if kind == "number_integer":
        return int(value)
    if kind == "boolean":
        return value == "true"
    if kind == "json":
        return json.loads(value)
    return value


def compare_digest(metafield: dict[str, Any]) -> str:
    """``compareDigest``: changes whenever the metafield's value or type changes."""
    text = f"{metafield['id']}|{metafield['type']}|{metafield['value']}|{metafield['updatedAt']}"
    return hashlib.sha256(text.encode()).hexdigest()


def of_owner(shop: Shop, owner_id: str) -> list[dict[str, Any]]:
    """The owner's metafields, oldest first."""
    return [m for m in shop.table("metafields").values() if m["_owner"] == owner_id]


def find(shop: Shop, owner_id: str, namespace: str, key: str) -> dict[str, Any] | None:
    """One metafield of an owner by namespace and key."""
    return next(
        (m for m in of_owner(shop, owner_id) if m["namespace"] == namespace and m["key"] == key),
        None,
    )


def set_metafields(
    shop: Shop, inputs: list[dict[str, Any]], app_namespace: str, where: str = "metafields"
) -> list[dict[str, Any]]:
    """metafieldsSet: create or update each; all or nothing."""
    check(shop, inputs, app_namespace, where)
    return [_apply(shop, data, app_namespace) for data in inputs]


def check(shop: Shop, inputs: list[dict[str, Any]], app_namespace: str, where: str) -> None:
    """Raise UserErrors for inputs metafieldsSet would refuse (an ``ownerId`` of None: an
    owner about to be created)."""
    if len(inputs) > MAX_PER_CALL:
        raise UserErrors(
            Problem(
                [where],
                f"Exceeded the maximum metafields input limit of {MAX_PER_CALL}.",
                "LESS_THAN_OR_EQUAL_TO",
            )
        )
    problems = []
    for index, data in enumerate(inputs):
        problem = _problem(shop, data, app_namespace, [where, str(index)])
        if problem is not None:
            problems.append(replace(problem, element_index=index))
    if problems:
        raise UserErrors(*problems)


def _problem(
    shop: Shop, data: dict[str, Any], app_namespace: str, where: list[str]
) -> Problem | None:
    owner = shop.get(data["ownerId"], *OWNER_TYPES) if data["ownerId"] is not None else None
    if owner is None and data["ownerId"] is not None:
        return Problem([*where, "ownerId"], "Owner does not exist.", "INVALID_VALUE")
    namespace = data.get("namespace") or app_namespace
    key = data["key"]
    if not 3 <= len(namespace) <= 255:
        code = "TOO_SHORT" if len(namespace) < 3 else "TOO_LONG"
        return Problem(
            [*where, "namespace"],
            "Namespace is too short (minimum is 3 characters)"
            if code == "TOO_SHORT"
            else "Namespace is too long (maximum is 255 characters)",
            code,
        )
    if not 2 <= len(key) <= 64:
        code = "TOO_SHORT" if len(key) < 2 else "TOO_LONG"
        return Problem(
            [*where, "key"],
            "Key is too short (minimum is 2 characters)"
            if code == "TOO_SHORT"
            else "Key is too long (maximum is 64 characters)",
            code,
        )
    if not _NAME.match(key) or not _NAME.match(namespace.replace("$app", "app")):
        return Problem([*where, "key"], "Key contains one or more invalid characters.", "INVALID")
    existing = find(shop, owner["id"], namespace, key) if owner is not None else None
    kind = data.get("type") or (existing["type"] if existing else None)
    if not kind:
        return Problem([*where, "type"], "Type can't be blank", "BLANK")
    if kind not in _KNOWN_TYPES:
        return Problem([*where, "type"], f"Type '{kind}' is not a valid type.", "INVALID_TYPE")
    if not _valid_value(kind, data["value"]):
        return Problem([*where, "value"], f"Value is invalid for type {kind}.", "INVALID_VALUE")
    digest = data.get("compareDigest")
    if digest is not None and (existing is None or compare_digest(existing) != digest):
        return Problem(
            [*where, "compareDigest"],
            "The resource has been updated since it was "
            "loaded. Try again with an updated `compareDigest` value.",
            "STALE_OBJECT",
        )
    return None


_KNOWN_TYPES = frozenset(
    {
        "boolean",
        "color",
        "date",
        "date_time",
        "id",
        "json",
        "multi_line_text_field",
        "number_decimal",
        "number_integer",
        "single_line_text_field",
        "url",
    }
)


def _apply(shop: Shop, data: dict[str, Any], app_namespace: str) -> dict[str, Any]:
    namespace = data.get("namespace") or app_namespace
    now = shop.now_iso()
    existing = find(shop, data["ownerId"], namespace, data["key"])
    if existing is not None:
        existing.update(
            value=data["value"], type=data.get("type") or existing["type"], updatedAt=now
        )
        return existing
    owner = shop.get(data["ownerId"])
    assert owner is not None
    return shop.add(
        {
            "__typename": "Metafield",
            "id": shop.new_gid("Metafield"),
            "namespace": namespace,
            "key": data["key"],
            "value": data["value"],
            "type": data["type"],
            "description": None,
            "ownerType": OWNER_TYPES[owner["__typename"]],
            "createdAt": now,
            "updatedAt": now,
            "_owner": owner["id"],
        }
    )
