"""Bulk change of products' `backorders` setting as an RQ job, with progress kept in Redis.

The web side calls `start_bulk_backorders` with the values the store's platform takes (the
products page's choices: `no`/`notify`/`yes` on WooCommerce, `CONTINUE`/`DENY` on Shopify),
which records the job and enqueues `jobs.bulk.run_bulk_backorders(job_id)` (`RUN_BULK`,
plugin/adapters/queue/jobs.py) on the shared queue; any worker runs it, handing
`run_bulk_backorders` here the store's catalogue. Progress (`bulk_status`) is a Redis hash plus
a list of outcomes (one per product, one per variation of a variable product), kept for a day.
The total starts as the number of products and becomes products + variations once the job has
read the products.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import redis

from plugin.errors import BackordersError
from plugin.ports import BackorderOutcome, Catalogue

logger = logging.getLogger(__name__)

KEEP_S = 24 * 3600
# What `start_bulk_backorders` makes; nothing else may name a Redis key (`<id>:outcomes` would
# read the outcomes list as the job's hash: WRONGTYPE).
JOB_ID = re.compile(r"bulk-[0-9a-f]{32}")


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
    connection: redis.Redis,
    store_id: int,
    product_ids: Iterable[int],
    value: str,
    *,
    choices: Sequence[str],
) -> str:
    """Record and enqueue a bulk change to `value`, one of the platform's `choices`; returns
    the job id."""
    from plugin.adapters.queue.jobs import RUN_BULK

    if value not in choices:
        raise ValueError(f"backorders must be one of {', '.join(choices)}")
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
    RUN_BULK.enqueue(
        connection, job_id, job_id=job_id, description=f"bulk backorders={value} store {store_id}"
    )
    logger.info("event=bulk_queued job=%s store_id=%s products=%d", job_id, store_id, len(ids))
    return job_id


def bulk_status(connection: redis.Redis, job_id: str) -> dict[str, Any] | None:
    """The job's progress and per-product outcomes, or None when unknown (or expired)."""
    if JOB_ID.fullmatch(job_id) is None:
        return None
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
        "error": fields.get("error", ""),
        "percent": 100 if total == 0 else int(done * 100 / total),
        "outcomes": outcomes,
    }


def _outcome(outcome: BackorderOutcome) -> dict[str, Any]:
    """An outcome as the job's progress lists it (a product's has no `variation_id`)."""
    item: dict[str, Any] = {"product_id": outcome.product_id}
    if outcome.variation_id is not None:
        item["variation_id"] = outcome.variation_id
    return {**item, "ok": outcome.ok, "message": outcome.message}


def run_bulk_backorders(
    job_id: str, *, connection: redis.Redis, catalogue_for: Callable[[int], Catalogue]
) -> dict[str, int]:
    """Carry the bulk change out on the store's catalogue (`catalogue_for(store id)`), an
    outcome per product and variation; a retry continues where the last run stopped."""
    key = _key(job_id)
    data = _hash(connection, key)
    if not data:
        logger.warning("event=bulk_unknown job=%s", job_id)
        return {"done": 0, "failed": 0}
    value = data["value"]
    product_ids = [int(i) for i in json.loads(data["product_ids"])]
    already = int(data["done"])  # a retried job continues where it stopped
    connection.hset(key, "status", "running")
    catalogue = catalogue_for(int(data["store_id"]))
    if "items" in data:
        items = [dict(i) for i in json.loads(data["items"])]
    else:
        try:
            # Each product, then each of a variable product's variations (one read per 100).
            items = [
                {"product_id": p} if v is None else {"product_id": p, "variation_id": v}
                for p, v in catalogue.expand_products(product_ids)
            ]
        except BackordersError as error:
            connection.hset(key, mapping={"status": "failed", "error": f"{error.reason}"})
            logger.warning("event=bulk_plan_failed job=%s reason=%s", job_id, error.reason)
            return {"done": 0, "failed": 0}
        connection.hset(key, mapping={"items": json.dumps(items), "total": len(items)})
    failed = int(data["failed"])
    pairs = [(int(i["product_id"]), i.get("variation_id")) for i in items[already:]]
    for written in catalogue.write_backorders(pairs, value):
        outcomes = [_outcome(o) for o in written]
        failed += sum(1 for o in outcomes if not o["ok"])
        pipe = connection.pipeline()
        pipe.rpush(_outcomes_key(job_id), *[json.dumps(o) for o in outcomes])
        pipe.expire(_outcomes_key(job_id), KEEP_S)
        pipe.hincrby(key, "done", len(outcomes))
        pipe.hset(key, "failed", failed)
        pipe.execute()
    connection.hset(key, "status", "finished")
    logger.info(
        "event=bulk_finished job=%s products=%d items=%d failed=%d",
        job_id,
        len(product_ids),
        len(items),
        failed,
    )
    return {"done": len(items), "failed": failed}
