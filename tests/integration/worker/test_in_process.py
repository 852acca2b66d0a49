"""What a job needs is built once per worker process, before the first job (worker.prepare), and
`python worker.py` runs its jobs in that process (plugin/adapters/queue/inprocess.py) instead of
forking a work horse per job; a forked child (RQ's scheduler process, a forking worker's horse)
keeps the adapters and opens connections of its own (bench/worker_cpu.py measures the saving)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from plugin.adapters.queue.jobs import QUEUE_NAME
from tests.integration.worker.conftest import PYTHON, ROOT, Instance, child_env, wait_until


# SQLite only: about RQ and processes, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_the_worker_runs_its_jobs_in_its_own_process(instance: Instance) -> None:
    queue = Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer)
    jobs = [queue.enqueue_call("os.getpid", job_id=f"pid-{n}") for n in range(3)]
    worker = instance.start_worker("w-in-process")

    wait_until(
        lambda: all(job.get_status(refresh=True) == JobStatus.FINISHED for job in jobs),
        30,
        "the three jobs",
    )

    results = [
        Job.fetch(job.id, connection=instance.redis, serializer=JSONSerializer).return_value()
        for job in jobs
    ]
    assert results == [worker.pid, worker.pid, worker.pid]  # no work horse forked per job


# What the child prints: the runtime prepared in the parent, then used in a forked child.
_FORK_PROBE = """
import json, os, sys
import worker
from plugin.adapters.queue.jobs import JOBS

missing_before = sorted(k.name for k in JOBS if k.name.rpartition(".")[0] not in sys.modules)
rt = worker.prepare()
missing_after = sorted(k.name for k in JOBS if k.name.rpartition(".")[0] not in sys.modules)
rt.stores.list()  # the parent now holds a pooled database connection
rt.redis.ping()
parent_pool = rt.db.engine.pool
parent_redis = rt.redis.connection_pool.pid
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    child = worker.runtime()
    facts = {
        "same_adapters": child is rt and child.registry is rt.registry,
        "own_database_pool": child.db.engine.pool is not parent_pool,
        "inherited_connections": child.db.engine.pool.checkedin(),
        "stores_read": len(child.stores.list()),
        "redis_ping": child.redis.ping(),
        "own_redis_pool": child.redis.connection_pool.pid == os.getpid() != parent_redis,
        "runtime_pid": child.pid == os.getpid(),
    }
    os.write(write_end, json.dumps(facts).encode())
    os._exit(0)
os.close(write_end)
facts = json.loads(os.read(read_end, 4096))
os.waitpid(pid, 0)
facts["parent_keeps_its_pool"] = rt.db.engine.pool is parent_pool
facts["parent_stores_read"] = len(rt.stores.list())
facts["parent_redis_ping"] = rt.redis.ping()
print(json.dumps({"missing_before": missing_before, "missing_after": missing_after, **facts}))
"""


def test_a_forked_child_keeps_what_the_parent_prepared_with_connections_of_its_own(
    tmp_path: Path, migrated_database_url: str, redis_url: str, redis_client: redis.Redis
) -> None:
    from plugin.adapters.sql.db import Database

    database = Database(migrated_database_url)
    database.migrate()
    database.dispose()
    env = child_env(
        BACKORDERS_HOME=str(tmp_path),
        DATABASE_URL=migrated_database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="worker-fork-probe-secret-key-0123456789",
        DEVELOPMENT="1",
    )

    finished = subprocess.run(  # noqa: S603 - our interpreter and a fixed probe
        [PYTHON, "-c", _FORK_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert finished.returncode == 0, finished.stderr
    facts = json.loads(finished.stdout.strip().splitlines()[-1])
    # Every job's module is imported by `prepare`, not by the first job of each kind: before
    # it, the jobs that worker.py does not import itself were missing (those of jobs/).
    missing = facts.pop("missing_before")
    assert "jobs.bulk.run_bulk_backorders" in missing
    assert all(name.startswith("jobs.") for name in missing), missing
    assert facts == {
        "missing_after": [],
        "same_adapters": True,
        "own_database_pool": True,
        "inherited_connections": 0,
        "stores_read": 0,
        "redis_ping": True,
        "own_redis_pool": True,
        "runtime_pid": True,
        "parent_keeps_its_pool": True,
        "parent_stores_read": 0,
        "parent_redis_ping": True,
    }
