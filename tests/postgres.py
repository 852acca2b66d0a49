"""PostgreSQL for the tests: a throw-away cluster in a temporary folder, or an existing server.

`PostgresServer.start()` runs Debian's `initdb` and `postgres` (from /usr/lib/postgresql/<version>
/bin) in a new temporary folder and talks to it over a unix socket in that folder only: no TCP
port, no system service, nothing left behind (`stop()` shuts it down and deletes the folder; if
the test process dies, Linux stops the server with it). PostgreSQL refuses to run as root, so
under root the server runs as the `postgres` user that Debian's package creates.

`BACKORDERS_TEST_POSTGRES_URL` (`postgresql+psycopg://user:password@host:port/postgres`, a role
that may create databases) uses an existing server instead. Every test gets a database of its
own (`create_database`), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import URL, make_url

URL_ENV = "BACKORDERS_TEST_POSTGRES_URL"
# Set by `make test` (CI): PostgreSQL tests fail instead of skipping when no server starts.
REQUIRE_ENV = "BACKORDERS_REQUIRE_POSTGRES"
DRIVER = "postgresql+psycopg"
START_SECONDS = 30.0
STOP_SECONDS = 15.0
# A zone with a half-hour offset, so a datetime stored or read without its offset shows up as
# a wrong time in the tests rather than passing because the server happens to run in UTC.
SERVER_TIMEZONE = "America/St_Johns"
_BIN_ROOT = Path("/usr/lib/postgresql")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started or reached (the message says why)."""


def required() -> bool:
    """Whether PostgreSQL tests must run (fail rather than skip)."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def find_bindir() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian's layout), or initdb on PATH."""
    found = sorted(
        (path for path in _BIN_ROOT.glob("*/bin") if (path / "initdb").exists()),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path.parent.name)],
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); as root: "
        f"apt-get install -y postgresql, or set {URL_ENV}"
    )


class PostgresServer:
    """A server the tests create their databases on: our own cluster or `URL_ENV`'s."""

    def __init__(self, admin_url: URL, process: subprocess.Popen[bytes] | None, root: Path | None):
        self.admin_url = admin_url
        self._process = process
        self._root = root
        self._names = itertools.count(1)
        self._template: str | None = None  # a database at the newest migration, to copy
        self._version = 0  # server_version_num, e.g. 150018

    @classmethod
    def start(cls) -> PostgresServer:
        """The server of `URL_ENV`, or a new cluster; raises PostgresUnavailable."""
        _require_driver()
        given = os.environ.get(URL_ENV, "").strip()
        if given:
            url = make_url(given).set(drivername=DRIVER)
            server = cls(url, None, None)
            server._wait_ready(time.monotonic() + START_SECONDS)
            return server
        return cls._start_cluster(find_bindir())

    @classmethod
    def _start_cluster(cls, bindir: Path) -> PostgresServer:
        user = _server_user()
        root = Path(tempfile.mkdtemp(prefix="backorders-pg-"))
        try:
            if user is not None:
                os.chown(root, user.pw_uid, user.pw_gid)
            data = root / "data"
            log = root / "server.log"
            _run_as(
                user,
                [
                    str(bindir / "initdb"),
                    "--pgdata", str(data),
                    "--username", "backorders",
                    "--auth", "trust",
                    "--encoding", "UTF8",
                    "--locale", "C.UTF-8",
                    "--no-sync",
                ],
                log,
            )  # fmt: skip
            with open(log, "ab") as output:
                process = subprocess.Popen(  # noqa: S603 - Debian's binary, our arguments
                    [
                        str(bindir / "postgres"),
                        "-D", str(data),
                        "-c", "listen_addresses=",
                        "-c", f"unix_socket_directories={root}",
                        "-c", f"timezone={SERVER_TIMEZONE}",
                        "-c", "max_connections=300",
                        # A throw-away cluster: durability costs time and protects nothing.
                        "-c", "fsync=off",
                        "-c", "synchronous_commit=off",
                        "-c", "full_page_writes=off",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_stop_with_parent,  # noqa: PLW1509 - a prctl before exec
                    **_user_arguments(user),
                )  # fmt: skip
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        url = URL.create(
            DRIVER, username="backorders", database="postgres", query={"host": str(root)}
        )
        server = cls(url, process, root)
        try:
            server._wait_ready(time.monotonic() + START_SECONDS)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self, deadline: float) -> None:
        import psycopg

        conninfo = self._conninfo(self.admin_url)
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise PostgresUnavailable(f"postgres exited at start:\n{self.log_tail()}")
            try:
                with psycopg.connect(conninfo, connect_timeout=5) as connection:
                    self._version = connection.info.server_version
                    return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(
                        f"PostgreSQL at {self.admin_url.render_as_string()} did not answer: "
                        f"{error}\n{self.log_tail()}"
                    ) from error
            time.sleep(0.05)

    def create_database(self, *, migrated: bool = False) -> str:
        """A new database, empty or (`migrated`) at the newest migration; returns its
        SQLAlchemy URL (`postgresql+psycopg://...`)."""
        name = f"backorders_test_{os.getpid()}_{next(self._names)}"
        if migrated:
            # FILE_COPY (PostgreSQL 15+) copies the template's files: quicker than the default
            # (WAL_LOG) for a database this small, and both than migrating again.
            strategy = " STRATEGY FILE_COPY" if self._version >= 150000 else ""
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._migrated()}"{strategy}')
        else:
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self._url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by `create_database`, closing what is still connected to it."""
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _migrated(self) -> str:
        if self._template is None:
            from plugin.adapters.sql.db import Database

            name = f"backorders_template_{os.getpid()}"
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
            database = Database(self._url(name))
            try:
                database.migrate()
            finally:
                database.dispose()  # a template must have no connection while it is copied
            self._template = name
        return self._template

    def _url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def log_tail(self, lines: int = 30) -> str:
        """The end of our cluster's log ('' for a server we did not start)."""
        if self._root is None or not (self._root / "server.log").exists():
            return ""
        text = (self._root / "server.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """Shut our cluster down (fast shutdown) and delete its folder; on a server we did not
        start, drop the template database."""
        process, self._process = self._process, None
        if process is None and self._template is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
        self._template = None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: disconnect clients, then exit
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_SECONDS)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._conninfo(self.admin_url), autocommit=True) as connection:
            connection.execute(sql.encode())

    @staticmethod
    def _conninfo(url: URL) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _require_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError as error:
        raise PostgresUnavailable(
            'psycopg is not installed: pip install -e ".[postgres]"'
        ) from error


def _server_user() -> pwd.struct_passwd | None:
    """None to run as ourselves; under root, Debian's `postgres` user (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no `postgres` user to run PostgreSQL as "
            "(Debian's postgresql package creates it)"
        ) from None


def _user_arguments(user: pwd.struct_passwd | None) -> dict[str, object]:
    if user is None:
        return {}
    return {
        "user": user.pw_uid,
        "group": user.pw_gid,
        "extra_groups": [],
        "env": {**os.environ, "HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name},
    }


def _run_as(user: pwd.struct_passwd | None, argv: list[str], log: Path) -> None:
    with open(log, "ab") as output:
        result = subprocess.run(  # noqa: S603 - Debian's binary, our arguments
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=START_SECONDS * 4,
            **_user_arguments(user),  # type: ignore[arg-type]
        )
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"{argv[0]} failed (exit {result.returncode}):\n{log.read_text(errors='replace')}"
        )


def _stop_with_parent() -> None:
    # If the test process dies without cleaning up, Linux sends the server SIGQUIT (immediate
    # shutdown); the folder stays in the temporary directory.
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGQUIT, 0, 0, 0)  # PR_SET_PDEATHSIG


def lock_waiters(url: str) -> int:
    """How many sessions of the database at `url` wait for a lock another session holds."""
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0
