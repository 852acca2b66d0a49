"""The whole product on loopback for the end-to-end benchmarks (the runner skips `_` modules).

`running_stack()` starts what `make run` starts, with `run.py`'s own supervisor (`run.Stack`) in
a temporary home on free ports: embedded Redis, SQLite, the web app on gunicorn, RQ worker(s)
and the sandbox store connected to the plugin. It yields a `Rig` with the sandbox's REST API and
the plugin's storage and queue (the e2e tests' helpers), and stops every process afterwards.

The REST calls the plugin made are read back from the workers' logs, where the WooCommerce
client writes one `woocommerce call` line per request (plugin/platforms/woocommerce/client.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select

import run
from plugin.adapters.sql.models import InboxEvent, Split
from tests.e2e.helpers import Api, Jobs, PluginDb
from tests.processes import free_port

NO_FAULTS: dict[str, object] = {
    "latency_ms": 0,
    "rate_limit_per_sec": 0,
    "error_rate": 0.0,
    "drop_rate": 0.0,
    "duplicate_rate": 0.0,
    "delay_rate": 0.0,
    "delay_max_ms": 0,
    "fail_next": 0,
}

_CALL = re.compile(
    r"^at=(?P<at>\S+) .*woocommerce call method=(?P<method>\S+) path=(?P<path>\S+) "
    r"status=(?P<status>\d+) ms=(?P<ms>\d+)"
)
_NUMBER = re.compile(r"/\d+")


@dataclass(frozen=True)
class Call:
    """One REST request of the plugin to the store, as its client logged it."""

    at: dt.datetime  # when the answer came back
    method: str
    path: str
    status: int
    ms: int

    @property
    def started(self) -> dt.datetime:
        return self.at - dt.timedelta(milliseconds=self.ms)

    @property
    def route(self) -> str:
        """`GET /orders/<id>` for `GET /orders/42`: calls grouped by what they do."""
        return f"{self.method} {_NUMBER.sub('/<id>', self.path)}"


def parse_calls(lines: Iterator[str] | list[str]) -> list[Call]:
    """The `woocommerce call` lines among log `lines`, in the order given."""
    calls = []
    for line in lines:
        match = _CALL.match(line)
        if match is None:
            continue
        calls.append(
            Call(
                at=dt.datetime.fromisoformat(match["at"].replace("Z", "+00:00")),
                method=match["method"],
                path=match["path"],
                status=int(match["status"]),
                ms=int(match["ms"]),
            )
        )
    return calls


def routes(calls: list[Call]) -> dict[str, int]:
    """How many calls went to each route, most first."""
    return dict(Counter(c.route for c in calls).most_common())


class Rig:
    """A running stack with the handles a benchmark needs."""

    def __init__(self, stack: run.Stack) -> None:
        assert stack.demo is not None and stack.store_id is not None
        self.stack = stack
        self.store_id = stack.store_id
        self.api = Api(stack.demo.base_url, stack.demo.consumer_key, stack.demo.consumer_secret)
        self.plugin = PluginDb(stack.config())
        self.jobs = Jobs(stack.redis_url)
        # No reconciliation during a benchmark: its calls would mix with the ones measured.
        self.plugin.stores.update(
            self.store_id,
            reconcile_interval_seconds=24 * 3600,
            reconcile_checkpoint=dt.datetime.now(dt.UTC),
        )

    def start_workers(self) -> None:
        """Start the stack's workers (after `running_stack(hold_workers=True)`)."""
        for _ in range(self.stack.workers):
            self.stack.start_worker()

    def idle(self) -> bool:
        """Every inbox event finished and the queue idle (`PluginDb.events_finished`)."""
        return self.plugin.events_finished() and self.jobs.idle()

    def busy(self) -> dict[str, list[Any]]:
        """What keeps `idle` false: unfinished inbox events, jobs not finished."""
        return {**self.plugin.unfinished_events(), **self.jobs.busy()}

    def close(self) -> None:
        self.jobs.close()
        self.plugin.db.dispose()

    # -- settings ------------------------------------------------------------------------------
    def set_faults(self, **faults: object) -> None:
        run.set_sandbox_faults(self.stack.sandbox_url, {**NO_FAULTS, **faults})

    def set_api_rate_limit(self, per_second: float) -> None:
        """The store's `api_rate_limit` setting (the workers' shared GCRA limiter)."""
        self.plugin.stores.update(self.store_id, api_rate_limit=per_second)

    def pause_webhooks(self, *topics: str) -> None:
        """Pause the store's webhooks for `topics` (all when none given): WooCommerce sends
        nothing for a paused webhook."""
        for hook in self.api.webhooks():
            if not topics or hook["topic"] in topics:
                self.api.put(f"/webhooks/{hook['id']}", {"status": "paused"})

    def flush_deliveries(self) -> None:
        if not Api.flush_deliveries(self.stack.sandbox_url, timeout=60):
            raise RuntimeError("the sandbox did not send its queued webhooks within 60 s")

    # -- the plugin's records ------------------------------------------------------------------
    def split_states(self) -> dict[str, int]:
        """Splits of the store by state."""
        with self.plugin.db.session() as session:
            rows = session.execute(
                select(Split.state, func.count())
                .where(Split.store_id == self.store_id)
                .group_by(Split.state)
            ).all()
        return {state: count for state, count in rows}

    def event_statuses(self) -> dict[str, int]:
        """Inbox events of the store by status."""
        with self.plugin.db.session() as session:
            rows = session.execute(
                select(InboxEvent.status, func.count())
                .where(InboxEvent.store_id == self.store_id)
                .group_by(InboxEvent.status)
            ).all()
        return {status: count for status, count in rows}

    def failures(self) -> dict[str, Any]:
        """Failed RQ jobs, failed inbox events and failed splits; all must be empty."""
        return {
            "failed_jobs": self.jobs.failed_ids(),
            "failed_events": self.event_statuses().get("failed", 0),
            "failed_splits": self.split_states().get("failed", 0),
        }

    def require_no_failures(self) -> dict[str, Any]:
        """The failures (all zero), or RuntimeError naming them with the workers' log tails."""
        failures = self.failures()
        if failures["failed_jobs"] or failures["failed_events"] or failures["failed_splits"]:
            raise RuntimeError(f"failures during the benchmark: {failures}\n{self.log_tails()}")
        return {
            "failed_jobs": 0,
            "failed_events": 0,
            "failed_splits": 0,
        }

    # -- logs and processes ------------------------------------------------------------------
    def worker_logs(self) -> list[Path]:
        return [c.log_path for c in self.stack.worker_children() if c.log_path is not None]

    def log_marks(self) -> dict[Path, int]:
        """The current end of each worker log, to read only what is written after it."""
        return {path: path.stat().st_size if path.exists() else 0 for path in self.worker_logs()}

    def calls_since(self, marks: Mapping[Path, int]) -> list[Call]:
        """Every REST call the workers logged after `marks` (all workers), by time."""
        calls: list[Call] = []
        for path in self.worker_logs():
            with path.open("rb") as log:
                log.seek(marks.get(path, 0))
                text = log.read().decode(errors="replace")
            calls.extend(parse_calls(text.splitlines()))
        return sorted(calls, key=lambda c: c.at)

    def log_tails(self) -> str:
        return "\n".join(
            f"----- {c.name} -----\n{c.log_tail(30)}" for c in self.stack.supervisor.children
        )

    def processes(self, name_prefix: str) -> list[psutil.Process]:
        """Live processes of the supervised children named `name_prefix*` (each child leads
        its own process group: gunicorn's arbiter and workers, RQ's worker, scheduler, horse)."""
        groups = {c.pid for c in self.stack.supervisor.children if c.name.startswith(name_prefix)}
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                if process.status() != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) in groups:
                    found.append(process)
        return found


@contextlib.contextmanager
def running_stack(workers: int = 1, *, hold_workers: bool = False, **env: str) -> Iterator[Rig]:
    """The product's processes in a temporary home; everything is stopped on the way out.

    With `hold_workers` no worker is started (events queue up in Redis) until the benchmark
    calls `rig.start_workers()`.
    """
    with tempfile.TemporaryDirectory(prefix="bo-bench-") as folder:
        home = Path(folder)
        supervisor = run.Supervisor(log_dir=home / "logs")
        stack = run.Stack(
            home=home,
            port=free_port(),
            sandbox_port=free_port(),
            workers=workers,
            supervisor=supervisor,
            extra_env={"RECONCILE_INTERVAL": "86400", "LOG_LEVEL": "INFO", **env},
        )
        rig: Rig | None = None
        try:
            if hold_workers:  # Stack.start() without its workers
                home.mkdir(parents=True, exist_ok=True)
                stack.start_redis()
                stack.migrate()
                stack.start_web()
                stack.start_sandbox()
                stack.connect_demo_store()
            else:
                stack.start()
            rig = Rig(stack)
            rig.set_faults()
            yield rig
            supervisor.check()  # a process that died during the run makes the figures void
        except BaseException:
            for child in supervisor.children:
                print(f"----- {child.name} (exit {child.process.returncode}) -----")
                print(child.log_tail(40))
            raise
        finally:
            if rig is not None:
                rig.close()
            left = supervisor.stop_all()
            if left:
                raise RuntimeError(f"could not stop {[c.name for c in left]}")
