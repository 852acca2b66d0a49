"""A worker killed with SIGKILL in the middle of a split.

This file runs last in the session on purpose: the killed worker may hold RQ's scheduler lock,
and RQ lets another worker's scheduler take over only after its fallback period (120 s), so
retries scheduled meanwhile wait that long (reported to the worker branch)."""

from __future__ import annotations

import signal

import pytest

import run
from tests.e2e.helpers import Api, Jobs, PluginDb, Shop, meta, settle, towel_and_pan, wait_for

# Also on PostgreSQL: one of the representative e2e tests (tests/README.md).
pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite", "postgresql")]

RECOVERY_DEADLINE = 150.0


def test_a_worker_killed_mid_split_leaves_exactly_one_backorder_order(
    stack: run.Stack, api: Api, shop: Shop, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    kept, short = towel_and_pan(api)
    # Jobs earlier tests left (allocation jobs reading every waiting order) would take the
    # workers for seconds per call once REST is slowed, and hold this order's job back.
    wait_for(plugin_db.events_finished, what="earlier events finished")
    wait_for(jobs.idle, what="queue idle", describe=jobs.busy)
    # Slow REST calls so the kill lands while the split is being written: once it is recorded
    # (after 2 reads), the batch and the note still take 3 s.
    run.set_sandbox_faults(stack.sandbox_url, {"latency_ms": 1500})
    order_id, _ = shop.place_order([(kept["id"], 1), (short["id"], 2)], "card")

    # The split has started (planned, the create call may be on its way) and is not done.
    record = wait_for(
        lambda: next(
            (
                r
                for r in plugin_db.ledger.for_order(stack.store_id, str(order_id))
                if r.state != "done"
            ),
            None,
        ),
        timeout=15,
        what="split in progress",
    )
    # Kill the worker whose work horse runs the split (its whole process group: worker, horse,
    # scheduler), as a crash of that machine would.
    busy = _worker_running_a_job(stack, jobs)
    stack.supervisor.kill(busy)
    # The kill did land mid-split.
    [at_kill] = [
        r
        for r in plugin_db.ledger.for_order(stack.store_id, str(order_id))
        if r.split_key == record.split_key
    ]
    assert at_kill.state != "done"
    run.set_sandbox_faults(stack.sandbox_url, {"latency_ms": 0})

    stack.start_worker()  # back to full strength, as a process manager would do

    # Recovery: the abandoned job is found (RQ's registry cleanup when a worker starts, or the
    # periodic reaper) and the split resumes from its ledger state. Should the killed worker
    # have held RQ's scheduler lock, scheduled retries wait for RQ's fallback (120 s).
    wait_for(
        lambda: [
            r
            for r in plugin_db.ledger.for_order(stack.store_id, str(order_id))
            if r.split_key == record.split_key and r.state == "done"
        ],
        timeout=RECOVERY_DEADLINE,
        what="split finished after recovery",
    )
    settle(stack.sandbox_url, plugin_db, jobs, stack.store_id, order_id)
    children = api.children(order_id)
    assert len(children) == 1
    assert meta(children[0], "backorders_split_key") == record.split_key
    assert [li["quantity"] for li in api.order(order_id)["line_items"]] == [1]
    assert busy.process.returncode == -signal.SIGKILL


def _worker_running_a_job(stack: run.Stack, jobs: Jobs) -> run.Child:
    """The supervised worker whose RQ worker is busy with a job right now."""
    from rq import Worker

    def busy() -> run.Child | None:
        pids = {
            w.pid
            for w in Worker.all(connection=jobs.connection)
            if (w.get_current_job_id() or "").startswith("event-")
        }
        return next((c for c in stack.worker_children() if c.is_running() and c.pid in pids), None)

    return wait_for(busy, what="a worker busy with the split")
