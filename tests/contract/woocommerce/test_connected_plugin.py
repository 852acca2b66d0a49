"""The running plugin (web app and worker as real processes) connected to the store under test
through its merchant pages: the store's own signed deliveries are accepted, the order is split
on the store, and disconnecting removes the webhooks. On a real store this needs
WOO_DELIVERY_PORT, a port the store may deliver to (see conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import run
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.usecases.accounts import ensure_demo_merchant
from tests.contract.woocommerce.conftest import StoreUnderTest, delivery_port
from tests.contract.woocommerce.shop import Shop
from tests.e2e.helpers import PluginDb, parse_page, wait_for

EMAIL, PASSWORD = "contract@example.com", "contract-password-1"


@pytest.fixture
def plugin(woo: StoreUnderTest, tmp_path: Path) -> Iterator[run.Stack]:
    """Redis, the migration, the web app and one worker (run.py's own supervisor)."""
    extra_env = {"LOG_LEVEL": "INFO"}
    if woo.ca_bundle:
        extra_env["REQUESTS_CA_BUNDLE"] = woo.ca_bundle  # how requests trusts the store
    stack = run.Stack(
        home=tmp_path / "home",
        port=delivery_port(woo),
        workers=1,
        supervisor=run.Supervisor(log_dir=tmp_path / "logs"),
        extra_env=extra_env,
    )
    try:
        stack.home.mkdir(parents=True)
        stack.start_redis()
        stack.migrate()
        stack.start_web()
        stack.start_worker()
        db = Database(stack.config().database_url)
        ensure_demo_merchant(MerchantRepository(db), EMAIL, PASSWORD)
        db.dispose()
        yield stack
    finally:
        for child in stack.supervisor.children:
            if child.process.poll() not in (None, 0):
                print(f"----- {child.name} -----\n{child.log_tail(60)}")
        assert stack.stop() == []


def _form(session: requests.Session, url: str, form_id: str) -> dict[str, str]:
    """The fields of form `form_id` (or the form posting to `form_id`) on the page at `url`."""
    page = session.get(url, timeout=10)
    assert page.status_code == 200, page.status_code
    forms = parse_page(page.text).forms
    form = forms.get(form_id) or next(f for f in forms.values() if f["action"] == form_id)
    return dict(form["fields"])


def _merchant(stack: run.Stack) -> requests.Session:
    session = requests.Session()
    fields = _form(session, f"{stack.web_url}/signin", "signin-form")
    signed_in = session.post(
        f"{stack.web_url}/signin", data={**fields, "email": EMAIL, "password": PASSWORD}
    )
    assert signed_in.status_code == 200 and signed_in.url != f"{stack.web_url}/signin"
    return session


def _our_webhooks(woo: StoreUnderTest, delivery_url: str) -> list[dict[str, Any]]:
    return [w for w in woo.client().list_webhooks() if w["delivery_url"] == delivery_url]


def test_a_connected_plugin_accepts_the_stores_deliveries_and_splits(
    woo: StoreUnderTest, shop: Shop, plugin: run.Stack
) -> None:
    merchant = _merchant(plugin)
    fields = _form(merchant, f"{plugin.web_url}/stores/connect", "keys-form")
    connected = merchant.post(
        f"{plugin.web_url}/stores/connect",
        data={**fields, "keys-store_url": woo.url, "keys-consumer_key": woo.consumer_key,
              "keys-consumer_secret": woo.consumer_secret},
    )  # fmt: skip
    assert connected.status_code == 200, connected.text[-2000:]
    plugin_db = PluginDb(plugin.config())
    [store] = plugin_db.stores.list(status="connected")
    delivery_url = f"{plugin.web_url}/webhooks/woocommerce/{store.id}"
    try:
        # The store pinged each new webhook and kept it active (a ping answered 200).
        webhooks = _our_webhooks(woo, delivery_url)
        assert sorted((w["topic"], w["status"]) for w in webhooks) == [
            ("order.created", "active"), ("order.updated", "active"), ("product.updated", "active"),
        ]  # fmt: skip
        assert sorted(store.webhook_ids) == sorted(int(w["id"]) for w in webhooks)

        short = shop.product("Short", price="10.00", stock=1, backorders="notify")
        plenty = shop.product("Plenty", price="4.00", stock=20)
        order = shop.order(
            [{"product_id": short["id"], "quantity": 3},
             {"product_id": plenty["id"], "quantity": 1}]
        )  # fmt: skip
        order_id = int(order["id"])

        def split_done() -> Any:
            records = plugin_db.ledger.for_order(store.id, str(order_id))
            return records if records and records[0].state == "done" else None

        [record] = wait_for(split_done, timeout=60, what="the split recorded done")
        events = wait_for(
            lambda: plugin_db.settled(store.id, order_id), timeout=60, what="settled events"
        )
        # The split was started by the store's own signed delivery (not reconciliation).
        # The split was started by the store's own signed delivery of the new order; every
        # other delivery (a real store also sends order.updated for the new order, and the
        # split's own write comes back as order.updated) found the split made.
        assert [(e.topic, e.source) for e in events if e.status == "done"] == [
            ("order.created", "webhook")
        ]
        assert {(e.topic, e.source, e.status) for e in events if e.status != "done"} == {
            ("order.updated", "webhook", "ignored")
        }
        [backorder] = shop.children(order_id)
        shop.adopt(backorder["id"])
        assert record.backorder_order_id == str(backorder["id"])
        assert {int(i["product_id"]): i["quantity"] for i in backorder["line_items"]} == {
            short["id"]: 2
        }
        original = shop.get_order(order_id)
        assert {int(i["product_id"]): i["quantity"] for i in original["line_items"]} == {
            short["id"]: 1, plenty["id"]: 1,
        }  # fmt: skip
        assert (backorder["status"], backorder["parent_id"]) == ("on-hold", order_id)
        assert shop.stock(short["id"]) == -2
    finally:
        disconnect = f"/stores/{store.id}/disconnect"
        fields = _form(merchant, f"{plugin.web_url}/stores", disconnect)
        gone = merchant.post(f"{plugin.web_url}{disconnect}", data=fields)
        plugin_db.db.dispose()
    assert gone.status_code == 200
    assert _our_webhooks(woo, delivery_url) == []
