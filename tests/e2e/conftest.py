"""The whole product as real processes on loopback, started once per session with run.py's
own process management (`run.Stack`): embedded Redis, web app, worker(s), sandbox store.

Fixtures:
- `stack`: the running processes and the connected demo store (session).
- `api`: the sandbox's REST API with the demo keys.
- `shop`: a fresh storefront session (cart and checkout forms, with `requests`).
- `plugin_db`: the plugin's own repositories on the same database.

Each runs on SQLite, and for tests marked `database("sqlite", "postgresql")` on PostgreSQL too
(`DATABASE_URL`, a database in the run's throw-away cluster: tests/postgres.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import run
from tests.conftest import DATABASES
from tests.e2e.helpers import Api, Jobs, PluginDb, Shop, wait_for
from tests.postgres import PostgresServer
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


# Runs last among the tests of its stack: the worker it kills may hold RQ's scheduler lock
# (see the file), and its 1.5 s REST latency slows whatever jobs earlier tests left queued.
_LAST_ON_A_STACK = "tests/e2e/test_worker_crash.py"


@pytest.hookimpl(trylast=True)  # after pytest grouped the tests by their session parameters
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The e2e tests of each stack (database) together, `_LAST_ON_A_STACK` last of them."""
    places = [i for i, item in enumerate(items) if item.get_closest_marker("e2e") is not None]

    def order(item: pytest.Item) -> tuple[int, bool]:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_backend", "") if callspec is not None else ""
        return (
            DATABASES.index(backend) if backend in DATABASES else -1,
            _LAST_ON_A_STACK in item.nodeid,
        )

    ordered = sorted((items[i] for i in places), key=order)
    for place, item in zip(places, ordered, strict=True):
        items[place] = item


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
def stack_database_url(
    database_backend: str, request: pytest.FixtureRequest
) -> Iterator[str | None]:
    """The stack's DATABASE_URL: None for SQLite in its home, else a PostgreSQL database."""
    if database_backend == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()  # empty: the stack migrates it as in production
    yield url
    server.drop_database(url)


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, database_backend: str, stack_database_url: str | None
) -> Iterator[run.Stack]:
    """Start everything in a temporary home; stop it and prove nothing is left behind."""
    home: Path = tmp_path_factory.mktemp(f"home-{database_backend}")
    supervisor = run.Supervisor(log_dir=home / "logs")
    extra_env = {
        "LOG_LEVEL": "INFO",
        # Find the jobs of a killed worker within seconds (worker.py,
        # plugin/adapters/queue/reaper.py).
        "BACKORDERS_HEARTBEAT": "1",
        "BACKORDERS_REAP_INTERVAL": "2",
        "BACKORDERS_REAP_STALE": "4",
        # A test-only platform beside WooCommerce (tests/e2e/test_toyshop.py).
        "BACKORDERS_EXTRA_PLATFORMS": "tests.platforms.toyshop.driver:TOYSHOP",
    }
    if stack_database_url is not None:
        extra_env["DATABASE_URL"] = stack_database_url
    stack = run.Stack(
        home=home,
        port=free_port(),
        sandbox_port=free_port(),
        workers=2,
        supervisor=supervisor,
        extra_env=extra_env,
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
def plugin_db(stack: run.Stack) -> Iterator[PluginDb]:
    repositories = PluginDb(stack.config())
    yield repositories
    repositories.db.dispose()  # before the stack's PostgreSQL database is dropped


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
