"""WooCommerce-shaped REST errors: ``{"code", "message", "data": {"status"}}`` (introduction.md)."""

from __future__ import annotations

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


def invalid_param(name: str, reason: str) -> ApiError:
    """WordPress's ``rest_invalid_param`` for one parameter."""
    return ApiError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        {"params": {name: reason}, "details": {}},
    )


def missing_param(*names: str) -> ApiError:
    """WordPress's ``rest_missing_callback_param``."""
    return ApiError(
        "rest_missing_callback_param",
        f"Missing parameter(s): {', '.join(names)}",
        400,
        {"params": list(names)},
    )
