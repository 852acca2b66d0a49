"""API key pairs issued through the wc-auth app flow."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.woocommerce.store.db import StoreBase


class ApiKeys(StoreBase):
    """Consumer key pairs (``sandbox/woocommerce/wc_auth.py`` issues them)."""

    def create_api_key(self, *, app_name: str, user_id: str, scope: str) -> dict[str, Any]:
        """Create a key pair as /wc-auth/v1/authorize does when the merchant approves."""
        with self._write():
            record = {
                "id": self._next("key"),
                "key_id": 0,
                "app_name": app_name,
                "user_id": user_id,
                "scope": scope,
                "consumer_key": "ck_" + secrets.token_hex(20),
                "consumer_secret": "cs_" + secrets.token_hex(20),
            }
            record["key_id"] = record["id"]
            self._put("key", record)
        return dict(record)

    def revoke_api_key(self, key_id: int) -> None:
        """Delete a key pair (the app flow revokes keys its callback did not accept)."""
        with self._write():
            self._remove("key", key_id)

    def api_key_secret(self, consumer_key: str) -> tuple[str, str] | None:
        """(secret, scope) for a consumer key issued through the app flow."""
        with self._lock:
            for record in self._tables["key"].values():
                if secrets.compare_digest(record["consumer_key"], consumer_key):
                    return record["consumer_secret"], record["scope"]
        return None
