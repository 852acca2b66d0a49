"""Bulk changes of the backorder setting (plugin/usecases/bulk_policies.py) kept in Redis: a
hash per job and a list of its outcomes, both kept for a day, and the job queued on the shared
queue as `RUN_BULK` (plugin/adapters/queue/jobs.py)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import redis

from plugin.adapters.queue.jobs import RUN_BULK
from plugin.ports import BulkJob

KEEP_S = 24 * 3600
# What `start` makes; nothing else may name a Redis key (`<id>:outcomes` would read the
# outcomes list as the job's hash: WRONGTYPE).
JOB_ID = re.compile(r"bulk-[0-9a-f]{32}")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _key(job_id: str) -> str:
    return f"backorders:bulk:{job_id}"


def _outcomes_key(job_id: str) -> str:
    return f"backorders:bulk:{job_id}:outcomes"


class RedisBulkJobs:
    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def start(self, store_id: int, value: str, product_ids: list[int]) -> str:
        job_id = f"bulk-{uuid.uuid4().hex}"
        pipe = self.connection.pipeline()
        pipe.hset(
            _key(job_id),
            mapping={
                "store_id": store_id,
                "value": value,
                "product_ids": json.dumps(product_ids),
                "total": len(product_ids),
                "done": 0,
                "failed": 0,
                "status": "queued",
            },
        )
        pipe.expire(_key(job_id), KEEP_S)
        pipe.execute()
        RUN_BULK.enqueue(
            self.connection,
            job_id,
            job_id=job_id,
            description=f"bulk backorders={value} store {store_id}",
        )
        return job_id

    def get(self, job_id: str) -> BulkJob | None:
        if JOB_ID.fullmatch(job_id) is None:
            return None
        raw: dict[Any, Any] = self.connection.hgetall(_key(job_id))
        fields = {_text(k): _text(v) for k, v in raw.items()}
        if not fields:
            return None
        return BulkJob(
            job_id=job_id,
            store_id=int(fields["store_id"]),
            value=fields["value"],
            product_ids=[int(i) for i in json.loads(fields["product_ids"])],
            items=json.loads(fields["items"]) if "items" in fields else None,
            total=int(fields["total"]),
            done=int(fields["done"]),
            failed=int(fields["failed"]),
            status=fields["status"],
            error=fields.get("error", ""),
        )

    def outcomes(self, job_id: str) -> list[dict[str, Any]]:
        if JOB_ID.fullmatch(job_id) is None:
            return []
        raw: list[Any] = self.connection.lrange(_outcomes_key(job_id), 0, -1)
        return [json.loads(o) for o in raw]

    def set_status(self, job_id: str, status: str, error: str = "") -> None:
        self.connection.hset(
            _key(job_id),
            mapping={"status": status, "error": error} if error else {"status": status},
        )

    def plan(self, job_id: str, items: list[dict[str, int]]) -> None:
        self.connection.hset(
            _key(job_id), mapping={"items": json.dumps(items), "total": len(items)}
        )

    def record(self, job_id: str, outcomes: list[dict[str, Any]], failed: int) -> None:
        pipe = self.connection.pipeline()
        if outcomes:
            pipe.rpush(_outcomes_key(job_id), *[json.dumps(o) for o in outcomes])
            pipe.expire(_outcomes_key(job_id), KEEP_S)
        pipe.hincrby(_key(job_id), "done", len(outcomes))
        pipe.hset(_key(job_id), "failed", failed)
        pipe.execute()
