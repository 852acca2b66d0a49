"""The Shopify connect pages, served over real HTTP next to the Shopify sandbox (in this process):
a custom app's token pasted with its shop, the OAuth install (form, App URL, callback), and each
refusal writing nothing: no store row, no subscription in the shop."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.config import Config
from plugin.platforms.shopify.connect import SCOPES
from plugin.platforms.shopify.webhooks import SUBSCRIBED_TOPICS
from sandbox.shopify import schema
from sandbox.shopify.app import (
    DEMO_ACCESS_TOKEN,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CUSTOM_SECRET,
)
from sandbox.shopify.app import create_app as create_shop
from sandbox.shopify.oauth import signed_query
from tests.functional.connect.test_connect_pages import SECRET_KEY, Plugin
from tests.integration.connect.conftest import serve

SHOP = "backorders-sandbox.myshopify.com"


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url

    def subscriptions(self, token: str = DEMO_ACCESS_TOKEN) -> list[tuple[str, str]]:
        """The webhook subscriptions of the app `token` belongs to (an app sees only its own,
        as on Shopify): (topic, callback URL)."""
        response = requests.post(
            f"{self.url}/admin/api/{schema.API_VERSION}/graphql.json",
            json={
                "query": "{ webhookSubscriptions(first: 100) { nodes { topic "
                "endpoint { ... on WebhookHttpEndpoint { callbackUrl } } } } }"
            },
            headers={"X-Shopify-Access-Token": token},
            timeout=10,
        )
        nodes = response.json()["data"]["webhookSubscriptions"]["nodes"]
        return sorted((n["topic"], n["endpoint"]["callbackUrl"]) for n in nodes)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    if not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")
    shop = create_shop()
    try:
        with serve(shop) as url:
            yield Sandbox(url)
    finally:
        shop.extensions["shopify_sandbox"].deliverer.close()


def _plugin(tmp_path: Path, redis_url: str, sandbox: Sandbox, oauth: bool) -> Iterator[Plugin]:
    holder: dict[str, Any] = {}

    def application(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    with serve(application) as url:
        environ = {
            "BACKORDERS_HOME": str(tmp_path / "home"),
            "SECRET_KEY": SECRET_KEY,
            "REDIS_URL": redis_url,
            "DEVELOPMENT": "1",
            "PUBLIC_URL": url,
            "LOG_LEVEL": "WARNING",
            "SHOPIFY_SHOP_URL": sandbox.url,
        }
        if oauth:
            environ |= {
                "SHOPIFY_CLIENT_ID": DEMO_CLIENT_ID,
                "SHOPIFY_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            }
        holder["app"] = create_app(Config.from_env(environ))
        response = requests.post(
            f"{sandbox.url}/sandbox/shopify/apps/{DEMO_CLIENT_ID}",
            json={"redirect_urls": [f"{url}/connect/shopify/callback"]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        plugin = Plugin(url, holder["app"])
        plugin.sign_in()
        yield plugin
        plugin.http.close()
        plugin.state.db.dispose()


@pytest.fixture
def plugin(tmp_path: Path, redis_server: EmbeddedRedis, sandbox: Sandbox) -> Iterator[Plugin]:
    yield from _plugin(tmp_path, redis_server.url, sandbox, oauth=True)


def shopify_page(plugin: Plugin) -> str:
    response = plugin.http.get(f"{plugin.url}/stores/connect/shopify", timeout=10)
    assert response.status_code == 200
    return response.text


def post_form(plugin: Plugin, action: str, **fields: str) -> requests.Response:
    html = shopify_page(plugin)
    data = {"action": action, f"{action}-csrf_token": plugin.token(f"{action}-csrf_token", html)}
    data |= {f"{action}-{name}": value for name, value in fields.items()}
    return plugin.http.post(
        f"{plugin.url}/stores/connect/shopify", data=data, allow_redirects=False, timeout=30
    )


def paste_token(plugin: Plugin, **changes: str) -> requests.Response:
    fields = {"shop": SHOP, "access_token": DEMO_ACCESS_TOKEN, "api_secret": DEMO_CUSTOM_SECRET}
    return post_form(plugin, "token", **(fields | changes))


def expected_subscriptions(plugin: Plugin, store_id: int) -> list[tuple[str, str]]:
    url = f"{plugin.url}/webhooks/shopify/{store_id}"
    return sorted((t.replace("/", "_").upper(), url) for t in SUBSCRIBED_TOPICS)


def assert_nothing_written(plugin: Plugin, sandbox: Sandbox) -> None:
    assert plugin.state.stores.list() == []
    assert sandbox.subscriptions() == []


def test_the_connect_page_offers_shopify_beside_woocommerce(plugin: Plugin) -> None:
    woocommerce = plugin.http.get(f"{plugin.url}/stores/connect", timeout=10).text
    assert 'href="/stores/connect/shopify" id="tab-shopify"' in woocommerce
    page = shopify_page(plugin)
    assert 'id="install-form"' in page and 'id="token-form"' in page
    assert f"{plugin.url}/connect/shopify/callback" in page
    assert f"{plugin.url}/webhooks/shopify/compliance" in page


def test_a_pasted_token_connects_the_shop_and_registers_its_webhooks(
    plugin: Plugin, sandbox: Sandbox
) -> None:
    response = paste_token(plugin)

    assert (response.status_code, response.headers["Location"]) == (303, "/stores/connect/shopify")
    [store] = plugin.state.stores.list()
    assert (store.platform, store.name, store.base_url, store.status) == (
        "shopify",
        SHOP,
        sandbox.url,
        "connected",
    )
    assert store.merchant_id == plugin.merchant_id
    credentials = plugin.state.stores.credentials(store.id)
    assert (credentials.consumer_key, credentials.consumer_secret, credentials.webhook_secret) == (
        SHOP,
        DEMO_ACCESS_TOKEN,
        DEMO_CUSTOM_SECRET,
    )
    assert sandbox.subscriptions() == expected_subscriptions(plugin, store.id)
    assert len(store.webhook_ids) == len(SUBSCRIBED_TOPICS)
    page = shopify_page(plugin)
    assert f"Shop {SHOP} connected as store {store.id}" in page
    assert f'id="store-{store.id}"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shop": "shop.example.com"}, "is not a Shopify shop name"),
        ({"shop": f"{SHOP}.evil.example"}, "is not a Shopify shop name"),
        ({"shop": f"https://{SHOP}/admin"}, "is not a Shopify shop name"),
        ({"access_token": "shpat_wrong"}, "the access token was refused"),
        ({"shop": "another-shop.myshopify.com"}, f"belongs to {SHOP}, not to another-shop"),
        ({"api_secret": ""}, "This field is required."),
    ],
)
def test_a_refused_token_form_says_why_and_writes_nothing(
    plugin: Plugin, sandbox: Sandbox, changes: dict[str, str], message: str
) -> None:
    response = paste_token(plugin, **changes)
    assert response.status_code == 400
    assert message in response.text
    assert DEMO_ACCESS_TOKEN not in response.text and DEMO_CUSTOM_SECRET not in response.text
    assert_nothing_written(plugin, sandbox)


def test_a_shop_connected_already_is_refused_and_keeps_its_store(
    plugin: Plugin, sandbox: Sandbox
) -> None:
    assert paste_token(plugin).status_code == 303
    [store] = plugin.state.stores.list()

    again = paste_token(plugin)

    assert again.status_code == 400
    assert f"{SHOP} is connected already as store {store.id}; disconnect it first." in again.text
    assert plugin.state.stores.list() == [store]
    assert sandbox.subscriptions() == expected_subscriptions(plugin, store.id)


def test_the_forms_without_a_csrf_token_are_refused(plugin: Plugin, sandbox: Sandbox) -> None:
    shopify_page(plugin)
    for data in (
        {"action": "token", "token-shop": SHOP, "token-access_token": DEMO_ACCESS_TOKEN,
         "token-api_secret": DEMO_CUSTOM_SECRET},
        {"action": "install", "install-shop": SHOP},
    ):  # fmt: skip
        response = plugin.http.post(
            f"{plugin.url}/stores/connect/shopify", data=data, allow_redirects=False, timeout=10
        )
        assert response.status_code == 400
        assert "CSRF" in response.text
    assert_nothing_written(plugin, sandbox)


def start_install(plugin: Plugin, sandbox: Sandbox) -> dict[str, str]:
    """The install form; the authorize URL's parameters (checked)."""
    response = post_form(plugin, "install", shop=SHOP)
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{sandbox.url}/admin/oauth/authorize"
    )
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params.keys() == {"client_id", "scope", "redirect_uri", "state"}
    assert (params["client_id"], params["scope"], params["redirect_uri"]) == (
        DEMO_CLIENT_ID,
        ",".join(SCOPES),
        f"{plugin.url}/connect/shopify/callback",
    )
    return params


def approve(sandbox: Sandbox, params: dict[str, str]) -> str:
    """The merchant presses Install on the shop's consent page; the callback URL."""
    consent = requests.get(f"{sandbox.url}/admin/oauth/authorize", params=params, timeout=10)
    assert consent.status_code == 200 and 'id="install-app"' in consent.text
    response = requests.post(
        f"{sandbox.url}/admin/oauth/authorize", data=params, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    return str(response.headers["Location"])


def callback(plugin: Plugin, url: str, cookies: Any = None) -> requests.Response:
    return plugin.http.get(url, cookies=cookies, allow_redirects=False, timeout=30)


def test_the_oauth_install_connects_the_shop_once_and_a_replay_is_refused(
    plugin: Plugin, sandbox: Sandbox
) -> None:
    callback_url = approve(sandbox, start_install(plugin, sandbox))
    session_before = plugin.http.cookies.get("session")

    response = callback(plugin, callback_url)

    assert (response.status_code, response.headers["Location"]) == (303, "/stores/connect/shopify")
    [store] = plugin.state.stores.list()
    assert (store.platform, store.name, store.base_url, store.status, store.merchant_id) == (
        "shopify",
        SHOP,
        sandbox.url,
        "connected",
        plugin.merchant_id,
    )
    credentials = plugin.state.stores.credentials(store.id)
    assert credentials.consumer_key == SHOP
    assert credentials.consumer_secret.startswith("shpua_")
    assert credentials.webhook_secret == DEMO_CLIENT_SECRET  # the app signs every delivery
    token = credentials.consumer_secret
    assert sandbox.subscriptions(token) == expected_subscriptions(plugin, store.id)
    assert f"Shop {SHOP} installed as store {store.id}" in shopify_page(plugin)

    # The same callback again, from this browser (its install is finished) ...
    again = callback(plugin, callback_url)
    assert again.status_code == 400
    assert "no install was started from this browser" in again.text
    # ... and with the session cookie from before the callback: the state is used up.
    plugin.http.cookies.clear()
    replayed = callback(plugin, callback_url, cookies={"session": session_before})
    assert replayed.status_code == 400
    assert "this install link was used already" in replayed.text
    assert [s.id for s in plugin.state.stores.list()] == [store.id]
    assert sandbox.subscriptions(token) == expected_subscriptions(plugin, store.id)


def forged(callback_url: str, **changes: str) -> str:
    """The callback URL with some parameters changed, keeping Shopify's hmac."""
    parts = urlsplit(callback_url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"


def resigned(callback_url: str, **changes: str) -> str:
    """The callback URL with some parameters changed and signed with the app's secret."""
    parts = urlsplit(callback_url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items() if k != "hmac"} | changes
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{signed_query(params, DEMO_CLIENT_SECRET)}"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda url: forged(url, code="0" * 32), "the callback is not signed by Shopify"),
        (lambda url: forged(url, hmac="0" * 64), "the callback is not signed by Shopify"),
        (
            lambda url: forged(url, shop="eve.myshopify.com"),
            "the callback is not signed by Shopify",
        ),
        (lambda url: resigned(url, shop="eve.myshopify.com"), "names another shop"),
        (lambda url: resigned(url, shop="eve.example.com"), "is not a Shopify shop name"),
        (lambda url: resigned(url, state="not-ours"), "the callback's state is not ours"),
        (lambda url: resigned(url, timestamp="1700000000"), "the request is too old"),
    ],
)
def test_a_forged_callback_is_refused_before_any_exchange_and_the_install_survives(
    plugin: Plugin, sandbox: Sandbox, make: Any, message: str
) -> None:
    callback_url = approve(sandbox, start_install(plugin, sandbox))

    response = callback(plugin, make(callback_url))

    assert response.status_code == 400
    assert message in html.unescape(response.text)
    assert_nothing_written(plugin, sandbox)
    # Nothing was exchanged or used up: Shopify's own callback still completes the install.
    assert callback(plugin, callback_url).status_code == 303
    assert len(plugin.state.stores.list()) == 1


def test_the_app_url_opened_by_shopify_starts_the_install(plugin: Plugin, sandbox: Sandbox) -> None:
    opened = requests.get(
        f"{sandbox.url}/sandbox/shopify/install",
        params={"app_url": f"{plugin.url}/connect/shopify", "client_id": DEMO_CLIENT_ID},
        allow_redirects=False,
        timeout=10,
    )
    assert opened.status_code == 302
    launch = plugin.http.get(opened.headers["Location"], allow_redirects=False, timeout=10)
    assert launch.status_code == 303
    assert launch.headers["Location"].startswith(f"{sandbox.url}/admin/oauth/authorize?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(launch.headers["Location"]).query).items()}
    assert callback(plugin, approve(sandbox, params)).status_code == 303
    assert [s.name for s in plugin.state.stores.list()] == [SHOP]

    tampered = plugin.http.get(
        opened.headers["Location"].replace("backorders-sandbox", "eve"), timeout=10
    )
    assert tampered.status_code == 400
    assert "Shopify's request was refused: the request is not signed by Shopify" in html.unescape(
        tampered.text
    )


def test_a_refused_install_form_says_why_and_writes_nothing(
    plugin: Plugin, sandbox: Sandbox
) -> None:
    response = post_form(plugin, "install", shop="shop.example.com")
    assert response.status_code == 400
    assert "is not a Shopify shop name" in response.text
    assert_nothing_written(plugin, sandbox)


def test_without_a_shopify_app_only_the_token_is_offered(
    tmp_path: Path, redis_server: EmbeddedRedis, sandbox: Sandbox
) -> None:
    for plugin in _plugin(tmp_path, redis_server.url, sandbox, oauth=False):
        page = shopify_page(plugin)
        assert 'id="oauth-not-configured"' in page and 'id="install-form"' not in page
        response = plugin.http.post(
            f"{plugin.url}/stores/connect/shopify",
            data={
                "action": "install",
                "install-csrf_token": plugin.token("token-csrf_token", page),
                "install-shop": SHOP,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 400
        assert "Installing with OAuth needs the Shopify app" in response.text
        callback_response = plugin.http.get(
            f"{plugin.url}/connect/shopify/callback?shop={SHOP}&state=x&code=y", timeout=10
        )
        assert callback_response.status_code == 404
        assert_nothing_written(plugin, sandbox)
        assert paste_token(plugin).status_code == 303


def test_a_reinstall_after_an_uninstall_reuses_the_store_with_its_settings_and_history(
    plugin: Plugin, sandbox: Sandbox
) -> None:
    from plugin.adapters.sql.audit import SqlAuditLog
    from plugin.adapters.sql.privacy import SqlPrivacyStore

    audit = SqlAuditLog(plugin.state.db)
    assert callback(plugin, approve(sandbox, start_install(plugin, sandbox))).status_code == 303
    [store] = plugin.state.stores.list()
    old_token = plugin.state.stores.credentials(store.id).consumer_secret
    stores = plugin.state.stores
    settings = dataclasses.replace(
        stores.get(store.id).settings, numbering_pattern="{number}-B{seq}"
    )  # type: ignore[union-attr]
    stores.update_settings(store.id, settings)
    audit.record(store.id, "1001", "info", "Split done.")
    # The merchant uninstalls the app: Shopify revokes the token and sends app/uninstalled.
    uninstalled = requests.post(
        f"{sandbox.url}/sandbox/shopify/uninstall", json={"client_id": DEMO_CLIENT_ID}, timeout=10
    )
    assert uninstalled.status_code == 202, uninstalled.text
    requests.post(f"{sandbox.url}/sandbox/deliveries/flush", timeout=30)
    assert stores.get(store.id).status == "uninstalled"  # type: ignore[union-attr]

    response = callback(plugin, approve(sandbox, start_install(plugin, sandbox)))

    assert (response.status_code, response.headers["Location"]) == (303, "/stores/connect/shopify")
    [again] = stores.list()
    assert (again.id, again.status, again.merchant_id, again.name) == (
        store.id,
        "connected",
        plugin.merchant_id,
        SHOP,
    )
    assert again.settings == settings
    assert [e.message for e in audit.for_order(store.id, "1001")] == ["Split done."]
    credentials = stores.credentials(store.id)
    assert credentials.consumer_secret.startswith("shpua_")
    assert credentials.consumer_secret != old_token
    assert credentials.webhook_secret == DEMO_CLIENT_SECRET
    token = credentials.consumer_secret
    assert sandbox.subscriptions(token) == expected_subscriptions(plugin, store.id)
    assert sorted(again.webhook_ids) != sorted(store.webhook_ids)
    assert len(again.webhook_ids) == len(SUBSCRIBED_TOPICS)
    assert f"Shop {SHOP} installed as store {store.id}" in shopify_page(plugin)
    assert SqlPrivacyStore(plugin.state.db, plugin.state.vault).stores_for_shop(SHOP) == [store.id]
