"""Shopify's global ids (`gid://shopify/Order/450789469`) and the numbers the core keeps.

The core and the database keep a Shopify object's number (what REST bodies carry as `id` and
what `X-Shopify-*` webhooks name); GraphQL wants the global id (shopify.dev "Global IDs in
Shopify APIs").
"""

from __future__ import annotations

import re

from plugin.errors import ValidationFailed

_GID = re.compile(r"gid://shopify/([A-Za-z]+)/([0-9]+)(?:\?.*)?")


def gid(kind: str, value: str | int) -> str:
    """The global id of object `kind` number `value` (a global id is returned as it is)."""
    text = str(value).strip()
    if text.startswith("gid://"):
        return text
    if not text.isascii() or not text.isdigit():
        raise ValidationFailed(f"{kind} id {value!r} is not a number", reason="invalid_id")
    return f"gid://shopify/{kind}/{int(text)}"


def number(global_id: str) -> str:
    """The number at the end of a global id."""
    match = _GID.fullmatch(str(global_id))
    if match is None:
        raise ValidationFailed(f"{global_id!r} is not a Shopify global id", reason="invalid_id")
    return match.group(2)
