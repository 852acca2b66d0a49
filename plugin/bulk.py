"""Bulk change of products' `backorders` setting as an RQ job, with progress kept in Redis.

The web side calls `start_bulk_backorders`, which records the job and enqueues
`plugin.bulk.run_bulk_backorders(job_id)` by dotted path on the shared queue; any worker runs it.
Progress (`bulk_status`) is a Redis hash plus a list of per-product outcomes, kept for a day.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable
from typing import Any

import redis
from rq import get_current_job

from plugin.errors import BackordersError

logger = logging.getLogger(__name__)

BACKORDER_VALUES = ("no", "notify", "yes")  # WooCommerce product `backorders` (products.md)
RUN_BULK = "plugin.bulk.run_bulk_backorders"
KEEP_S = 24 * 3600
JOB_TIMEOUT_S = 1800


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _hash(connection: redis.Redis, key: str) -> dict[str, str]:
    raw: dict[Any, Any] = connection.hgetall(key)
    return {_text(k): _text(v) for k, v in raw.items()}


def _key(job_id: str) -> str:
    return f"backorders:bulk:{job_id}"


def _outcomes_key(job_id: str) -> str:
    return f"backorders:bulk:{job_id}:outcomes"


def start_bulk_backorders(
    connection: redis.Redis, store_id: int, product_ids: Iterable[int], value: str
) -> str:
    """Record and enqueue a bulk change; returns the job id."""
    from plugin.dispatch import event_queue

    if value not in BACKORDER_VALUES:
        raise ValueError(f"backorders must be one of {BACKORDER_VALUES}")
    ids = [int(i) for i in product_ids]
    job_id = f"bulk-{uuid.uuid4().hex}"
    pipe = connection.pipeline()
    pipe.hset(
        _key(job_id),
        mapping={
            "store_id": store_id,
            "value": value,
            "product_ids": json.dumps(ids),
            "total": len(ids),
            "done": 0,
            "failed": 0,
            "status": "queued",
        },
    )
    pipe.expire(_key(job_id), KEEP_S)
    pipe.execute()
    event_queue(connection).enqueue_call(
        RUN_BULK,
        args=(job_id,),
        job_id=job_id,
        timeout=JOB_TIMEOUT_S,
        description=f"bulk backorders={value} store {store_id}",
    )
    logger.info("event=bulk_queued job=%s store_id=%s products=%d", job_id, store_id, len(ids))
    return job_id


def bulk_status(connection: redis.Redis, job_id: str) -> dict[str, Any] | None:
    """The job's progress and per-product outcomes, or None when unknown (or expired)."""
    fields = _hash(connection, _key(job_id))
    if not fields:
        return None
    raw: list[Any] = connection.lrange(_outcomes_key(job_id), 0, -1)
    outcomes = [json.loads(o) for o in raw]
    total, done = int(fields["total"]), int(fields["done"])
    return {
        "job_id": job_id,
        "store_id": int(fields["store_id"]),
        "value": fields["value"],
        "status": fields["status"],
        "total": total,
        "done": done,
        "failed": int(fields["failed"]),
        "percent": 100 if total == 0 else int(done * 100 / total),
        "outcomes": outcomes,
    }


def _store_client(store_id: int, connection: redis.Redis) -> Any:
    """The store's REST client, throttled by the shared per-store rate limiter."""
    from plugin.config import Config
    from plugin.connectors.woocommerce.client import WooCommerceClient
    from plugin.crypto import Vault
    from plugin.ratelimit import StoreRateLimiter
    from plugin.storage.db import Database
    from plugin.storage.repositories import StoreRepository

    config = Config.from_env(os.environ)
    db = Database(config.database_url)
    try:
        stores = StoreRepository(db, Vault(config.secret_key))
        store = stores.get(store_id)
        if store is None:
            raise LookupError(f"store {store_id} does not exist")
        credentials = stores.credentials(store_id)
    finally:
        db.dispose()
    return WooCommerceClient(
        credentials.base_url,
        credentials.consumer_key,
        credentials.consumer_secret,
        throttle=StoreRateLimiter(connection, store_id, store.api_rate_limit),
    )


def run_bulk_backorders(job_id: str, *, connection: redis.Redis | None = None) -> dict[str, int]:
    """The job: PUT each product's `backorders`, recording an outcome per product."""
    if connection is None:
        job = get_current_job()
        assert job is not None, "run_bulk_backorders runs inside an RQ job"
        connection = job.connection
    key = _key(job_id)
    data = _hash(connection, key)
    if not data:
        logger.warning("event=bulk_unknown job=%s", job_id)
        return {"done": 0, "failed": 0}
    value = data["value"]
    product_ids = [int(i) for i in json.loads(data["product_ids"])]
    already = int(data["done"])  # a retried job continues where it stopped
    connection.hset(key, "status", "running")
    client = _store_client(int(data["store_id"]), connection)
    failed = int(data["failed"])
    for product_id in product_ids[already:]:
        try:
            product = client.put(f"/products/{product_id}", {"backorders": value})
            outcome = {
                "product_id": product_id,
                "ok": True,
                "message": f"backorders={product.get('backorders', value)}",
            }
        except BackordersError as error:
            failed += 1
            outcome = {"product_id": product_id, "ok": False, "message": f"{error.reason}"}
        pipe = connection.pipeline()
        pipe.rpush(_outcomes_key(job_id), json.dumps(outcome))
        pipe.expire(_outcomes_key(job_id), KEEP_S)
        pipe.hincrby(key, "done", 1)
        pipe.hset(key, "failed", failed)
        pipe.execute()
    connection.hset(key, "status", "finished")
    logger.info(
        "event=bulk_finished job=%s products=%d failed=%d", job_id, len(product_ids), failed
    )
    return {"done": len(product_ids), "failed": failed}
