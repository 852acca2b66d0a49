"""Worker CPU per split and splits per second from one worker, beside an empty RQ job measured
in the same run (target: at most 30 ms of CPU a split and at least 25 splits/s, issue 17).

The real stack on loopback (`bench/_stack.py`): sandbox store, web on gunicorn, one RQ worker
(`python worker.py`: its relay and guardian threads, RQ's scheduler process and the work horses
it forks), embedded Redis, SQLite. With the worker held back, the queue gets N empty jobs
(`os.getpid`, nothing of ours imported or built) and N orders that each need splitting are
placed in the sandbox (an in-stock line and an out-of-stock line that allows backorders); their
`order.created` webhooks are recorded, then every webhook is paused (the splits' own writes
would bring back order webhooks, `split_latency` measures those) and the store's rate limit is
lifted. The worker then starts: it queues the recorded events behind the empty jobs, runs the
empty jobs, then the splits and whatever each split queues (its customer's e-mail).

CPU is the worker process's own (all its threads), that of its reaped children (the work horses,
`RUSAGE_CHILDREN` as psutil reads it) and of its live children (the scheduler, a horse at work),
sampled at three moments: the worker registered, the last empty job finished, the queue idle
with every split done. So the empty jobs' figure is their own and the splits' includes every
job a split causes; the worker's start-up (imports, migrations check) is in neither. A horse
that exits between the two reads of a sample is counted once too little or too much: one job's
CPU over the run, under 1 % at the full size.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil
from rq import Queue
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from bench._stack import Rig, running_stack
from plugin.adapters.queue.jobs import QUEUE_NAME
from tests.e2e.helpers import create_order

ORDERS = 100
EMPTY_JOBS = 100
# `python -m bench --quick`: does it still run. The worker runs empty jobs while it registers,
# before the first sample: enough of them must be left for the sample after it.
QUICK_ORDERS, QUICK_EMPTY_JOBS = 3, 150
TARGET_CPU_MS = 30.0
TARGET_SPLITS_PER_S = 25.0
EMPTY_JOB = "os.getpid"  # importable everywhere, does nothing: RQ's own cost of a job
EMPTY_JOB_PREFIX = "bench-empty-"
POLL_S = 0.01
DEADLINE_S = 600.0


@dataclass(frozen=True)
class Sample:
    """The worker's CPU seconds so far (process, reaped and live children) at a moment."""

    at: float  # time.monotonic()
    cpu_s: float


def worker_cpu(pid: int) -> Sample:
    """CPU seconds of worker `pid`: its own, its reaped children's and its live children's."""
    worker = psutil.Process(pid)
    at = time.monotonic()
    live = 0.0
    # Live children first: a horse reaped in between is then counted (in part) twice rather
    # than missed; either way by at most one job.
    for child in worker.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = child.cpu_times()
            live += times.user + times.system
    own = worker.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system + live
    return Sample(at, total)


def _wait(condition: Callable[[], bool], what: str, rig: Rig) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}: {rig.busy()}\n{rig.log_tails()}")
        if rig.failures()["failed_jobs"]:
            rig.require_no_failures()
        time.sleep(POLL_S)


def _queue_work(rig: Rig, orders: int, empty_jobs: int) -> Queue:
    """N empty jobs in the queue and N orders' events in the inbox, no worker running."""
    queue = Queue(QUEUE_NAME, connection=rig.jobs.connection, serializer=JSONSerializer)
    with rig.jobs.connection.pipeline() as pipe:
        for index in range(empty_jobs):
            queue.enqueue_call(EMPTY_JOB, job_id=f"{EMPTY_JOB_PREFIX}{index}", pipeline=pipe)
        pipe.execute()
    rig.pause_webhooks(*{h["topic"] for h in rig.api.webhooks()} - {"order.created"})
    towel = rig.api.create_product("Bench Towel", price="7.25", stock=100_000)
    pan = rig.api.create_product("Bench Pan", price="54.00", stock=0, backorders="notify")
    for _ in range(orders):
        create_order(rig.api, [(towel["id"], 1), (pan["id"], 1)])
    rig.flush_deliveries()
    rig.pause_webhooks()
    events = rig.event_statuses()
    if events != {"pending": orders}:
        raise RuntimeError(f"expected {orders} recorded events, found {events}")
    return queue


def _finished_empty_jobs(queue: Queue) -> int:
    ids = FinishedJobRegistry(queue=queue).get_job_ids()
    return sum(1 for job_id in ids if job_id.startswith(EMPTY_JOB_PREFIX))


def _no_horse(pid: int) -> bool:
    """No work horse alive (a horse leads a process group of its own; the scheduler does not)."""
    for child in psutil.Process(pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if os.getpgid(child.pid) == child.pid:
                return False
    return True


def per_job(before: Sample, after: Sample, jobs: int) -> dict[str, float]:
    """CPU milliseconds a job and jobs a second between two samples."""
    if jobs <= 0:
        raise RuntimeError("no job ran between the two samples: queue more empty jobs")
    seconds = after.at - before.at
    return {
        "jobs": jobs,
        "seconds": round(seconds, 3),
        "cpu_s": round(after.cpu_s - before.cpu_s, 3),
        "cpu_ms_per_job": round((after.cpu_s - before.cpu_s) * 1000 / jobs, 2),
        "per_s": round(jobs / seconds, 2),
    }


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    orders, empty_jobs = (QUICK_ORDERS, QUICK_EMPTY_JOBS) if quick else (ORDERS, EMPTY_JOBS)
    load_before = os.getloadavg()[0]
    with running_stack(workers=1, hold_workers=True) as rig:
        queue = _queue_work(rig, orders, empty_jobs)
        rig.set_api_rate_limit(100_000)  # no rate limit: the worker's own pace is measured
        rig.start_workers()
        [worker] = rig.stack.worker_children()
        registered = worker_cpu(worker.pid)
        empties_before = _finished_empty_jobs(queue)
        splits_before = rig.split_states().get("done", 0)
        _wait(lambda: _finished_empty_jobs(queue) >= empty_jobs, "the empty jobs", rig)
        empties_done = worker_cpu(worker.pid)
        splits_at_empties_done = rig.split_states().get("done", 0)
        _wait(
            lambda: rig.split_states().get("done", 0) >= orders and rig.idle(),
            "every order split and the queue idle",
            rig,
        )
        _wait(lambda: _no_horse(worker.pid), "the last work horse", rig)
        splits_done = worker_cpu(worker.pid)
        failures = rig.require_no_failures()
        states = rig.split_states()
        if states != {"done": orders}:
            raise RuntimeError(f"expected {orders} splits done, found {states}")
        if splits_before or splits_at_empties_done > 1:
            raise RuntimeError(
                f"splits began before the empty jobs were done ({splits_before}, "
                f"{splits_at_empties_done}): the samples do not separate the two"
            )
        jobs_total = len(FinishedJobRegistry(queue=queue).get_job_ids())
    empty = per_job(registered, empties_done, empty_jobs - empties_before)
    split = per_job(empties_done, splits_done, orders)
    split_jobs = jobs_total - empty_jobs
    ratio = split["cpu_ms_per_job"] / empty["cpu_ms_per_job"]
    result = {
        "orders": orders,
        "empty_jobs": empty_jobs,
        "cpu_ms_per_split": split["cpu_ms_per_job"],
        "splits_per_s": split["per_s"],
        "cpu_ms_per_empty_job": empty["cpu_ms_per_job"],
        "empty_jobs_per_s": empty["per_s"],
        "split_to_empty_cpu_ratio": round(ratio, 2),
        "jobs_per_split": round(split_jobs / orders, 2),
        "split_phase": split,
        "empty_phase": empty,
        "target_cpu_ms_per_split": TARGET_CPU_MS,
        "target_splits_per_s": TARGET_SPLITS_PER_S,
        "cpu_target_met": split["cpu_ms_per_job"] <= TARGET_CPU_MS,
        "rate_target_met": split["per_s"] >= TARGET_SPLITS_PER_S,
        **failures,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    print(
        f"{orders} splits by one worker, no rate limit: {split['cpu_ms_per_job']:.1f} ms of "
        f"worker CPU a split ({split_jobs / orders:.2f} jobs each), {split['per_s']:.1f} "
        f"splits/s (targets <= {TARGET_CPU_MS:g} ms: "
        f"{'met' if result['cpu_target_met'] else 'missed'}, >= {TARGET_SPLITS_PER_S:g}/s: "
        f"{'met' if result['rate_target_met'] else 'missed'})"
    )
    print(
        f"  empty job ({EMPTY_JOB}) in the same run: {empty['cpu_ms_per_job']:.1f} ms of worker "
        f"CPU, {empty['per_s']:.1f} jobs/s -> a split costs {ratio:.1f}x an empty job"
    )
    print(f"  load average {load_before:.2f} before, {result['load_average_after']} after")
    return result


if __name__ == "__main__":
    main()
