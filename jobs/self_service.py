"""Jobs of customers' self-service (issue 15): carry out one request a customer made on their
page (plugin/usecases/self_service.py), once, under a fixed job id."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis
from rq import get_current_job

from plugin.adapters.customer_links import CustomerLinks
from plugin.adapters.queue.jobs import CARRY_OUT_REQUEST
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.self_service import SqlCustomerLinks, SqlCustomerRequests
from plugin.errors import PermanentError, RateLimited
from plugin.ports import CancellationRecord, DeliveryPlatform
from plugin.usecases import cancelling, self_service
from plugin.usecases.notifying import PageLink

log = logging.getLogger(__name__)


def request_job_id(store_id: int, key: str) -> str:
    """One job per customer request: its key is fixed, so a second click queues nothing."""
    return f"customer-request-{store_id}-{key.replace(':', '-')}"


def enqueue_request(connection: redis.Redis, store_id: int, key: str) -> bool:
    """Queue `carry_out_request(store_id, key)`; False when that job exists already.
    Raises redis.RedisError when Redis cannot be reached."""
    job = CARRY_OUT_REQUEST.enqueue(
        connection,
        store_id,
        key,
        job_id=request_job_id(store_id, key),
        description=f"customer request {key} in store {store_id}",
    )
    return job is not None


def page_links(db: Database, secret_key: str, public_url: str) -> PageLink:
    """Makes the link to a customer's order page for the split and release e-mails: the
    order's link record is made on first use, and the token carries its current version."""
    signer = CustomerLinks(secret_key)
    records = SqlCustomerLinks(db)

    def page_link(store_id: int, order_id: str, number: str, email: str) -> str:
        record = records.ensure(store_id, order_id, number, signer.digest(email))
        token = signer.token(store_id, order_id, email, record.version)
        return f"{public_url.rstrip('/')}/stores/{store_id}/my-order/{token}"

    return page_link


def cancel_line_for(
    rt: Any, store_id: int, platform: Any, request_key: str | None, *, email: str = ""
) -> Callable[[Mapping[str, Any], str], CancellationRecord | None]:
    """Cancels one backorder line through the merchant's path (plugin/usecases/cancelling.py),
    under its locks, recording who asked: a line asked for before is only carried on."""
    import worker

    ledger = SqlCancellationLedger(rt.db)

    def cancel_line(line: Mapping[str, Any], who: str) -> CancellationRecord | None:
        order_id = str(line["backorder_order_id"])
        units = int(line["units"]) if line.get("units") is not None else None
        key = (
            cancelling.cancel_key(order_id, str(line["line_id"]))
            if units is None
            else cancelling.partial_cancel_key(
                order_id, str(line["line_id"]), units, int(line["waiting"])
            )
        )
        some = f" of {line['waiting']}" if units is not None else ""
        reason = (
            f"The customer cancelled it on their order page ({email})."
            if request_key is not None
            else "Cancelled under the store's delay notice rule."
        )
        asked = ledger.request(
            store_id,
            key,
            backorder_order_id=order_id,
            original_order_id=str(line["original_order_id"]),
            line_id=str(line["line_id"]),
            product_id=str(line["product_id"]),
            variant_id=line.get("variant_id") or None,
            quantity=int(line["quantity"]),
            reason=reason,
            requested_by=who,
            units=units,
        )
        label = worker.order_label(rt, store_id, order_id)
        if asked is not None:
            for audited in (order_id, str(line["original_order_id"])):
                rt.audit.record(
                    store_id, audited, "decision",
                    f"{who} asked to cancel the backorder line of product {line['product_id']} "
                    f"× {line['quantity']}{some} on order {label}.",
                    cancel_key=key, requested_by=email or who, request_key=request_key,
                )  # fmt: skip
        return cancelling.cancel_line(
            store_id,
            key,
            platform=platform,
            cancellations=ledger,
            releases=SqlReleaseLedger(rt.db),
            audit=rt.audit,
            lock=lambda: worker.cancel_locks(rt, store_id, order_id),
            label=label,
        )

    return cancel_line


def carry_out_request(store_id: int, key: str) -> str:
    """Carry out one customer request; returns its state ('failed' when it stopped)."""
    import worker  # the composition root: runtime adapters and store connections

    rt = worker.runtime()
    requests = SqlCustomerRequests(rt.db)
    record = requests.get(store_id, key)
    if record is None:
        return "missing"
    store = rt.stores.get(store_id)
    if store is None or not store.is_connected:
        requests.fail(store_id, key, "the store is not connected")
        return "failed"
    platform, limiter = worker.connect_store(rt, store)
    cancel_line = cancel_line_for(rt, store_id, platform, key, email=record.email)

    try:
        result = self_service.carry_out_request(
            store_id,
            key,
            requests=requests,
            audit=rt.audit,
            platform=platform if isinstance(platform, DeliveryPlatform) else None,
            cancel_line=cancel_line,
        )
    except PermanentError as exc:
        requests.fail(store_id, key, f"{exc.reason}: {exc}")
        rt.audit.record(
            store_id, record.order_id, "error",
            f"A request of {self_service.customer_label(record.email)} failed: {exc}",
            request_key=key,
        )  # fmt: skip
        return "failed"
    except Exception as exc:
        if isinstance(exc, RateLimited) and exc.retry_after:
            limiter.pause(exc.retry_after)
        worker._prepare_retry(exc, None, rt)
        job = get_current_job()
        if job is not None and not job.retries_left:
            requests.fail(store_id, key, f"gave up after retries: {exc}")
        raise
    if result is None:
        return "missing"
    return "failed" if result.error else result.state
