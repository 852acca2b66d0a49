"""Shopify's Admin GraphQL schema (2025-01), built once from the official introspection JSON.

The JSON is reference material (``../shared/reference/shopify/admin_schema_2025-01.json.gz``,
from ``Shopify/dev-mcp``); it is read from there, never copied into the project. Shopify's
custom scalars get the serialisation Shopify documents for them (``DateTime``: ISO 8601 in UTC,
``Money``/``Decimal``: decimal strings, ``UnsignedInt64``: a string of digits), so a resolver
may return ``datetime``, ``Decimal`` or ``int`` and the response carries Shopify's format.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema, build_client_schema
from graphql.language import FloatValueNode, IntValueNode, StringValueNode, ValueNode

API_VERSION = "2025-01"
_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCHEMA_PATH = (
    _ROOT.parent / "shared" / "reference" / "shopify" / (f"admin_schema_{API_VERSION}.json.gz")
)
_lock = threading.Lock()


def schema_path() -> Path:
    """Where the introspection JSON is read from (``SHOPIFY_ADMIN_SCHEMA`` overrides)."""
    return Path(os.environ.get("SHOPIFY_ADMIN_SCHEMA") or DEFAULT_SCHEMA_PATH)


@cache
def _load(path: Path) -> GraphQLSchema:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        introspection = json.load(handle)
    schema = build_client_schema(introspection.get("data", introspection))
    _configure_scalars(schema)
    return schema


def admin_schema(path: Path | None = None) -> GraphQLSchema:
    """The Admin API schema; raises FileNotFoundError naming the file when it is absent."""
    target = path or schema_path()
    if not target.is_file():
        raise FileNotFoundError(
            f"Shopify Admin schema not found at {target} (set SHOPIFY_ADMIN_SCHEMA)"
        )
    with _lock:  # built once per process, about half a second
        return _load(target)


# ----------------------------------------------------------------------- scalars
def _format_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str) and _ISO.match(value):
        return value
    raise GraphQLError(f"DateTime cannot represent {value!r}")


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_datetime(value: Any) -> datetime:
    """An ISO 8601 date-time input (``2025-01-01T10:00:00Z``), as an aware datetime."""
    if isinstance(value, str) and _ISO.match(value):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC)
    raise GraphQLError(f"invalid date-time '{value}'")


def _format_decimal(value: Any) -> str:
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        try:
            return format(Decimal(str(value)).normalize(), "f") if value != "" else ""
        except InvalidOperation:
            pass
    raise GraphQLError(f"Decimal cannot represent {value!r}")


def _format_money(value: Any) -> str:
    # Shopify's Money/Decimal outputs keep at least one decimal place ("10.0", "12.5").
    text = _format_decimal(value)
    return text if "." in text else text + ".0"


def _parse_decimal(kind: str) -> Any:
    def parse(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise GraphQLError(f"invalid {kind} '{value}'")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise GraphQLError(f"invalid {kind} '{value}'") from None
        if not number.is_finite():
            raise GraphQLError(f"invalid {kind} '{value}'")
        return number

    return parse


def _literal(parse: Any) -> Any:
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
            return parse(node.value)
        raise GraphQLError("expected a string")

    return parse_literal


def _parse_unsigned(value: Any) -> int:
    text = str(value)
    if not text.isdigit():
        raise GraphQLError(f"invalid UnsignedInt64 '{value}'")
    return int(text)


def _parse_url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.I):
        raise GraphQLError(f"invalid URL '{value}'")
    return value


def _configure_scalars(schema: GraphQLSchema) -> None:
    """Give Shopify's custom scalars their documented input and output formats."""
    settings: dict[str, tuple[Any, Any]] = {
        "DateTime": (_format_datetime, parse_datetime),
        "Money": (_format_money, _parse_decimal("money")),
        "Decimal": (_format_money, _parse_decimal("decimal")),
        "UnsignedInt64": (str, _parse_unsigned),
        "URL": (str, _parse_url),
    }
    for name, (serialize, parse_value) in settings.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        scalar.serialize = serialize  # type: ignore[method-assign]
        scalar.parse_value = parse_value  # type: ignore[method-assign]
        scalar.parse_literal = _literal(parse_value)  # type: ignore[method-assign]
