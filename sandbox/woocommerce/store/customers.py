"""Customers: creation and listing."""

from __future__ import annotations

from typing import Any

from sandbox.woocommerce.errors import ApiError, invalid_param, missing_param
from sandbox.woocommerce.store.contract import (
    ADDRESS_BILLING,
    ADDRESS_SHIPPING,
)
from sandbox.woocommerce.store.rendering import Rendering


class Customers(Rendering):
    """Customers (REST /customers)."""

    def create_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /customers."""
        email = data.get("email")
        if not email:
            raise missing_param("email")
        if not isinstance(email, str) or "@" not in email:
            raise invalid_param("email", "Invalid email address.", "rest_invalid_email")
        with self._write():
            for other in self._tables["customer"].values():
                if other["email"].lower() == email.lower():
                    raise ApiError(
                        "registration-error-email-exists",
                        "An account is already registered with your email address. Please log in.",
                        400,
                    )
            now = self.now()
            record: dict[str, Any] = {
                "id": self._next("user"),
                "date_created": now,
                "date_modified": now,
                "email": email,
                "first_name": str(data.get("first_name", "")),
                "last_name": str(data.get("last_name", "")),
                "role": "customer",
                "username": str(data.get("username") or email.split("@")[0]),
                "billing": {k: "" for k in ADDRESS_BILLING},
                "shipping": {k: "" for k in ADDRESS_SHIPPING},
                "is_paying_customer": False,
                "meta_data": [],
            }
            for kind in ("billing", "shipping"):
                if isinstance(data.get(kind), dict):
                    for key, value in data[kind].items():
                        if key in record[kind]:
                            record[kind][key] = str(value)
            if isinstance(data.get("meta_data"), list):
                self._update_meta(record["meta_data"], data["meta_data"])
            self._put("customer", record)
            self._emit("customer.created", record["id"])
        return self.customer_json(record["id"]) or {}

    def list_customers(
        self, *, email: str | None = None, include: list[int] | None = None
    ) -> list[int]:
        """Customer ids matching the REST filters, by id ascending (WooCommerce's default)."""
        with self._lock:
            return sorted(
                c["id"]
                for c in self._tables["customer"].values()
                if (not email or c["email"].lower() == email.lower())
                and (not include or c["id"] in include)
            )
