"""Queueing the receipt job of purchasing (`purchasing_jobs.carry_out_receipt`)."""

from __future__ import annotations

import redis
from rq import Retry
from rq.exceptions import DuplicateJobError

from plugin.adapters.queue.relay import event_queue

CARRY_OUT_RECEIPT = "purchasing_jobs.carry_out_receipt"
RECEIPT_JOB_TIMEOUT_S = 300
RECEIPT_RETRY_INTERVALS = [5, 15, 30, 60, 120, 300]


def receipt_job_id(store_id: int, receipt_key: str, attempt: int = 1) -> str:
    """One job per receipt (`attempt` counts the merchant's "carry out again")."""
    return f"receipt-{store_id}-{receipt_key.replace(':', '-')}-{attempt}"


def enqueue_receipt(
    connection: redis.Redis, store_id: int, receipt_key: str, attempt: int = 1
) -> bool:
    """Enqueue the receipt job; False when that job exists. Raises redis.RedisError when Redis
    cannot be reached (the receipt stays recorded; the purchase order's page runs it again)."""
    try:
        event_queue(connection).enqueue_call(
            CARRY_OUT_RECEIPT,
            args=(store_id, receipt_key),
            job_id=receipt_job_id(store_id, receipt_key, attempt),
            unique=True,
            retry=Retry(max=len(RECEIPT_RETRY_INTERVALS), interval=RECEIPT_RETRY_INTERVALS),
            timeout=RECEIPT_JOB_TIMEOUT_S,
            failure_ttl=3600,
            description=f"carry out receipt {receipt_key} in store {store_id}",
        )
    except DuplicateJobError:
        return False
    return True
