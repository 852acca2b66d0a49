"""Relay connections as the Admin API pages them: ``first``/``last`` (at most 250), opaque
cursors, ``edges``/``nodes``/``pageInfo``, ``reverse``, and the search ``query`` syntax."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

from sandbox.shopify.shop import iso

MAX_PAGE = 250
SortKey = Callable[[dict[str, Any]], tuple[Any, ...]]


def _cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last": list(key)}).encode()).decode()


def _decode(cursor: str) -> tuple[Any, ...]:
    try:
        return tuple(json.loads(base64.urlsafe_b64decode(cursor.encode()))["last"])
    except (ValueError, KeyError, TypeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from None


def connection(
    items: Sequence[dict[str, Any]],
    args: dict[str, Any],
    sort_key: SortKey,
) -> dict[str, Any]:
    """One page of `items` (in `sort_key` order) for the connection arguments in `args`."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if first is not None and last is not None:
        raise GraphQLError("providing both first and last is not supported")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise GraphQLError(f"The {name} argument must be between 0 and {MAX_PAGE}.")
    ordered = sorted(items, key=sort_key, reverse=bool(args.get("reverse")))
    keyed = [(sort_key(item), item) for item in ordered]
    descending = bool(args.get("reverse"))
    if args.get("after"):
        after = _decode(args["after"])
        keyed = [(k, i) for k, i in keyed if (k < after if descending else k > after)]
    if args.get("before"):
        before = _decode(args["before"])
        keyed = [(k, i) for k, i in keyed if (k > before if descending else k < before)]
    total = len(keyed)
    if first is not None:
        page = keyed[:first]
        has_next, has_previous = total > first, bool(args.get("after"))
    else:
        assert last is not None
        page = keyed[max(0, total - last) :]
        has_next, has_previous = bool(args.get("before")), total > last
    edges = [{"cursor": _cursor(key), "node": item} for key, item in page]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def by_id(item: dict[str, Any]) -> tuple[Any, ...]:
    """Default sort: by numeric id (creation order)."""
    return (int(item["id"].rsplit("/", 1)[1].split("?")[0]),)


# ------------------------------------------------------------------ search syntax
_TERM = re.compile(r"""(-?)(?:(\w+):)?(<=|>=|<|>)?("[^"]*"|'[^']*'|\S+)""")


def parse_query(text: str | None) -> list[tuple[bool, str | None, str, str]]:
    """Shopify search syntax (``updated_at:>'2025-01-01T00:00:00Z' status:open -tag:x``) as
    (negated, field, comparator, value) terms; ``AND`` is implied, ``OR`` is not supported."""
    terms = []
    for negated, name, comparator, value in _TERM.findall(text or ""):
        if not name and value.upper() == "AND":
            continue
        terms.append((negated == "-", name.lower() or None, comparator or ":", value.strip("'\"")))
    return terms


def compare(actual: Any, comparator: str, wanted: Any) -> bool:
    """``field:value`` (equal, or for text, case-insensitive) and the <, <=, >, >= forms."""
    if actual is None:
        return False
    if comparator == ">":
        return bool(actual > wanted)
    if comparator == ">=":
        return bool(actual >= wanted)
    if comparator == "<":
        return bool(actual < wanted)
    if comparator == "<=":
        return bool(actual <= wanted)
    if isinstance(actual, str) and isinstance(wanted, str):
        if wanted.endswith("*"):
            return actual.lower().startswith(wanted[:-1].lower())
        return actual.lower() == wanted.lower()
    return bool(actual == wanted)


def normalize_time(value: str) -> str:
    """A search time value as a stored UTC string, for comparison; a date alone is midnight
    and a time without offset is in the shop's time zone (UTC in the sandbox)."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            text += "T00:00:00"
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid date in search query: {value}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)
