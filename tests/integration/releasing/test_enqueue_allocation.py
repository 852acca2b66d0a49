"""Allocation jobs have one id per store+product: duplicates collapse (real Redis)."""

from __future__ import annotations

import redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from plugin.adapters.queue.jobs import allocation_job_id, enqueue_allocation, event_queue


def test_a_second_enqueue_while_queued_collapses(redis_client: redis.Redis) -> None:
    assert enqueue_allocation(redis_client, 3, "77") is True
    assert enqueue_allocation(redis_client, 3, "77") is False
    assert enqueue_allocation(redis_client, 3, "78") is True

    queue = event_queue(redis_client)
    assert queue.get_job_ids() == ["allocate-3-77", "allocate-3-78"]
    job = Job.fetch("allocate-3-77", connection=redis_client, serializer=JSONSerializer)
    assert (job.func_name, job.args) == ("worker.allocate_product", [3, "77"])  # JSON: a list


def test_a_change_during_a_running_job_queues_one_follow_up(redis_client: redis.Redis) -> None:
    assert enqueue_allocation(redis_client, 3, "77") is True
    job = Job.fetch(allocation_job_id(3, "77"), connection=redis_client, serializer=JSONSerializer)
    job.set_status(JobStatus.STARTED)  # what a worker does when it takes the job
    event_queue(redis_client).remove(job)

    assert enqueue_allocation(redis_client, 3, "77") is True
    assert enqueue_allocation(redis_client, 3, "77") is False
    assert event_queue(redis_client).get_job_ids() == ["allocate-3-77-again"]
