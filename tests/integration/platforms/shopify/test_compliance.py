"""Shopify's compliance topics as the sandbox sends them, acted on in the database: a redacted
customer's rows are gone and nobody else's; shop/redact erases the store; app/uninstalled
disconnects it; a data request reaches the merchant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import Alert, AuditEntry, CustomerPolicyRow, OutboxMessage, Store
from plugin.adapters.sql.privacy import SqlPrivacyStore
from plugin.adapters.sql.stores import StoreRepository
from plugin.adapters.vault import Vault
from plugin.platforms.shopify import compliance
from plugin.platforms.shopify.webhooks import BadDelivery, verify
from sandbox.shopify.app import DEMO_CUSTOM_SECRET
from tests.integration.sandbox_shopify.conftest import Shop, running_shop
from tests.unit.sandbox.receiver import Received, Receiver

SHOP = "backorders-sandbox.myshopify.com"


class StoreAlerts:
    def __init__(self, stores: StoreRepository) -> None:
        self.stores = stores

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> object:
        return self.stores.add_alert(store_id, kind, message, order_id=order_id)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def shop(receiver: Receiver) -> Iterator[Shop]:
    with running_shop("--compliance-url", receiver.url) as running:
        yield running


def header(received: Received, name: str) -> str | None:
    return next((v for k, v in received.headers.items() if k.lower() == name.lower()), None)


def deliver(shop: Shop, receiver: Receiver, name: str, customer: str | None) -> Received:
    """Ask the sandbox for one compliance delivery; the request our address received."""
    count = len(receiver.requests)
    response = requests.post(
        f"{shop.url}/sandbox/shopify/compliance/{name}",
        json={"client_id": "custom-app", "customer_id": customer},
        timeout=5,
    )
    assert response.status_code == 202, response.text
    shop.flush()
    return receiver.wait_for(count + 1, timeout=20)[count]


def act(received: Received, privacy: SqlPrivacyStore, alerts: StoreAlerts) -> dict[str, int]:
    """What the route does: verify with the app's secret, parse, handle."""
    assert verify(DEMO_CUSTOM_SECRET, received.body, header(received, "X-Shopify-Hmac-Sha256"))
    request = compliance.parse(
        str(header(received, "X-Shopify-Topic")),
        received.body,
        header(received, "X-Shopify-Shop-Domain"),
    )
    return compliance.handle(request, privacy, alerts)


def seed(db: Database, store_id: int, customer: str, email: str) -> None:
    with db.session(write=True) as session:
        session.add(CustomerPolicyRow(store_id=store_id, customer_id=customer, priority=3))
        session.add(
            OutboxMessage(
                store_id=store_id,
                message_key=f"split:{customer}",
                kind="order_split",
                recipient=email,
                subject="Your order was split",
                body="Dear customer",
            )
        )
        session.add(AuditEntry(store_id=store_id, order_id="1001", kind="info", message="split"))


def count(db: Database, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    with db.session() as session:
        return int(session.scalar(query) or 0)


def make_store(stores: StoreRepository, shop: Shop, key: str = SHOP) -> int:
    return stores.create(
        name="Sandbox shop",
        base_url=shop.url,
        consumer_key=key,
        consumer_secret="shpat_sandbox_demo",
        webhook_secret=DEMO_CUSTOM_SECRET,
        platform="shopify",
    ).id


def customer_of(shop: Shop) -> tuple[str, str]:
    shop.checkout([("MUG-BLUE", 1)])
    node = shop.data('{ customers(first: 1, query: "email:ada@example.com") { nodes { id } } }')
    gid = node["customers"]["nodes"][0]["id"]
    return gid, gid.rsplit("/", 1)[1]


def test_customers_redact_erases_that_customer_only(
    shop: Shop, receiver: Receiver, db: Database, vault: Vault, stores: StoreRepository
) -> None:
    store_id = make_store(stores, shop)
    other_store = make_store(stores, shop, key="another-shop.myshopify.com")
    gid, number = customer_of(shop)
    seed(db, store_id, number, "Ada@Example.com")
    seed(db, store_id, "77", "grace@example.com")
    seed(db, other_store, number, "ada@example.com")
    privacy = SqlPrivacyStore(db, vault)

    outcome = act(deliver(shop, receiver, "customers-redact", gid), privacy, StoreAlerts(stores))

    assert outcome == {str(store_id): 2}
    assert count(db, CustomerPolicyRow, store_id=store_id, customer_id=number) == 0
    assert count(db, OutboxMessage, store_id=store_id) == 1  # grace's
    assert count(db, CustomerPolicyRow, store_id=store_id, customer_id="77") == 1
    assert count(db, CustomerPolicyRow, store_id=other_store) == 1  # another shop: untouched
    assert count(db, OutboxMessage, store_id=other_store) == 1
    assert count(db, AuditEntry, store_id=store_id) == 2  # no personal data: kept


def test_data_request_tells_the_merchant_what_is_held(
    shop: Shop, receiver: Receiver, db: Database, vault: Vault, stores: StoreRepository
) -> None:
    store_id = make_store(stores, shop)
    gid, number = customer_of(shop)
    seed(db, store_id, number, "ada@example.com")
    privacy = SqlPrivacyStore(db, vault)

    act(deliver(shop, receiver, "customers-data-request", gid), privacy, StoreAlerts(stores))

    with db.session() as session:
        [alert] = session.scalars(select(Alert).where(Alert.store_id == store_id)).all()
        assert alert.kind == "customer_data_request"
        assert f"customer {number}" in alert.message
        held = json.loads(alert.message.split(": ", 1)[1])
    assert held["customer_policy"] == {"delivery_condition": None, "priority": 3}
    assert [e["subject"] for e in held["emails"]] == ["Your order was split"]
    assert count(db, CustomerPolicyRow, store_id=store_id) == 1  # nothing erased


def test_shop_redact_erases_the_store_and_everything_about_it(
    shop: Shop, receiver: Receiver, db: Database, vault: Vault, stores: StoreRepository
) -> None:
    store_id = make_store(stores, shop)
    other_store = make_store(stores, shop, key="another-shop.myshopify.com")
    seed(db, store_id, "5", "ada@example.com")
    seed(db, other_store, "5", "ada@example.com")

    act(
        deliver(shop, receiver, "shop-redact", None),
        SqlPrivacyStore(db, vault),
        StoreAlerts(stores),
    )

    assert count(db, Store, id=store_id) == 0
    for model in (CustomerPolicyRow, OutboxMessage, AuditEntry):
        assert count(db, model, store_id=store_id) == 0
        assert count(db, model, store_id=other_store) == 1


def test_app_uninstalled_disconnects_and_forgets_the_token(
    shop: Shop, receiver: Receiver, db: Database, vault: Vault, stores: StoreRepository
) -> None:
    store_id = make_store(stores, shop)
    shop.subscribe("APP_UNINSTALLED", receiver.url)
    response = requests.post(
        f"{shop.url}/sandbox/shopify/uninstall", json={"client_id": "custom-app"}, timeout=5
    )
    assert response.status_code in (200, 202), response.text
    shop.flush()
    [received] = receiver.wait_for(1, timeout=20)
    assert header(received, "X-Shopify-Topic") == "app/uninstalled"

    act(received, SqlPrivacyStore(db, vault), StoreAlerts(stores))

    record = stores.get(store_id)
    assert record is not None and record.status == "uninstalled"
    assert stores.credentials(store_id).consumer_secret == ""


@pytest.mark.parametrize(
    ("topic", "body", "shop_header", "message"),
    [
        ("customers/redact", b"{}", None, "no Shopify shop"),
        ("customers/redact", b'{"shop_domain": "evil.com"}', None, "no Shopify shop"),
        (
            "customers/redact",
            b'{"shop_domain": "a.myshopify.com"}',
            "b.myshopify.com",
            "different shops",
        ),
        ("customers/redact", b'{"shop_domain": "a.myshopify.com"}', None, "customer.id"),
        (
            "customers/redact",
            b'{"shop_domain": "a.myshopify.com", "customer": {"id": 1}, "orders_to_redact": "x"}',
            None,
            "orders_to_redact",
        ),
        ("orders/create", b"{}", None, "not a compliance topic"),
        ("shop/redact", b"[]", None, "not a JSON object"),
    ],
)
def test_bad_compliance_bodies_are_refused(
    topic: str, body: bytes, shop_header: str | None, message: str
) -> None:
    with pytest.raises(BadDelivery, match=message):
        compliance.parse(topic, body, shop_header)
