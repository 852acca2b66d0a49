"""`POST /webhooks/<platform>/<store id>`: receive fast, work later.

One route for every platform; the platform's part (`PlatformDriver.webhooks`, e.g.
plugin/platforms/woocommerce/webhooks.py) tells a ping, verifies the signature and parses the
topic and payload into a neutral event. `/webhooks/woocommerce/<store id>`, the delivery URL
every WooCommerce store was given, is this route.

A short guard sequence: size, ping, store and signature (on the raw bytes, before parsing),
topic, payload. A signed payload that is the store's own error instead of the resource
(`StoreSentError`) is answered 200 and recorded nowhere, so the store does not count it as a
failed delivery (WooCommerce disables a webhook after more than five). An unknown or disconnected
store, or one of another platform, is refused exactly like a bad signature (same status, body
and HMAC work), so store ids cannot be enumerated. An accepted event becomes one inbox row
(unique per resource state: its id, its modification moment and its content's fingerprint) and
the answer is 202; the workers' relay then queues its job.
The request never calls the platform nor Redis.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request
from gunicorn.http.errors import ParseException
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from plugin.adapters.sql.privacy import SqlPrivacyStore
from plugin.adapters.sql.stores import StoreChanged
from plugin.adapters.vault import DecryptionFailed
from plugin.platforms.registry import UnknownPlatform
from plugin.ports import Rejected, StoreSentError, Webhooks

if TYPE_CHECKING:
    from app import Backorders

logger = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")

# The HMAC key for a store id that is not a connected store of the platform: the signature is
# checked (and fails) like a known store's, so the answer and its timing do not tell which ids
# exist.
_NO_STORE_SECRET = "backorders-no-such-store-0f8e2c7a9b1d4e6f"  # noqa: S105 - not a secret
INVALID_SIGNATURE = "missing or invalid signature"


class Delivery:
    """`plugin.ports.Delivery` over the request: its raw body and headers."""

    __slots__ = ("body", "_headers")

    def __init__(self, body: bytes, headers: Headers) -> None:
        self.body = body
        self._headers = headers

    def header(self, name: str) -> str | None:
        return self._headers.get(name)


@blueprint.post("/<platform>/<int:store_id>")
def receive(platform: str, store_id: int) -> Response | tuple[Response, int]:
    """Verify, record and enqueue one webhook delivery of a store of `platform`."""
    try:
        return _receive(platform, store_id)
    except Rejected as rejection:
        logger.info(
            "event=webhook_rejected platform=%s store_id=%s status=%s reason=%s",
            platform[:32],
            store_id,
            rejection.status,
            rejection.reason,
        )
        return answer(rejection.status, {"error": rejection.reason})


def _receive(platform: str, store_id: int) -> Response | tuple[Response, int]:
    state: Backorders = current_app.extensions["backorders"]
    try:
        webhooks = state.registry.driver(platform).webhooks
    except UnknownPlatform:
        raise Rejected(404, "unknown platform") from None
    delivery = Delivery(read_body(state.config.max_webhook_bytes), request.headers)

    if webhooks.is_ping(delivery):
        # A store may check a new webhook's URL before saving it (WooCommerce saves it as
        # active only if the answer is 200).
        logger.info("event=webhook_ping store_id=%s", store_id)
        return answer(200, {"ping": True})

    try:
        return _record(state, platform, webhooks, store_id, delivery, fresh=False)
    except StoreChanged:
        # Disconnected, or given a new secret, since this process cached it: decide again on
        # what the database holds now.
        return _record(state, platform, webhooks, store_id, delivery, fresh=True)


def _record(
    state: Backorders,
    platform: str,
    webhooks: Webhooks,
    store_id: int,
    delivery: Delivery,
    *,
    fresh: bool,
) -> Response | tuple[Response, int]:
    """The guards after the ping, and the inbox row of an accepted event.

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
        return answer(503, {"error": "storage unavailable"})
    if target is None or not target.connected or target.platform != platform:
        # Refused like a wrong signature, after the same work: a store's cached secret that
        # fails is checked again after a fresh read (below); this store was just read.
        logger.info("event=webhook_store_unknown store_id=%s", store_id)
        webhooks.verify(_NO_STORE_SECRET, delivery)
        webhooks.verify(_NO_STORE_SECRET, delivery)
        raise Rejected(401, INVALID_SIGNATURE)
    if not webhooks.verify(target.webhook_secret, delivery):
        if not fresh:  # the store may have a new secret since it was cached
            return _record(state, platform, webhooks, store_id, delivery, fresh=True)
        raise Rejected(401, INVALID_SIGNATURE)

    name, topic, ignored, uninstalled_from = webhooks.topic(delivery)
    if uninstalled_from is not None:
        return _uninstalled(state, platform, store_id, uninstalled_from)
    if topic is None:
        kind = "ignored" if ignored else "unknown"
        logger.info("event=webhook_topic_%s store_id=%s topic=%s", kind, store_id, name[:64])
        return answer(204, None)

    try:
        resource = webhooks.parse(topic, delivery)
    except StoreSentError as error:
        logger.warning(
            "event=webhook_store_error store_id=%s topic=%s code=%s status=%s",
            store_id,
            topic,
            error.code,
            error.status,
        )
        return answer(200, {"recorded": False, "store_error": error.code})

    try:
        event_id = state.events.receive(
            store_id,
            str(topic),
            resource.resource_id,
            resource.modified_gmt,
            "webhook",
            fingerprint=resource.fingerprint,
            sealed_secret=None if fresh else target.sealed_secret,
            products=resource.products,
        )
    except SQLAlchemyError:
        logger.exception("event=webhook_store_failed store_id=%s topic=%s", store_id, topic)
        return answer(503, {"error": "storage unavailable"})

    if event_id is None:
        logger.info(
            "event=webhook_duplicate store_id=%s topic=%s resource_id=%s",
            store_id,
            topic,
            resource.resource_id,
        )
        return answer(202, {"duplicate": True})

    # The row is all this request writes: the relay (plugin/adapters/queue/relay.py `run_relay`,
    # in the workers) moves 'pending' rows onto the queue within 20 to 50 ms. So an accepted
    # event waits in the database, not in Redis, and this answer depends on the database alone.
    logger.info(
        "event=webhook_accepted store_id=%s topic=%s resource_id=%s event_id=%s",
        store_id,
        topic,
        resource.resource_id,
        event_id,
    )
    return answer(202, {"event_id": event_id, "duplicate": False})


def _uninstalled(
    state: Backorders, platform: str, store_id: int, account: str
) -> tuple[Response, int]:
    """Our app was uninstalled from the store's account: its token is revoked, so forget it
    and mark the store uninstalled (no inbox event: nothing is left to do with the store). A
    signed delivery naming another account than the store's is refused, so a delivery of one
    shop replayed to another shop's store changes nothing."""
    privacy = SqlPrivacyStore(state.db, state.vault, platform)
    try:
        if store_id not in privacy.stores_for_shop(account):
            raise Rejected(400, "the delivery names another shop than this store's")
        privacy.disconnect(store_id)
    except SQLAlchemyError:
        logger.exception("event=webhook_uninstall_failed store_id=%s", store_id)
        return answer(503, {"error": "storage unavailable"})
    logger.info("event=webhook_uninstalled store_id=%s", store_id)
    return answer(200, {"uninstalled": True})


def read_body(limit: int) -> bytes:
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


def answer(status: int, payload: dict[str, Any] | None) -> tuple[Response, int]:
    if payload is None:
        return Response(status=status), status
    # What `jsonify` gives for these flat objects, without its app-wide provider machinery
    # (a tenth of the request's own cost, issue 7).
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return Response(body + "\n", status=status, mimetype="application/json"), status
