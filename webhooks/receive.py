"""`POST /webhooks/woocommerce/<store_id>`: receive fast, work later.

A short guard sequence: size, ping, store and signature (on the raw bytes, before parsing),
topic, payload. An unknown or disconnected store is refused exactly like a bad signature (same
status, body and HMAC work), so store ids cannot be enumerated. An accepted event becomes one
inbox row (unique per resource state: its id, its `date_modified_gmt` and its content's
fingerprint) and the answer is 202; the workers' relay then queues its job. The request never
calls the platform nor Redis.
Delivery facts relied on here are in ../shared/reference/woocommerce/README.md ("How a
WooCommerce store delivers webhooks").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from flask import Blueprint, Response, current_app, request
from gunicorn.http.errors import ParseException
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from plugin.adapters.sql.repositories import StoreChanged
from plugin.adapters.vault import DecryptionFailed
from plugin.platforms.woocommerce.fingerprint import order_fingerprint, product_fingerprint
from plugin.platforms.woocommerce.schemas import ResourceStateSchema, summarise
from plugin.platforms.woocommerce.signature import verify

if TYPE_CHECKING:
    from app import Backorders

logger = logging.getLogger(__name__)
WEBHOOK_ID = re.compile(r"[0-9]{1,20}")  # a WordPress post id

blueprint = Blueprint("woocommerce_webhooks", __name__, url_prefix="/webhooks/woocommerce")

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"

# Topics that become inbox events; the payload is the resource as GET /<resource>s/<id> returns
# it (reference woocommerce/README.md), so `id`, `date_modified_gmt` and the fingerprint of its
# content identify its state. Not `X-WC-Webhook-Delivery-ID`: a store derives it from the webhook
# id and the current second (class-wc-webhook.php `WC_Webhook::get_new_delivery_id`), so two
# different deliveries of one webhook within a second carry the same one.
HANDLED_TOPICS = frozenset({"order.created", "order.updated", "product.updated"})
# The fingerprint of each handled topic's resource (the part of the topic before the dot).
FINGERPRINTS = {"order": order_fingerprint, "product": product_fingerprint}
# Topics a store may send that need no work here: answered 204 and logged. `order.deleted`
# carries only {"id": N}; a new product has no backorders yet; restored/deleted resources and
# customers/coupons do not change a split. Reconciliation still sees any order change.
IGNORED_TOPICS = frozenset(
    {
        "order.deleted",
        "order.restored",
        "product.created",
        "product.deleted",
        "product.restored",
    }
)


# Built once: a schema instance is reusable and costs far more to construct than to use.
_RESOURCE_STATE = ResourceStateSchema()

# The HMAC key for a store id that is not a connected store: the signature is checked (and
# fails) like a known store's, so the answer and its timing do not tell which ids exist.
_NO_STORE_SECRET = "backorders-no-such-store-0f8e2c7a9b1d4e6f"  # noqa: S105 - not a secret
INVALID_SIGNATURE = "missing or invalid signature"


class Rejected(Exception):
    """A guard's answer: status code and a short reason (never the payload)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@blueprint.post("/<int:store_id>")
def receive(store_id: int) -> Response | tuple[Response, int]:
    """Verify, record and enqueue one WooCommerce webhook delivery."""
    try:
        return _receive(store_id)
    except Rejected as rejection:
        logger.info(
            "event=webhook_rejected store_id=%s status=%s reason=%s",
            store_id,
            rejection.status,
            rejection.reason,
        )
        return _answer(rejection.status, {"error": rejection.reason})


def _receive(store_id: int) -> Response | tuple[Response, int]:
    state: Backorders = current_app.extensions["backorders"]
    body = _read_body(state.config.max_webhook_bytes)
    signature = request.headers.get(SIGNATURE_HEADER)

    if signature is None and _is_ping(body):
        # The store pings a new webhook with an unsigned form post and saves the webhook as
        # active only if the answer is 200.
        logger.info("event=webhook_ping store_id=%s", store_id)
        return _answer(200, {"ping": True})

    try:
        return _record(state, store_id, body, signature, fresh=False)
    except StoreChanged:
        # Disconnected, or given a new secret, since this process cached it: decide again on
        # what the database holds now.
        return _record(state, store_id, body, signature, fresh=True)


def _record(
    state: Backorders, store_id: int, body: bytes, signature: str | None, *, fresh: bool
) -> Response | tuple[Response, int]:
    """The guards after the ping, and the inbox row and job of an accepted event.

    `fresh=False` takes the store's secret from this process's cache; the inbox insert then
    checks in its own transaction that it is still the store's secret and the store is still
    connected (StoreChanged otherwise), so a cached secret never records an event that the
    database's would refuse.
    """
    try:
        target = state.stores.webhook_target(store_id, fresh=fresh)
    except DecryptionFailed:
        logger.error("event=webhook_secret_unreadable store_id=%s", store_id)
        target = None
    except SQLAlchemyError:
        logger.exception("event=webhook_store_lookup_failed store_id=%s", store_id)
        return _answer(503, {"error": "storage unavailable"})
    if target is None or not target.connected:
        # Refused like a wrong signature, after the same work: a store's cached secret that
        # fails is checked again after a fresh read (below); this store was just read.
        logger.info("event=webhook_store_unknown store_id=%s", store_id)
        verify(_NO_STORE_SECRET, body, signature)
        verify(_NO_STORE_SECRET, body, signature)
        raise Rejected(401, INVALID_SIGNATURE)
    if not verify(target.webhook_secret, body, signature):
        if not fresh:  # the store may have a new secret since it was cached
            return _record(state, store_id, body, signature, fresh=True)
        raise Rejected(401, INVALID_SIGNATURE)

    topic = request.headers.get(TOPIC_HEADER, "").strip()
    if not topic:
        raise Rejected(400, f"missing {TOPIC_HEADER}")
    if topic not in HANDLED_TOPICS:
        kind = "ignored" if topic in IGNORED_TOPICS else "unknown"
        logger.info("event=webhook_topic_%s store_id=%s topic=%s", kind, store_id, topic[:64])
        return _answer(204, None)

    resource_id, modified_gmt, fingerprint = _parse(body, topic)

    try:
        event_id = state.events.receive(
            store_id,
            topic,
            resource_id,
            modified_gmt,
            "webhook",
            fingerprint=fingerprint,
            sealed_secret=None if fresh else target.sealed_secret,
        )
    except SQLAlchemyError:
        logger.exception("event=webhook_store_failed store_id=%s topic=%s", store_id, topic)
        return _answer(503, {"error": "storage unavailable"})

    if event_id is None:
        logger.info(
            "event=webhook_duplicate store_id=%s topic=%s resource_id=%s",
            store_id,
            topic,
            resource_id,
        )
        return _answer(202, {"duplicate": True})

    # The row is all this request writes: the relay (plugin/adapters/queue/relay.py `run_relay`, in
    # the workers) moves 'pending' rows onto the queue within about 50 ms. So an accepted event
    # waits in the database, not in Redis, and this answer depends on the database alone.
    logger.info(
        "event=webhook_accepted store_id=%s topic=%s resource_id=%s event_id=%s",
        store_id,
        topic,
        resource_id,
        event_id,
    )
    return _answer(202, {"event_id": event_id, "duplicate": False})


def _read_body(limit: int) -> bytes:
    """The raw body, at most `limit` bytes; 413 past it (declared length or chunked)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise Rejected(413, f"body larger than {limit} bytes")
    # One byte past the limit, so that reading a body of exactly `limit` bytes to its end does
    # not trip Werkzeug's own 413: when the server terminates the stream (gunicorn sets
    # wsgi.input_terminated), any read at the maximum raises RequestEntityTooLarge.
    request.max_content_length = limit + 1
    chunks: list[bytes] = []
    size = 0
    try:
        stream = request.stream
        while True:
            chunk = stream.read(min(65536, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise Rejected(413, f"body larger than {limit} bytes")
    except RequestEntityTooLarge:
        raise Rejected(413, f"body larger than {limit} bytes") from None
    except (OSError, ValueError, HTTPException, ParseException):
        # The client went away or sent a broken chunked encoding (gunicorn raises its
        # ParseException subclasses, e.g. InvalidChunkSize, from the read; Werkzeug's server
        # raises OSError).
        raise Rejected(400, "unreadable body") from None
    return b"".join(chunks)


def _is_ping(body: bytes) -> bool:
    """`webhook_id=N`, form-encoded: the store checking a new webhook's delivery URL."""
    if len(body) > 64:
        return False
    try:
        form = parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    values = form.get("webhook_id", [])
    # ASCII digits over the whole value (`str.isdigit` also takes "²"), as long as an id may be.
    return (
        set(form) == {"webhook_id"}
        and len(values) == 1
        and WEBHOOK_ID.fullmatch(values[0]) is not None
    )


def _parse(body: bytes, topic: str) -> tuple[str, dt.datetime, str]:
    """The resource id, its `date_modified_gmt` and its content's fingerprint from an order or
    product payload.

    Only `id` and `date_modified_gmt` are validated: the job re-fetches the resource from the
    store and validates that (GUIDE "Re-fetch, then decide"), so a full schema load here would
    only cost time and refuse deliveries for fields nobody reads. The fingerprint hashes the
    few fields a job decides on as they are, whatever their shape.
    """
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Rejected(400, "body is not JSON") from None
    except RecursionError:
        # Arrays or objects nested a few thousand deep exhaust the decoder's stack; no order
        # or product JSON is nested more than a few levels (orders.md, products.md).
        raise Rejected(400, "body is nested too deeply") from None
    except ValueError:
        # A number of more than 4,300 digits: Python refuses to convert it (sys.int_info).
        raise Rejected(400, "body has a number too long to read") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "payload is not a JSON object")
    try:
        data: dict[str, Any] = _RESOURCE_STATE.load(payload)
    except ValidationError as error:
        raise Rejected(400, summarise(error)) from None
    try:
        fingerprint = FINGERPRINTS[topic.partition(".")[0]](payload)
    except RecursionError:
        raise Rejected(400, "body is nested too deeply") from None
    return str(data["id"]), data["date_modified_gmt"], fingerprint


def _answer(status: int, payload: dict[str, Any] | None) -> tuple[Response, int]:
    if payload is None:
        return Response(status=status), status
    # What `jsonify` gives for these flat objects, without its app-wide provider machinery
    # (a tenth of the request's own cost, issue 7).
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return Response(body + "\n", status=status, mimetype="application/json"), status
