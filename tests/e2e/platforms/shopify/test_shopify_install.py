"""A merchant installs Backorders on a Shopify shop with OAuth, end to end with real processes on
loopback: the Shopify sandbox (its app registry knowing our redirect and compliance URLs), Redis,
the web app and a worker. The browser's redirects are driven with requests. Then the shop's
compliance webhooks and the uninstall arrive as Shopify sends them, and what they must erase is
gone from the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

import run
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.adapters.sql.models import CustomerPolicyRow, OutboxMessage, Store
from plugin.platforms.shopify.webhooks import SUBSCRIBED_TOPICS
from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_merchant
from sandbox.shopify.app import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.e2e.helpers import PluginDb, wait_for
from tests.e2e.platforms.shopify.stack import SHOP_DOMAIN
from tests.integration.sandbox_shopify.conftest import Shop, running_shop
from tests.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite")]  # a whole stack: one database

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def installed_stack(tmp_path: Path) -> Iterator[tuple[run.Stack, Shop]]:
    """The sandbox with our app's addresses, then the stack configured with the app."""
    port = free_port()
    web_url = f"http://127.0.0.1:{port}"
    with running_shop(
        "--redirect-url",
        f"{web_url}/connect/shopify/callback",
        "--compliance-url",
        f"{web_url}/webhooks/shopify/compliance",
    ) as shop:
        supervisor = run.Supervisor(log_dir=tmp_path / "logs")
        stack = run.Stack(
            home=tmp_path / "home",
            port=port,
            sandbox_port=free_port(),
            workers=1,
            supervisor=supervisor,
            extra_env={
                "LOG_LEVEL": "INFO",
                "SHOPIFY_CLIENT_ID": DEMO_CLIENT_ID,
                "SHOPIFY_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "SHOPIFY_SHOP_URL": shop.url,
            },
        )
        from plugin.adapters.files import private_folder

        try:
            private_folder(stack.home, tighten=True)
            stack.start_redis()
            stack.migrate()
            stack.start_web()
            stack.start_worker()
            yield stack, shop
        finally:
            left = supervisor.stop_all()
            assert [c.name for c in left] == []


def signed_in(stack: run.Stack, plugin: PluginDb) -> requests.Session:
    ensure_demo_merchant(MerchantRepository(plugin.db))
    browser = requests.Session()
    form = browser.get(f"{stack.web_url}/signin", timeout=10).text
    token = TOKEN.search(form)
    assert token is not None
    answer = browser.post(
        f"{stack.web_url}/signin",
        data={"csrf_token": token.group(1), "email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        timeout=10,
    )
    assert answer.url == f"{stack.web_url}/stores", answer.url
    return browser


def follow(browser: requests.Session, url: str, status: int) -> str:
    """GET `url` without following; its redirect's target (checking the status)."""
    response = browser.get(url, allow_redirects=False, timeout=30)
    assert response.status_code == status, (url, response.status_code, response.text[:500])
    return str(response.headers["Location"])


def subscriptions(shop: Shop, token: str) -> list[tuple[str, str]]:
    data = shop.gql(
        "{ webhookSubscriptions(first: 100) { nodes { topic "
        "endpoint { ... on WebhookHttpEndpoint { callbackUrl } } } } }",
        token=token,
    ).json()["data"]
    return sorted(
        (n["topic"], n["endpoint"]["callbackUrl"]) for n in data["webhookSubscriptions"]["nodes"]
    )


def delivered(shop: Shop, topic: str, url: str) -> Any:
    """Wait for the sandbox's successful delivery of `topic` to `url`."""
    shop.flush()

    def found() -> Any:
        return next(
            (
                d
                for d in shop.deliveries()
                if d["topic"] == topic and d["url"] == url and d["success"]
            ),
            None,
        )

    return wait_for(found, what=f"the {topic} delivery", timeout=30, describe=shop.deliveries)


def rows(plugin: PluginDb, model: Any, store_id: int) -> int:
    with plugin.db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(model).where(model.store_id == store_id)
            )
            or 0
        )


def test_install_with_oauth_then_compliance_erases_and_uninstall_disconnects(
    installed_stack: tuple[run.Stack, Shop],
) -> None:
    stack, shop = installed_stack
    plugin = PluginDb(stack.config())
    browser = signed_in(stack, plugin)

    # The merchant installs from the shop: Shopify opens our App URL, signed.
    app_url = follow(
        browser,
        f"{shop.url}/sandbox/shopify/install?app_url={stack.web_url}/connect/shopify"
        f"&client_id={DEMO_CLIENT_ID}",
        302,
    )
    authorize = follow(browser, app_url, 303)
    assert authorize.startswith(f"{shop.url}/admin/oauth/authorize?")
    consent = browser.get(authorize, timeout=10)
    assert consent.status_code == 200 and 'id="install-app"' in consent.text
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    approved = browser.post(
        f"{shop.url}/admin/oauth/authorize", data=params, allow_redirects=False, timeout=10
    )
    assert approved.status_code == 302
    callback_url = approved.headers["Location"]
    assert callback_url.startswith(f"{stack.web_url}/connect/shopify/callback?")
    cookie_before = browser.cookies.get("session")
    assert follow(browser, callback_url, 303) == "/stores/connect/shopify"

    # Connected, with our subscriptions in the shop, signed with the app's secret.
    [store] = plugin.stores.list()
    assert (store.platform, store.name, store.status, store.base_url) == (
        "shopify",
        SHOP_DOMAIN,
        "connected",
        shop.url,
    )
    credentials = plugin.stores.credentials(store.id)
    assert credentials.webhook_secret == DEMO_CLIENT_SECRET
    delivery_url = f"{stack.web_url}/webhooks/shopify/{store.id}"
    assert subscriptions(shop, credentials.consumer_secret) == sorted(
        (t.replace("/", "_").upper(), delivery_url) for t in SUBSCRIBED_TOPICS
    )
    page = browser.get(f"{stack.web_url}/stores/connect/shopify", timeout=10).text
    assert f"Shop {SHOP_DOMAIN} installed as store {store.id}" in page

    # The callback replayed with the session cookie it first came with: refused, nothing new.
    replay = requests.get(callback_url, cookies={"session": cookie_before}, timeout=30)
    assert replay.status_code == 400
    assert "this install link was used already" in replay.text
    assert [s.id for s in plugin.stores.list()] == [store.id]

    # A customer of the shop, and what Backorders holds about them and someone else.
    shop.checkout([("MUG-BLUE", 1)])
    shop.flush()
    wait_for(plugin.events_finished, what="the order's events", timeout=60)
    customer = shop.data('{ customers(first: 1, query: "email:ada@example.com") { nodes { id } } }')
    customer_gid = customer["customers"]["nodes"][0]["id"]
    with plugin.db.session(write=True) as session:
        for number, email in (
            (customer_gid.rsplit("/", 1)[1], "ada@example.com"),
            ("77", "grace@example.com"),
        ):
            session.add(CustomerPolicyRow(store_id=store.id, customer_id=number, priority=3))
            session.add(
                OutboxMessage(
                    store_id=store.id,
                    message_key=f"split:{number}",
                    kind="order_split",
                    recipient=email,
                    subject="Your order was split",
                    body="Dear customer",
                )
            )

    # customers/redact, sent by the shop to the app's compliance address.
    compliance_url = f"{stack.web_url}/webhooks/shopify/compliance"
    answer = requests.post(
        f"{shop.url}/sandbox/shopify/compliance/customers-redact",
        json={"client_id": DEMO_CLIENT_ID, "customer_id": customer_gid},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    assert delivered(shop, "customers/redact", compliance_url)["status_code"] == 200
    assert (rows(plugin, CustomerPolicyRow, store.id), rows(plugin, OutboxMessage, store.id)) == (
        1,
        1,
    )
    with plugin.db.session() as session:
        assert session.scalars(select(CustomerPolicyRow.customer_id)).all() == ["77"]

    # The merchant uninstalls: the token is revoked and app/uninstalled reaches the store's route.
    answer = requests.post(
        f"{shop.url}/sandbox/shopify/uninstall", json={"client_id": DEMO_CLIENT_ID}, timeout=10
    )
    assert answer.status_code == 202, answer.text
    assert delivered(shop, "app/uninstalled", delivery_url)["status_code"] == 200
    record = plugin.stores.get(store.id)
    assert record is not None and record.status == "uninstalled"
    assert plugin.stores.credentials(store.id).consumer_secret == ""

    # shop/redact: the store and everything about it are gone.
    answer = requests.post(
        f"{shop.url}/sandbox/shopify/compliance/shop-redact",
        json={"client_id": DEMO_CLIENT_ID},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    assert delivered(shop, "shop/redact", compliance_url)["status_code"] == 200
    with plugin.db.session() as session:
        assert session.scalars(select(Store.id)).all() == []
    assert (rows(plugin, CustomerPolicyRow, store.id), rows(plugin, OutboxMessage, store.id)) == (
        0,
        0,
    )
