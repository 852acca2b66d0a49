"""WooCommerce-shaped REST errors: ``{"code", "message", "data": {"status"}}`` (introduction.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ApiError(Exception):
    """An error the REST layer turns into WooCommerce's error body and status code."""

    def __init__(
        self, code: str, message: str, status: int = 400, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON body WordPress sends for a WP_Error."""
        return {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.extra},
        }


def invalid_param(
    name: str, reason: str, code: str = "rest_invalid_param", data: Any = None
) -> ApiError:
    """WordPress's ``rest_invalid_param`` for one parameter. WP_REST_Request::has_valid_params
    puts the reason in ``params`` and the validation error itself (``code``, ``message``,
    ``data``, as rest_convert_error_to_response gives it) in ``details``, both by parameter."""
    return ApiError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        {
            "params": {name: reason},
            "details": {name: {"code": code, "message": reason, "data": data}},
        },
    )


def invalid_type(name: str, json_type: str, path: str | None = None) -> ApiError:
    """rest_validate_value_from_schema: a value not of the schema's type; ``path`` names a
    nested value (``line_items[0][quantity]``) of parameter ``name``."""
    where = path or name
    return invalid_param(
        name, f"{where} is not of type {json_type}.", "rest_invalid_type", {"param": where}
    )


def not_in_enum(name: str, values: Sequence[str], path: str | None = None) -> ApiError:
    """rest_validate_enum: a value outside the schema's ``enum``, listed as wp_sprintf_l's
    ``%l`` joins them ("a and b", "a, b, and c"); ``path`` names an item (``status[0]``)."""
    items = list(values)
    if len(items) <= 2:
        listed = " and ".join(items)
    else:
        listed = ", ".join(items[:-1]) + ", and " + items[-1]
    return invalid_param(name, f"{path or name} is not one of {listed}.", "rest_not_in_enum")


def missing_param(*names: str) -> ApiError:
    """WordPress's ``rest_missing_callback_param``."""
    return ApiError(
        "rest_missing_callback_param",
        f"Missing parameter(s): {', '.join(names)}",
        400,
        {"params": list(names)},
    )
