"""The jobs registry (plugin/adapters/queue/jobs.py) names functions that exist, once each."""

from __future__ import annotations

import importlib

from plugin.adapters.queue.jobs import JOBS, PERIODIC, JobKind


def test_every_job_names_a_function_the_work_horse_can_import() -> None:
    for kind in JOBS:
        module, _, function = kind.name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), function)), kind.name


def test_each_job_is_registered_once_with_a_timeout() -> None:
    names = [kind.name for kind in JOBS]
    assert len(names) == len(set(names))
    assert all(kind.timeout > 0 for kind in JOBS)
    assert sorted(PERIODIC) == [
        "check_delays_all",
        "reap_abandoned",
        "reconcile_all",
        "requeue_pending",
        "warn_authorisations_all",
    ]


def test_a_kind_without_retries_has_no_retry_policy() -> None:
    kind = JobKind("worker.reconcile_store", 600)
    assert kind.retry() is None
    retry = JobKind("worker.send_mail", 120, (10, 30)).retry()
    assert retry is not None and (retry.max, retry.intervals) == (2, [10, 30])
