"""The connect pages, served over real HTTP next to a live sandbox store: keys form, the
WooCommerce authorize flow with its callback, disconnect; CSRF on every form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.config import Config
from plugin.platforms.woocommerce.connect import WEBHOOK_TOPICS
from tests.integration.connect.conftest import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    LiveSandbox,
    live_sandbox,
    serve,
)

SECRET_KEY = "connect-pages-secret-key-0123456789"


class Plugin:
    """The web app served over HTTP, plus its storage."""

    def __init__(self, url: str, app: Any) -> None:
        self.url = url
        self.app = app
        self.state = app.extensions["backorders"]
        self.http = requests.Session()

    def sign_in(self) -> None:
        """The connect pages need a signed-in merchant (web/auth.py)."""
        from plugin.adapters.sql.merchants import MerchantRepository
        from plugin.usecases.accounts import ensure_demo_merchant

        self.merchant_id = ensure_demo_merchant(
            MerchantRepository(self.state.db), "owner@example.com", "pw-0123456789"
        )
        html = self.http.get(f"{self.url}/signin", timeout=10).text
        response = self.http.post(
            f"{self.url}/signin",
            data={
                "csrf_token": self.token(html=html),
                "email": "owner@example.com",
                "password": "pw-0123456789",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 303

    def page(self) -> str:
        response = self.http.get(f"{self.url}/stores/connect", timeout=10)
        assert response.status_code == 200
        return response.text

    def token(self, field: str = "csrf_token", html: str | None = None) -> str:
        html = html if html is not None else self.page()
        match = re.search(rf'name="{re.escape(field)}"[^>]*value="([^"]+)"', html)
        assert match, field
        return match.group(1)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[LiveSandbox]:
    with live_sandbox(tmp_path / "sandbox") as live:
        yield live


@pytest.fixture
def plugin(tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[Plugin]:
    # PUBLIC_URL must name the server's port: bind the server first, then build the app with
    # its URL (the WSGI callable looks the app up per request).
    holder: dict[str, Any] = {}

    def application(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    with serve(application) as url:
        config = Config.from_env(
            {
                "BACKORDERS_HOME": str(tmp_path / "home"),
                "SECRET_KEY": SECRET_KEY,
                "REDIS_URL": redis_server.url,
                "DEVELOPMENT": "1",
                "PUBLIC_URL": url,
                "LOG_LEVEL": "WARNING",
            }
        )
        holder["app"] = create_app(config)
        plugin = Plugin(url, holder["app"])
        plugin.sign_in()
        yield plugin
        plugin.http.close()
        plugin.state.db.dispose()


def _connect_with_keys(plugin: Plugin, store_url: str, secret: str = CONSUMER_SECRET) -> Any:
    html = plugin.page()
    return plugin.http.post(
        f"{plugin.url}/stores/connect",
        data={
            "action": "keys",
            "keys-csrf_token": plugin.token("keys-csrf_token", html),
            "keys-store_url": store_url,
            "keys-consumer_key": CONSUMER_KEY,
            "keys-consumer_secret": secret,
        },
        allow_redirects=False,
        timeout=30,
    )


def test_connect_with_keys_registers_webhooks_pointing_at_us(
    plugin: Plugin, sandbox: LiveSandbox
) -> None:
    response = _connect_with_keys(plugin, sandbox.url)

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/stores/connect")
    [store] = plugin.state.stores.list()
    assert (store.base_url, store.status) == (sandbox.url, "connected")
    webhooks = sandbox.webhooks()
    assert sorted(w["topic"] for w in webhooks) == sorted(WEBHOOK_TOPICS)
    assert {w["delivery_url"] for w in webhooks} == {
        f"{plugin.url}/webhooks/woocommerce/{store.id}"
    }
    # The store's creation ping reached our webhook endpoint and was answered 200.
    assert {w["pending_delivery"] for w in webhooks} == {False}
    page = plugin.page()
    assert f'id="store-{store.id}"' in page
    assert "connected; its webhooks are registered" in page


def test_the_keys_form_without_csrf_token_is_refused(plugin: Plugin, sandbox: LiveSandbox) -> None:
    plugin.page()
    response = plugin.http.post(
        f"{plugin.url}/stores/connect",
        data={
            "action": "keys",
            "keys-store_url": sandbox.url,
            "keys-consumer_key": CONSUMER_KEY,
            "keys-consumer_secret": CONSUMER_SECRET,
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert "CSRF" in response.text
    assert plugin.state.stores.list() == []
    assert sandbox.webhooks() == []


def test_wrong_keys_show_an_error_and_keep_nothing(plugin: Plugin, sandbox: LiveSandbox) -> None:
    response = _connect_with_keys(plugin, sandbox.url, secret="cs_wrong")
    assert response.status_code == 400
    assert "The store refused these keys" in response.text
    assert "cs_wrong" not in response.text  # the secret is not echoed back
    assert plugin.state.stores.list() == []
    assert sandbox.webhooks() == []


def test_a_private_http_url_is_refused_with_a_message(plugin: Plugin) -> None:
    response = _connect_with_keys(plugin, "http://10.1.2.3:8080")
    assert response.status_code == 400
    assert "only allowed for a store on this machine" in response.text
    assert plugin.state.stores.list() == []


def _start_authorize(plugin: Plugin, store_url: str) -> requests.Response:
    html = plugin.page()
    return plugin.http.post(
        f"{plugin.url}/stores/connect",
        data={
            "action": "authorize",
            "authorize-csrf_token": plugin.token("authorize-csrf_token", html),
            "authorize-store_url": store_url,
        },
        allow_redirects=False,
        timeout=10,
    )


def test_the_authorize_flow_connects_the_store_with_the_keys_it_generated(
    plugin: Plugin, sandbox: LiveSandbox
) -> None:
    started = _start_authorize(plugin, sandbox.url)
    assert started.status_code == 303
    location = urlsplit(started.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{sandbox.url}/wc-auth/v1/authorize"
    )
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    state = params["user_id"]
    assert params == {
        "app_name": "Backorders",
        "scope": "read_write",
        "user_id": state,
        "return_url": f"{plugin.url}/stores/connect",
        "callback_url": f"{plugin.url}/wc-auth/callback/{state}",
    }

    # The merchant approves on the store's page; the store POSTs the keys to our callback.
    merchant = requests.Session()
    approval = merchant.get(started.headers["Location"], timeout=10)
    assert approval.status_code == 200
    granted = merchant.post(
        f"{sandbox.url}/wc-auth/v1/access_granted",
        data={**params, "decision": "approve"},
        allow_redirects=False,
        timeout=30,
    )
    assert granted.status_code == 302
    assert granted.headers["Location"].startswith(f"{plugin.url}/stores/connect?")
    assert "success=1" in granted.headers["Location"]

    [store] = plugin.state.stores.list()
    assert (store.base_url, store.status) == (sandbox.url, "connected")
    credentials = plugin.state.stores.credentials(store.id)
    assert credentials.consumer_key.startswith("ck_")
    assert credentials.consumer_key != CONSUMER_KEY  # the generated pair, not the demo one
    assert sandbox.store.api_key_secret(credentials.consumer_key) == (
        credentials.consumer_secret,
        "read_write",
    )
    assert len(sandbox.webhooks()) == len(WEBHOOK_TOPICS)

    # The state is single-use: replaying the callback connects nothing more.
    replay = requests.post(
        params["callback_url"],
        json={
            "key_id": 99,
            "user_id": state,
            "consumer_key": credentials.consumer_key,
            "consumer_secret": credentials.consumer_secret,
            "key_permissions": "read_write",
        },
        timeout=10,
    )
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_state")
    assert len(plugin.state.stores.list()) == 1
    assert len(sandbox.webhooks()) == len(WEBHOOK_TOPICS)


def test_a_callback_with_a_forged_state_connects_nothing(
    plugin: Plugin, sandbox: LiveSandbox
) -> None:
    forged = "eyJ1IjoiaHR0cDovLzEyNy4wLjAuMTo4MDAxIn0.forged.signature"
    response = requests.post(
        f"{plugin.url}/wc-auth/callback/{forged}",
        json={
            "key_id": 1,
            "user_id": forged,
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "key_permissions": "read_write",
        },
        timeout=10,
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_state")
    assert plugin.state.stores.list() == []
    assert sandbox.webhooks() == []


def test_a_denied_authorization_is_reported(plugin: Plugin) -> None:
    response = plugin.http.get(f"{plugin.url}/stores/connect?success=0&user_id=x", timeout=10)
    assert response.status_code == 200
    assert "denied in WooCommerce; nothing was connected" in response.text


def test_disconnect_deletes_webhooks_and_needs_the_csrf_token(
    plugin: Plugin, sandbox: LiveSandbox
) -> None:
    assert _connect_with_keys(plugin, sandbox.url).status_code == 303
    [store] = plugin.state.stores.list()

    refused = plugin.http.post(f"{plugin.url}/stores/{store.id}/disconnect", timeout=10)
    assert refused.status_code == 400
    assert len(sandbox.webhooks()) == len(WEBHOOK_TOPICS)
    assert plugin.state.stores.get(store.id).status == "connected"  # type: ignore[union-attr]

    response = plugin.http.post(
        f"{plugin.url}/stores/{store.id}/disconnect",
        data={"csrf_token": plugin.token()},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    after = plugin.state.stores.get(store.id)
    assert after is not None
    assert (after.status, after.webhook_ids) == ("disconnected", ())
    assert sandbox.webhooks() == []
    assert "disconnected; its webhooks are deleted" in plugin.page()


def test_with_global_csrf_protection_only_the_callback_is_exempt(
    tmp_path: Path, redis_server: EmbeddedRedis
) -> None:
    from flask_wtf.csrf import CSRFProtect

    config = Config.from_env(
        {
            "BACKORDERS_HOME": str(tmp_path / "home"),
            "SECRET_KEY": SECRET_KEY,
            "REDIS_URL": redis_server.url,
            "DEVELOPMENT": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    app = create_app(config)
    CSRFProtect(app)  # as a later merchant app may do, after the blueprints
    client = app.test_client()

    callback = client.post(
        "/wc-auth/callback/forged",
        json={
            "user_id": "forged",
            "consumer_key": CONSUMER_KEY,
            "consumer_secret": CONSUMER_SECRET,
            "key_permissions": "read_write",
        },
    )
    # Our own answer (the state is refused), not Flask-WTF's CSRF refusal.
    assert (callback.status_code, callback.get_json()["error"]) == (400, "invalid_state")

    form = client.post("/stores/connect", data={"action": "authorize"})
    assert form.status_code == 400
    assert b"CSRF" in form.data
    assert app.extensions["backorders"].stores.list() == []
    app.extensions["backorders"].db.dispose()
