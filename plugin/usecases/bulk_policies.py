"""Bulk change of products' backorder setting, carried out by a worker job.

The web side calls `start_bulk_backorders` with the values the store's platform takes (the
products page's choices: `no`/`notify`/`yes` on WooCommerce, `CONTINUE`/`DENY` on Shopify),
which records the job and queues it (the `BulkJobs` port: plugin/adapters/redis/bulk_jobs.py);
any worker runs it (jobs/bulk.py), handing `run_bulk_backorders` here the store's catalogue.
`bulk_status` is the job's progress plus one outcome per product and per variation of a
variable product. The total starts as the number of products and becomes products +
variations once the job has read the products.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from plugin.errors import BackordersError
from plugin.ports import BackorderOutcome, BulkJobs, Catalogue

logger = logging.getLogger(__name__)


def start_bulk_backorders(
    jobs: BulkJobs,
    store_id: int,
    product_ids: Iterable[int],
    value: str,
    *,
    choices: Sequence[str],
) -> str:
    """Record and queue a bulk change to `value`, one of the platform's `choices`; returns
    the job id."""
    if value not in choices:
        raise ValueError(f"backorders must be one of {', '.join(choices)}")
    ids = [int(i) for i in product_ids]
    job_id = jobs.start(store_id, value, ids)
    logger.info("event=bulk_queued job=%s store_id=%s products=%d", job_id, store_id, len(ids))
    return job_id


def bulk_status(jobs: BulkJobs, job_id: str) -> dict[str, Any] | None:
    """The job's progress and per-product outcomes, or None when unknown (or expired)."""
    job = jobs.get(job_id)
    if job is None:
        return None
    return {
        "job_id": job.job_id,
        "store_id": job.store_id,
        "value": job.value,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "error": job.error,
        "percent": 100 if job.total == 0 else int(job.done * 100 / job.total),
        "outcomes": jobs.outcomes(job_id),
    }


def _outcome(outcome: BackorderOutcome) -> dict[str, Any]:
    """An outcome as the job's progress lists it (a product's has no `variation_id`)."""
    item: dict[str, Any] = {"product_id": outcome.product_id}
    if outcome.variation_id is not None:
        item["variation_id"] = outcome.variation_id
    return {**item, "ok": outcome.ok, "message": outcome.message}


def run_bulk_backorders(
    job_id: str, *, jobs: BulkJobs, catalogue_for: Callable[[int], Catalogue]
) -> dict[str, int]:
    """Carry the bulk change out on the store's catalogue (`catalogue_for(store id)`), an
    outcome per product and variation; a retry continues where the last run stopped."""
    job = jobs.get(job_id)
    if job is None:
        logger.warning("event=bulk_unknown job=%s", job_id)
        return {"done": 0, "failed": 0}
    jobs.set_status(job_id, "running")
    catalogue = catalogue_for(job.store_id)
    items = job.items
    if items is None:
        try:
            # Each product, then each of a variable product's variations (one read per 100).
            items = [
                {"product_id": p} if v is None else {"product_id": p, "variation_id": v}
                for p, v in catalogue.expand_products(job.product_ids)
            ]
        except BackordersError as error:
            jobs.set_status(job_id, "failed", f"{error.reason}")
            logger.warning("event=bulk_plan_failed job=%s reason=%s", job_id, error.reason)
            return {"done": 0, "failed": 0}
        jobs.plan(job_id, items)
    failed = job.failed
    # A retried job continues where it stopped.
    pairs = [(int(i["product_id"]), i.get("variation_id")) for i in items[job.done :]]
    for written in catalogue.write_backorders(pairs, job.value):
        outcomes = [_outcome(o) for o in written]
        failed += sum(1 for o in outcomes if not o["ok"])
        jobs.record(job_id, outcomes, failed)
    jobs.set_status(job_id, "finished")
    logger.info(
        "event=bulk_finished job=%s products=%d items=%d failed=%d",
        job_id,
        len(job.product_ids),
        len(items),
        failed,
    )
    return {"done": len(items), "failed": failed}
