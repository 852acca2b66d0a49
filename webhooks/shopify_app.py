"""`POST /webhooks/shopify/compliance`: the app-wide address of Shopify's mandatory compliance
webhooks (`customers/data_request`, `customers/redact`, `shop/redact`).

Shopify sends them for every shop that installed our public app to the one compliance URL set in
the app's configuration, signed (`X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body)
with the app's client secret, and expects a 200; an answer that is not 2xx is retried
(shopify.dev "Privacy law compliance"). The guards, in order: size, signature (raw bytes,
constant time, before anything is parsed), topic and payload (compliance.py), then the erasure
or export in the database (plugin/adapters/sql/privacy.py). A refused delivery changes nothing:
401 for a missing or wrong signature (also when no app is configured), 400 for a payload that is
not what Shopify sends (a shop header and body naming different shops among them), 413 past
MAX_WEBHOOK_BYTES. A shop with no store here is answered 200: nothing is held about it.

Acting twice on one delivery is harmless (what was erased stays erased), so retries are not
deduplicated, except that a data request repeated by a retry adds its alert again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from plugin.adapters.sql.privacy import SqlPrivacyStore
from plugin.adapters.sql.stores import OpenAlerts
from plugin.platforms.shopify import compliance
from plugin.platforms.shopify.webhooks import (
    COMPLIANCE_TOPICS,
    HMAC_HEADER,
    SHOP_HEADER,
    TOPIC_HEADER,
    BadDelivery,
    verify,
)
from plugin.ports import Rejected
from webhooks.receive import INVALID_SIGNATURE, answer, read_body

if TYPE_CHECKING:
    from app import Backorders

logger = logging.getLogger(__name__)

blueprint = Blueprint("shopify_app", __name__, url_prefix="/webhooks/shopify")

# Checked (and failing) when no app is configured, so the answer takes the same work.
_NO_APP_SECRET = "backorders-no-shopify-app-5c1d9e0b7a3f"  # noqa: S105 - not a secret


@blueprint.post("/compliance")
def compliance_webhook() -> tuple[Response, int]:
    """Verify a compliance delivery with the app's client secret and act on it."""
    state: Backorders = current_app.extensions["backorders"]
    try:
        return _receive(state)
    except Rejected as rejection:
        logger.info(
            "event=compliance_rejected status=%s reason=%s", rejection.status, rejection.reason
        )
        return answer(rejection.status, {"error": rejection.reason})


def _receive(state: Backorders) -> tuple[Response, int]:
    body = read_body(state.config.max_webhook_bytes)
    app = state.config.shopify
    secret = app.client_secret if app.is_configured else _NO_APP_SECRET
    if not verify(secret, body, request.headers.get(HMAC_HEADER)) or not app.is_configured:
        raise Rejected(401, INVALID_SIGNATURE)
    topic = (request.headers.get(TOPIC_HEADER) or "").strip()
    if topic not in COMPLIANCE_TOPICS:
        raise Rejected(400, f"{TOPIC_HEADER} is not a compliance topic")
    try:
        parsed = compliance.parse(topic, body, request.headers.get(SHOP_HEADER))
    except BadDelivery as error:
        raise Rejected(400, str(error)) from None
    try:
        outcome = compliance.handle(
            parsed, SqlPrivacyStore(state.db, state.vault), alerts=OpenAlerts(state.stores)
        )
    except SQLAlchemyError:
        # Not answered 200: Shopify delivers it again.
        logger.exception("event=compliance_failed topic=%s", topic)
        return answer(503, {"error": "storage unavailable"})
    logger.info(
        "event=compliance_handled topic=%s stores=%s rows=%s",
        topic,
        len(outcome),
        sum(outcome.values()),
    )
    return answer(200, {"topic": topic, "stores": len(outcome)})
