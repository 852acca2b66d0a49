"""Webhooks: REST /webhooks and the delivery bookkeeping (ping, failure count)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sandbox.woocommerce.errors import (
    ApiError,
    invalid_param,
    invalid_type,
    missing_param,
    not_in_enum,
)
from sandbox.woocommerce.store.contract import (
    MAX_CONSECUTIVE_FAILURES,
    TOPIC_HOOKS,
    WEBHOOK_STATUSES,
)
from sandbox.woocommerce.store.rendering import Rendering


class Webhooks(Rendering):
    """Webhook records; delivery itself is ``sandbox/woocommerce/delivery.py``."""

    def create_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /webhooks (the ping is the REST layer's job)."""
        missing = [k for k in ("topic", "delivery_url") if not data.get(k)]
        if missing:
            raise missing_param(*missing)
        self._validate_webhook(data)
        with self._write():
            now = self.now()
            record: dict[str, Any] = {
                "id": self._next("webhook"),
                "name": "",
                "status": "active",
                "topic": "",
                "delivery_url": "",
                "secret": "",
                "api_version": "wp_api_v3",
                "date_created": now,
                "date_modified": now,
                "failure_count": 0,
                "pending_delivery": True,
            }
            self._apply_webhook(record, data)
            if not record["name"]:
                record["name"] = (
                    f"Webhook created on {self._clock().strftime('%b %d, %Y @ %I:%M %p')}"
                )
            if not record["secret"]:
                record["secret"] = secrets.token_hex(16)
            self._put("webhook", record)
        return self.webhook_json(record["id"]) or {}

    def _validate_webhook(self, data: dict[str, Any]) -> None:
        if "topic" in data:
            topic = data["topic"]
            if not isinstance(topic, str) or not (
                topic in TOPIC_HOOKS or topic.startswith("action.")
            ):
                raise ApiError(
                    "woocommerce_rest_webhook_invalid_topic",
                    "Webhook topic is required and must be valid.",
                    400,
                )
        if "delivery_url" in data:
            url = data["delivery_url"]
            if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
                raise invalid_param("delivery_url", "Invalid URL.", "rest_invalid_url")
        if "status" in data and data["status"] not in WEBHOOK_STATUSES:
            raise not_in_enum("status", WEBHOOK_STATUSES)
        for key in ("name", "secret"):
            if key in data and not isinstance(data[key], str):
                raise invalid_type(key, "string")

    def _apply_webhook(self, record: dict[str, Any], data: dict[str, Any]) -> None:
        for key in ("name", "topic", "delivery_url", "secret"):
            if data.get(key) is not None:
                record[key] = data[key]
        if data.get("status"):
            # WC_Webhook::set_status leaves failure_count alone: a re-activated webhook keeps
            # its count until a delivery succeeds.
            record["status"] = data["status"]

    def update_webhook(self, webhook_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """REST PUT /webhooks/<id>."""
        with self._write():
            record = self._tables["webhook"].get(webhook_id)
            if record is None:
                raise ApiError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
            self._validate_webhook(data)
            self._apply_webhook(record, data)
            record["date_modified"] = self.now()
            self._put("webhook", record)
        return self.webhook_json(webhook_id) or {}

    def delete_webhook(self, webhook_id: int) -> dict[str, Any]:
        """REST DELETE /webhooks/<id>?force=true."""
        with self._write():
            if webhook_id not in self._tables["webhook"]:
                raise ApiError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
            before = self.webhook_json(webhook_id) or {}
            self._remove("webhook", webhook_id)
        return before

    def mark_pinged(self, webhook_id: int, success: bool) -> None:
        """Record the creation ping's outcome (WC_Webhook pending_delivery)."""
        with self._write():
            record = self._tables["webhook"].get(webhook_id)
            if record is None or not success:
                return
            record["pending_delivery"] = False
            self._put("webhook", record)

    def webhook(self, webhook_id: int) -> dict[str, Any] | None:
        """The internal webhook record (id, name, status, topic, delivery_url, secret, ...)."""
        with self._lock:
            record = self._tables["webhook"].get(webhook_id)
            return dict(record) if record else None

    def webhooks_for(self, topic: str) -> list[dict[str, Any]]:
        """Active webhooks subscribed to ``topic``."""
        with self._lock:
            return [
                dict(w)
                for w in sorted(self._tables["webhook"].values(), key=lambda w: w["id"])
                if w["status"] == "active" and w["topic"] == topic
            ]

    def list_webhooks(self, status: str = "all") -> list[int]:
        """Webhook ids, newest first, optionally by status."""
        with self._lock:
            return sorted(
                (
                    w["id"]
                    for w in self._tables["webhook"].values()
                    if status == "all" or w["status"] == status
                ),
                reverse=True,
            )

    def record_delivery(self, webhook_id: int, success: bool) -> None:
        """Count a delivery like WC_Webhook::log_delivery/failed_delivery (disable after >5)."""
        with self._write():
            record = self._tables["webhook"].get(webhook_id)
            if record is None:
                return
            if success:
                record["failure_count"] = 0
            else:
                # The agreed contract: the 6th consecutive failure disables ("more than 5").
                # class-wc-webhook.php failed_delivery literally checks the count BEFORE
                # counting the new failure, which disables only on the 7th.
                record["failure_count"] += 1
                if record["failure_count"] > MAX_CONSECUTIVE_FAILURES:
                    record["status"] = "disabled"
            self._put("webhook", record)
