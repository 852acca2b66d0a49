"""The whole product as real processes on loopback, started once per session with run.py's
own process management (`run.Stack`): embedded Redis, web app, worker(s), sandbox store.

Fixtures:
- `stack`: the running processes and the connected demo store (session).
- `api`: the sandbox's REST API with the demo keys.
- `shop`: a fresh storefront session (cart and checkout forms, with `requests`).
- `plugin_db`: the plugin's own repositories on the same SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import run
from tests.e2e.helpers import Api, Jobs, PluginDb, Shop, wait_for
from tests.processes import free_port

DEFAULT_FAULTS = {
    "latency_ms": 0,
    "rate_limit_per_sec": 0,
    "throttle_rate": 0.0,
    "error_rate": 0.0,
    "drop_rate": 0.0,
    "duplicate_rate": 0.0,
    "delay_rate": 0.0,
    "delay_max_ms": 0,
    "fail_next": 0,
    "delivery_delay_ms": 0,
}


def _processes_in_groups(groups: set[int]) -> list[psutil.Process]:
    """Every live process whose process group is one of `groups` (each supervised child leads
    its own group, which keeps its workers, horses and re-parented leftovers)."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) in groups and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return found


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[run.Stack]:
    """Start everything in a temporary home; stop it and prove nothing is left behind."""
    home: Path = tmp_path_factory.mktemp("home")
    supervisor = run.Supervisor(log_dir=home / "logs")
    stack = run.Stack(
        home=home,
        port=free_port(),
        sandbox_port=free_port(),
        workers=2,
        supervisor=supervisor,
        extra_env={
            "LOG_LEVEL": "INFO",
            # Find the jobs of a killed worker within seconds (worker.py, plugin/reaper.py).
            "BACKORDERS_HEARTBEAT": "1",
            "BACKORDERS_REAP_INTERVAL": "2",
            "BACKORDERS_REAP_STALE": "4",
        },
    )
    try:
        stack.start()
    except BaseException:
        supervisor.stop_all()
        _dump_logs(supervisor)
        raise
    try:
        yield stack
    finally:
        groups = {child.pid for child in supervisor.children}
        running = _processes_in_groups(groups)
        left = supervisor.stop_all()
        alive = _processes_in_groups(groups)
        if left or alive:
            _dump_logs(supervisor)
        assert len(running) >= 5  # redis, web (2), workers, sandbox were running until now
        assert [c.name for c in left] == []
        assert [(p.pid, p.name()) for p in alive] == []


def _dump_logs(supervisor: run.Supervisor) -> None:
    for child in supervisor.children:
        print(f"----- {child.name} (exit {child.process.returncode}) -----")
        print(child.log_tail(80))


@pytest.fixture
def api(stack: run.Stack) -> Api:
    assert stack.demo is not None
    return Api(stack.demo.base_url, stack.demo.consumer_key, stack.demo.consumer_secret)


@pytest.fixture
def shop(stack: run.Stack) -> Iterator[Shop]:
    with Shop(stack.sandbox_url) as session:
        yield session


@pytest.fixture(scope="session")
def plugin_db(stack: run.Stack) -> PluginDb:
    return PluginDb(stack.config())


@pytest.fixture(scope="session")
def jobs(stack: run.Stack) -> Iterator[Jobs]:
    queues = Jobs(stack.redis_url)
    yield queues
    queues.close()


@pytest.fixture(autouse=True)
def _healthy_stack(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts and ends with no faults and every process running."""
    if "stack" not in request.fixturenames:
        yield
        return
    stack: run.Stack = request.getfixturevalue("stack")
    run.set_sandbox_faults(stack.sandbox_url, DEFAULT_FAULTS)
    yield
    run.set_sandbox_faults(stack.sandbox_url, DEFAULT_FAULTS)
    dead = stack.supervisor.dead_child()
    if dead is not None:
        _dump_logs(stack.supervisor)
    assert dead is None, f"{dead.name if dead else ''} died during the test"
    # Let the sandbox's delivery thread finish so no event leaks into the next test.
    wait_for(lambda: Api.flush_deliveries(stack.sandbox_url), timeout=10, what="deliveries")
