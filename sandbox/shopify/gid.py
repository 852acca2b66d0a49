"""Shopify global ids: ``gid://shopify/<Type>/<number>`` (InventoryLevel adds a query)."""

from __future__ import annotations

import re

from graphql import GraphQLError

_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d+)(\?inventory_item_id=(\d+))?$")


def make(kind: str, number: int) -> str:
    """The gid of object ``number`` of type ``kind``."""
    return f"gid://shopify/{kind}/{number}"


def inventory_level(location_number: int, item_number: int) -> str:
    """An InventoryLevel's gid, which names its location and its inventory item."""
    return f"gid://shopify/InventoryLevel/{location_number}?inventory_item_id={item_number}"


def parse(value: str) -> tuple[str, int]:
    """``(type, number)`` of a gid; GraphQLError "Invalid global id" otherwise (as Shopify)."""
    match = _GID.match(value) if isinstance(value, str) else None
    if match is None:
        raise GraphQLError(f"Invalid global id '{value}'", extensions={"code": "INVALID_ID"})
    return match.group(1), int(match.group(2))


def kind_of(value: str) -> str | None:
    """The type named by a gid, or None when it is not one."""
    match = _GID.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def number(value: str) -> int:
    """The numeric (legacy REST) id inside a gid."""
    return parse(value)[1]
