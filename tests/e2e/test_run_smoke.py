"""`make run` as a user runs it: `python run.py` starts everything, connects the sandbox (and
the Shopify sandbox's demo shop), stops everything on Ctrl-C or SIGTERM, reuses its connections
on restart, and stops the rest when a child dies."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests

import run
from plugin.config import Config
from tests.e2e.helpers import Api, PluginDb, wait_for
from tests.processes import free_port

pytestmark = pytest.mark.e2e

START_DEADLINE = 60.0
STOP_DEADLINE = 30.0


class RunPy:
    """One `python run.py` process with its own output file."""

    def __init__(
        self, home: Path, port: int, sandbox_port: int, shopify_port: int | None = None
    ) -> None:
        self.home = home
        self.port = port
        self.sandbox_port = sandbox_port
        # Explicit: the default (SANDBOX_PORT + 1) may be another test's free port.
        self.shopify_port = shopify_port or free_port()
        self.output = home / f"run-{len(list(home.glob('run-*.log')))}.log"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DATABASE_"))}
        env.update(
            {
                "BACKORDERS_HOME": str(home),
                "PORT": str(port),
                "SANDBOX_PORT": str(sandbox_port),
                "SHOPIFY_SANDBOX_PORT": str(self.shopify_port),
                "WORKERS": "1",
            }
        )
        env.pop("DEVELOPMENT", None)  # run.py implies it
        with open(self.output, "wb") as sink:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, str(run.ROOT / "run.py")],
                cwd=run.ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self.env = env

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_running(self) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, self.text()
            return "Backorders is running." in self.text()

        wait_for(ready, timeout=START_DEADLINE, what="run.py banner")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_DEADLINE)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def shopify_subscriptions(shopify_port: int) -> dict[str, str]:
    """The Shopify sandbox's webhook subscriptions: id -> delivery address."""
    from plugin.platforms.shopify.client import ShopifyClient
    from plugin.platforms.shopify.connect import ShopifyConnection
    from sandbox.shopify.app import DEMO_ACCESS_TOKEN

    client = ShopifyClient(f"http://127.0.0.1:{shopify_port}", DEMO_ACCESS_TOKEN)
    return {i: url for i, _topic, url in ShopifyConnection(client).list_webhooks()}


def _gone(processes: list[psutil.Process]) -> list[tuple[int, str]]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append((process.pid, process.name()))
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "instance"


def test_run_py_starts_connects_and_stops_on_ctrl_c_and_sigterm(home: Path) -> None:
    port, sandbox_port, shopify_port = free_port(), free_port(), free_port()
    first = RunPy(home, port, sandbox_port, shopify_port)
    try:
        first.wait_running()
        children = first.descendants()
        text = first.text()
        assert f"http://127.0.0.1:{port}/signin" in text
        assert f"http://127.0.0.1:{sandbox_port}/" in text
        assert "ck_sandbox_demo" in text  # the demo credentials are printed
        assert "demo@example.com / backorders-demo" in text

        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert (health.status_code, health.json()["status"]) == (200, "ok")

        config = Config.from_env({**first.env, "DEVELOPMENT": "1", "REDIS_URL": ""})
        stores = PluginDb(config).stores
        [store, shop] = sorted(stores.list(), key=lambda s: s.id)
        assert (store.base_url, store.status) == (f"http://127.0.0.1:{sandbox_port}", "connected")
        # The Shopify sandbox's demo shop, connected as a custom app with our subscriptions.
        assert (shop.platform, shop.base_url, shop.status) == (
            "shopify",
            f"http://127.0.0.1:{shopify_port}",
            "connected",
        )
        assert f"shopify storefront:  http://127.0.0.1:{shopify_port}/ (store {shop.id})" in text
        # Our widget on the Shopify storefront too (an app embed block on a real shop).
        shopify_page = requests.get(f"http://127.0.0.1:{shopify_port}/", timeout=5).text
        widget = f'<script src="http://127.0.0.1:{port}/storefront/{shop.id}/widget.js" defer>'
        assert widget in shopify_page
        subscriptions = shopify_subscriptions(shopify_port)
        assert sorted(subscriptions) == sorted(str(i) for i in shop.webhook_ids)
        assert set(subscriptions.values()) == {
            f"http://127.0.0.1:{port}/webhooks/shopify/{shop.id}"
        }
        api = Api(store.base_url, "ck_sandbox_demo", "cs_sandbox_demo")
        hooks = api.webhooks()
        assert sorted(h["id"] for h in hooks) == sorted(store.webhook_ids)
        assert {h["delivery_url"] for h in hooks} == {
            f"http://127.0.0.1:{port}/webhooks/woocommerce/{store.id}"
        }
        assert {h["status"] for h in hooks} == {"active"}
        # The printed demo merchant signs in and sees the connected store.
        session = requests.Session()
        form = session.get(f"http://127.0.0.1:{port}/signin", timeout=5).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        signed_in = session.post(
            f"http://127.0.0.1:{port}/signin",
            data={
                "csrf_token": token.group(1),
                "email": "demo@example.com",
                "password": "backorders-demo",
            },
            timeout=5,
        )
        assert signed_in.status_code == 200
        assert signed_in.url == f"http://127.0.0.1:{port}/stores"
        assert f"/stores/{store.id}/settings" in signed_in.text
        assert f"/stores/{shop.id}/settings" in signed_in.text
        # Data lives in the instance folder.
        assert (home / "backorders.db").exists()
        assert (home / "sandbox").is_dir()
        assert (home / "shopify-sandbox.json").is_file()

        assert first.stop(signal.SIGINT) == 0
        assert _gone(children) == []
    finally:
        first.kill()

    # A restart reuses the connection: same store, same webhooks.
    second = RunPy(home, port, sandbox_port, shopify_port)
    try:
        second.wait_running()
        children = second.descendants()
        [again, shop_again] = sorted(stores.list(), key=lambda s: s.id)
        assert (again.id, again.webhook_ids) == (store.id, store.webhook_ids)
        assert (shop_again.id, shop_again.webhook_ids) == (shop.id, shop.webhook_ids)
        assert sorted(shopify_subscriptions(shopify_port)) == sorted(
            str(i) for i in shop.webhook_ids
        )
        assert sorted(h["id"] for h in api.webhooks()) == sorted(store.webhook_ids)

        assert second.stop(signal.SIGTERM) == 0
        assert _gone(children) == []
    finally:
        second.kill()


def test_a_child_dying_is_reported_and_stops_the_rest(home: Path) -> None:
    runner = RunPy(home, free_port(), free_port())
    try:
        runner.wait_running()
        children = runner.descendants()
        web = next(
            p
            for p in psutil.Process(runner.process.pid).children()
            if "gunicorn" in " ".join(p.cmdline()) and "app:create_app()" in p.cmdline()
        )
        os.killpg(web.pid, signal.SIGKILL)

        assert runner.process.wait(timeout=STOP_DEADLINE) == 1
        assert "web exited unexpectedly" in runner.text()
        wait_for(lambda: _gone(children) == [], timeout=STOP_DEADLINE, what="children stopped")
    finally:
        runner.kill()


def test_the_sandbox_starts_once_and_never_refuses_a_client_that_saw_it_answer(
    home: Path,
) -> None:
    port, sandbox_port = free_port(), free_port()
    storefront = f"http://127.0.0.1:{sandbox_port}/"
    answers: list[int] = []
    refusals: list[str] = []
    done = threading.Event()

    def poll() -> None:
        """From the sandbox's first answer until run.py is up, every request must connect."""
        session = requests.Session()
        while not done.is_set():
            try:
                answers.append(session.get(storefront, timeout=5).status_code)
            except requests.ConnectionError as error:
                if answers:
                    refusals.append(str(error))
            done.wait(0.02)

    runner = RunPy(home, port, sandbox_port)
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        runner.wait_running()
        done.set()
        poller.join(timeout=10)
        assert answers and set(answers) == {200}
        assert refusals == []
        children = psutil.Process(runner.process.pid).children()
        assert len([p for p in children if p.cmdline()[1:3] == ["-m", "sandbox.woocommerce"]]) == 1
        # The storefront loads our widget without a restart; the store id came after the start.
        config = Config.from_env({**runner.env, "DEVELOPMENT": "1", "REDIS_URL": ""})
        [store] = [s for s in PluginDb(config).stores.list() if s.platform == "woocommerce"]
        page = requests.get(storefront, timeout=5).text
        assert f'<script src="http://127.0.0.1:{port}/storefront/{store.id}/widget.js"' in page
        assert runner.text().count("started sandbox") == 1
        assert runner.stop(signal.SIGTERM) == 0
    finally:
        done.set()
        runner.kill()
