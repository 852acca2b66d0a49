"""The implementations the platform contract suite runs against, and how each makes its data.

`IMPLEMENTATIONS` is the one registration point: a fixture name per implementation, each giving a
`Harness` (harness.py). Every test taking `store` runs once per entry:

- `fake`: `tests.fakes.FakeStore`, the in-memory store the unit tests use;
- `toyshop`: the test-only platform of tests/platforms/toyshop, opened through the registry;
- `woocommerce-sandbox`: the WooCommerce adapter against a `python -m sandbox.woocommerce` process;
- `woocommerce-real` (marker `real_store`): the WooCommerce adapter against the store named by
  `WOO_URL` etc. (tests/contract/woocommerce/conftest.py), skipped saying why when none is;
- `shopify-sandbox`: the Shopify driver against a `python -m sandbox.shopify` process (one per
  run), its data made by the sandbox's product control, storefront checkouts and plain Admin
  GraphQL calls, never by the adapter under test.

A new platform adds its harness fixture here (and a `real_store`-marked real one) and one line in
`IMPLEMENTATIONS`; tests/README.md, "The platform contract, and adding a platform". Where
platforms differ in what they are, not in how well they do it, the harness says which way its
store goes (`unpaid_status`, `stopped_webhooks_kept`, `holds_on_the_order`, `unpaid_keeps_units`,
`payment_page`; harness.py) and the test asserts that way's exact outcome.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from plugin.core.model import ProductRef, Status
from plugin.errors import NotFound
from plugin.platforms.registry import Registry
from plugin.platforms.shopify import webhooks as shopify_webhooks
from plugin.platforms.shopify.driver import SHOPIFY
from plugin.platforms.woocommerce.driver import WOOCOMMERCE
from plugin.platforms.woocommerce.signature import sign
from plugin.platforms.woocommerce.webhooks import SIGNATURE_HEADER, TOPIC_HEADER
from plugin.ports import Delivery, Platform, StoreAccess, StoreConnection, Webhooks
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.contract.woocommerce.conftest import StoreUnderTest
from tests.contract.woocommerce.shop import Shop
from tests.fakes import ALLOW, DENY, FakeDelivery, FakeStore, FakeWebhooks
from tests.integration.sandbox_shopify.conftest import Shop as ShopifyShop
from tests.integration.sandbox_shopify.conftest import running_shop
from tests.platforms.toyshop.driver import TOYSHOP
from tests.platforms.toyshop.shop import create_shop, open_shop
from tests.unit.sandbox.receiver import Receiver

# (fixture name, marks): the implementations every contract test runs against, in this order.
IMPLEMENTATIONS: list[tuple[str, tuple[pytest.MarkDecorator, ...]]] = [
    ("fake_harness", ()),
    ("toyshop_harness", ()),
    ("woocommerce_sandbox_harness", ()),
    ("woocommerce_real_harness", (pytest.mark.real_store,)),
    ("shopify_sandbox_harness", ()),
]


def _params(
    implementations: list[tuple[str, tuple[pytest.MarkDecorator, ...]]],
) -> list[Any]:
    return [
        pytest.param(name, marks=marks, id=name.removesuffix("_harness").replace("_", "-"))
        for name, marks in implementations
    ]


@pytest.fixture(params=_params(IMPLEMENTATIONS))
def store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The implementation under test, with a shop to make data on it (harness.py)."""
    return request.getfixturevalue(request.param)


# --- the in-memory fake -----------------------------------------------------------------------


class FakeHarness:
    """`FakeStore` (tests/fakes.py): the store and its platform are one object."""

    name = "fake"
    allow_backorders, deny_backorders = ALLOW, DENY
    unpaid_status = Status.ON_HOLD  # an unpaid order is placed on hold
    stopped_webhooks_kept = True  # a webhook the store stops delivering stays, disabled
    holds_on_the_order = False  # a split moves the backordered units to a new order
    unpaid_keeps_units = False  # a pending order's units go back to the figure
    delivery_url = "http://127.0.0.1:9/webhooks/fake/424242"

    def __init__(self) -> None:
        self.fake = FakeStore(next_id=1000)
        self.webhooks: Webhooks = FakeWebhooks()
        self.made = 0

    @contextlib.contextmanager
    def session(self) -> Iterator[FakeStore]:
        """The store, for the shop's own changes and reads."""
        yield self.fake

    def platform(self, *, webhook_ids: Sequence[int] = (), public_url: str = "") -> Platform:
        self.fake.webhook_ids = tuple(str(i) for i in webhook_ids)
        self.fake.public_url = public_url
        return self.fake  # type: ignore[return-value]

    def connection(self) -> StoreConnection:
        return self.fake  # type: ignore[return-value]

    def product(
        self, name: str, *, price: str = "10.00", stock: int | None = None, backorders: bool
    ) -> ProductRef:
        self.made += 1
        unique, value = f"{name} {self.name}-{self.made}", ALLOW if backorders else DENY
        with self.session() as fake:
            return fake.add_product(unique, price=price, stock=stock, backorders=value)

    def hidden_product(self, name: str, *, stock: int, backorders: bool) -> ProductRef:
        self.made += 1
        unique, value = f"{name} {self.name}-{self.made}", ALLOW if backorders else DENY
        with self.session() as fake:
            return fake.add_product(unique, stock=stock, backorders=value, published=False)

    def order(self, lines: Sequence[tuple[ProductRef, int]], *, paid: bool) -> str:
        with self.session() as fake:
            return fake.new_order(lines, paid=paid)

    def stock(self, ref: ProductRef) -> int | None:
        with self.session() as fake:
            return fake.stock.get(fake.pool(ref))

    def notes(self, order_id: str) -> list[str]:
        with self.session() as fake:
            return [text for noted, text in fake.notes if noted == order_id]

    def delivery(self, secret: str, topic: str, order_id: str) -> Delivery:
        with self.session() as fake:
            body = fake.delivery_body(order_id)
        return self.webhooks.sign(secret, topic, body)  # type: ignore[attr-defined]

    def disable_webhook(self, webhook_id: int) -> None:
        with self.session() as fake:
            fake.disable_webhook(str(webhook_id))

    def payment_page(self, order_id: str) -> str | None:
        return None  # the payment link names the order (`FakeStore.release_order`)

    def adopt(self, order_id: str) -> None:
        pass

    def base_url(self) -> str:
        with self.session() as fake:
            return fake.base_url


@pytest.fixture
def fake_harness() -> FakeHarness:
    return FakeHarness()


# --- the test-only toy shop, through the registry ----------------------------------------------


class ToyshopHarness(FakeHarness):
    """The toy shop (tests/platforms/toyshop), its driver registered into a `Registry` by the
    test and its store opened through it, as a job opens a store."""

    name = "toyshop"
    delivery_url = "http://127.0.0.1:9/webhooks/toyshop/424242"

    def __init__(self, path: Path) -> None:
        super().__init__()
        create_shop(path, "toyshop://shop" + str(path))
        self.path = path
        self.registry = Registry(None, None)
        self.registry.register(TOYSHOP)
        self.driver = self.registry.driver("toyshop")
        self.webhooks = self.driver.webhooks

    @contextlib.contextmanager
    def session(self) -> Iterator[FakeStore]:
        with open_shop(self.path) as fake:
            yield fake

    def platform(self, *, webhook_ids: Sequence[int] = (), public_url: str = "") -> Platform:
        access = StoreAccess(1, "toyshop://shop" + str(self.path), "key", "secret",
                             tuple(webhook_ids), public_url)  # fmt: skip
        return self.driver.open(access)

    def connection(self) -> StoreConnection:
        url = "toyshop://shop" + str(self.path)
        return self.driver.connection(url, "key", "secret", allow_private=True)


@pytest.fixture
def toyshop_harness(tmp_path: Path) -> ToyshopHarness:
    return ToyshopHarness(tmp_path / "contract.shop")


# --- WooCommerce ------------------------------------------------------------------------------


class WooCommerceHarness:
    """The WooCommerce adapter (`WOOCOMMERCE.open`) on a sandbox or real store; data made by
    `Shop`'s plain REST calls and removed after the test."""

    name = "woocommerce"
    webhooks = WOOCOMMERCE.webhooks
    allow_backorders, deny_backorders = "yes", "no"  # products.md `backorders`
    unpaid_status = Status.ON_HOLD  # a bank transfer (`bacs`) order is placed "on-hold"
    stopped_webhooks_kept = True  # webhooks.md: the store sets `status` "disabled" itself
    holds_on_the_order = False  # a split moves the backordered units to a new order
    unpaid_keeps_units = False  # a pending order's units go back to the figure
    # Nothing listens on port 9; a real store refuses to ping it (not an allowed port) and
    # keeps the webhook active (tests/contract/woocommerce/test_webhooks_admin.py).
    delivery_url = "http://127.0.0.1:9/webhooks/woocommerce/424242"

    def __init__(self, woo: StoreUnderTest, shop: Shop) -> None:
        self.woo = woo
        self.shop = shop

    def platform(self, *, webhook_ids: Sequence[int] = (), public_url: str = "") -> Platform:
        from plugin.platforms.woocommerce.adapter import WooCommercePlatform

        return WooCommercePlatform(
            self.woo.client(), webhook_ids=webhook_ids, public_url=public_url
        )

    def connection(self) -> StoreConnection:
        from plugin.platforms.woocommerce.connect import WooCommerceConnection

        return WooCommerceConnection(self.woo.client())

    def product(
        self, name: str, *, price: str = "10.00", stock: int | None = None, backorders: bool
    ) -> ProductRef:
        made = self.shop.product(name, price=price, stock=stock,
                                 backorders="yes" if backorders else "no")  # fmt: skip
        return ProductRef(str(made["id"]))

    def hidden_product(self, name: str, *, stock: int, backorders: bool) -> ProductRef:
        made = self.shop.product(name, stock=stock, backorders="yes" if backorders else "no",
                                 status="draft")  # fmt: skip
        return ProductRef(str(made["id"]))

    def order(self, lines: Sequence[tuple[ProductRef, int]], *, paid: bool) -> str:
        items = [{"product_id": int(ref.product_id), "quantity": qty} for ref, qty in lines]
        if paid:
            made = self.shop.order(items, status="processing", paid=True)
        else:
            made = self.shop.order(items, status="on-hold", paid=False)
        return str(made["id"])

    def stock(self, ref: ProductRef) -> int | None:
        return self.shop.stock(int(ref.product_id), int(ref.variant_id or 0) or None)

    def notes(self, order_id: str) -> list[str]:
        return [str(note["note"]) for note in self.shop.notes(order_id)]

    def delivery(self, secret: str, topic: str, order_id: str) -> FakeDelivery:
        # The payload of an order topic is the order as `GET /orders/<id>` returns it
        # (../shared/reference/woocommerce/README.md, "How a WooCommerce store delivers
        # webhooks"), signed as signature.py `sign` does.
        body = json.dumps(self.shop.get_order(order_id)).encode()
        headers = {SIGNATURE_HEADER: sign(secret, body), TOPIC_HEADER: topic}
        return FakeDelivery(body, headers)

    def disable_webhook(self, webhook_id: int) -> None:
        # webhooks.md: `status` is writable; a store sets "disabled" itself after failures.
        self.woo.client().update_webhook(webhook_id, status="disabled")

    def payment_page(self, order_id: str) -> str | None:
        return None  # the order's `payment_url`, which names it (orders.md)

    def adopt(self, order_id: str) -> None:
        self.shop.adopt(order_id)

    def base_url(self) -> str:
        return self.woo.url


@contextlib.contextmanager
def _woocommerce(woo: StoreUnderTest, run_id: str) -> Iterator[WooCommerceHarness]:
    shop = Shop(woo.client(), run_id)
    try:
        yield WooCommerceHarness(woo, shop)
    finally:
        with contextlib.suppress(NotFound):
            shop.clean_up()


@pytest.fixture
def woocommerce_sandbox_harness(
    sandbox_store: StoreUnderTest, run_id: str
) -> Iterator[WooCommerceHarness]:
    with _woocommerce(sandbox_store, run_id) as harness:
        yield harness


@pytest.fixture
def woocommerce_real_harness(
    real_store: StoreUnderTest, run_id: str
) -> Iterator[WooCommerceHarness]:
    with _woocommerce(real_store, run_id) as harness:
        yield harness


# --- Shopify ----------------------------------------------------------------------------------


class ShopifySandboxHarness:
    """The Shopify driver (`SHOPIFY.open`, `SHOPIFY.connection`) on a `python -m sandbox.shopify`
    process; its products made with the sandbox's own control (`POST /sandbox/shopify/products`),
    as a merchant makes them in the Shopify admin, its orders by storefront checkouts, and
    everything else with plain Admin GraphQL calls. A product is named as Backorders' records
    name a Shopify line's: the product and its variant's inventory item."""

    name = "shopify"
    allow_backorders, deny_backorders = "CONTINUE", "DENY"  # ProductVariant.inventoryPolicy
    # A checkout paid by bank transfer is pending payment and unfulfilled: Shopify puts no hold
    # on its fulfillment orders (`displayFulfillmentStatus` UNFULFILLED).
    unpaid_status = Status.NEW
    # Shopify deletes a subscription whose deliveries keep failing; `WebhookSubscription` has no
    # status to pause one (schema 2025-01).
    stopped_webhooks_kept = False
    # The default split holds the backordered units on a held fulfillment order of the order,
    # which stays one order with every line (README "What a split writes to Shopify").
    holds_on_the_order = True
    # An order's units stay committed until they ship or it is cancelled, paid or not.
    unpaid_keeps_units = True
    webhooks = SHOPIFY.webhooks
    delivery_url = "http://127.0.0.1:9/webhooks/shopify/424242"

    def __init__(self, sandbox: ShopifySandbox, run_id: str) -> None:
        self.url = sandbox.url
        self.deliveries = sandbox.deliveries
        self.run_id = f"{run_id}-{uuid.uuid4().hex[:6]}"  # unique names in the run's sandbox
        self.made = 0
        self.skus: dict[str, str] = {}  # product number -> its variant's SKU
        self.shop = ShopifyShop(sandbox.url)

    def platform(self, *, webhook_ids: Sequence[int] = (), public_url: str = "") -> Platform:
        access = StoreAccess(1, self.url, "", DEMO_ACCESS_TOKEN, tuple(webhook_ids), public_url,
                             allow_private_addresses=True)  # fmt: skip
        return SHOPIFY.open(access)

    def connection(self) -> StoreConnection:
        return SHOPIFY.connection(self.url, "", DEMO_ACCESS_TOKEN, allow_private=True)

    def delivery(self, secret: str, topic: str, order_id: str) -> Delivery:
        """The latest delivery the sandbox sent about the order (to the run's receiver,
        subscribed to its order topics), as Shopify sends it, signed with `secret`."""
        self.shop.flush()
        sent = [
            received for received in list(self.deliveries.requests)
            if str(json.loads(received.body).get("id")) == order_id
        ]  # fmt: skip
        assert sent, f"no delivery about order {order_id}"
        latest = max(sent, key=lambda r: json.loads(r.body)["updated_at"])  # the last if tied
        headers = {k: v for k, v in latest.headers.items()
                   if k.lower() not in (shopify_webhooks.HMAC_HEADER.lower(),
                                        shopify_webhooks.TOPIC_HEADER.lower())}  # fmt: skip
        headers[shopify_webhooks.HMAC_HEADER] = shopify_webhooks.sign(secret, latest.body)
        headers[shopify_webhooks.TOPIC_HEADER] = SHOPIFY_TOPICS[topic]
        return FakeDelivery(latest.body, headers)

    def disable_webhook(self, webhook_id: int) -> None:
        """What Shopify does to a subscription whose deliveries keep failing: deletes it."""
        self.shop.data(
            """mutation($id: ID!) { webhookSubscriptionDelete(id: $id) {
              deletedWebhookSubscriptionId userErrors { message } } }""",
            {"id": f"gid://shopify/WebhookSubscription/{webhook_id}"},
        )

    def _make(
        self, name: str, stock: int | None, backorders: bool, price: str = "10.00", **options: Any
    ) -> ProductRef:
        self.made += 1
        unique = f"{name} {self.run_id}-{self.made}"
        variant: dict[str, Any] = {
            "sku": unique.replace(" ", "-").upper(),
            "price": price,
            "policy": "CONTINUE" if backorders else "DENY",
            "tracked": stock is not None,
        }
        if stock:
            location = requests.post(
                f"{self.url}/admin/api/2025-01/graphql.json",
                json={"query": "{ location { id } }"},
                headers={"X-Shopify-Access-Token": DEMO_ACCESS_TOKEN},
                timeout=10,
            ).json()["data"]["location"]["id"]
            variant["stock"] = {location: stock}
        response = requests.post(
            f"{self.url}/sandbox/shopify/products",
            json={"title": unique, "variants": [variant], **options},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        made = response.json()
        item = made["variants"][0]["inventory_item_id"]
        ref = ProductRef(made["id"].rsplit("/", 1)[1], item.rsplit("/", 1)[1])
        self.skus[ref.product_id] = str(made["variants"][0]["sku"])
        return ref

    def product(
        self, name: str, *, price: str = "10.00", stock: int | None = None, backorders: bool
    ) -> ProductRef:
        return self._make(name, stock, backorders, price)

    def hidden_product(self, name: str, *, stock: int, backorders: bool) -> ProductRef:
        return self._make(name, stock, backorders, status="DRAFT")

    def order(self, lines: Sequence[tuple[ProductRef, int]], *, paid: bool) -> str:
        """A storefront checkout: paid at once, or by bank transfer (pending, unpaid)."""
        name = self.shop.checkout(
            [(self.skus[ref.product_id], quantity) for ref, quantity in lines],
            payment="paid" if paid else "manual",
        )
        found = self.shop.data(
            "query($q: String) { orders(first: 1, query: $q) { nodes { id } } }",
            {"q": f"name:#{name}"},
        )["orders"]["nodes"]
        return str(found[0]["id"]).rsplit("/", 1)[1]

    def stock(self, ref: ProductRef) -> int | None:
        """Units `available` at the primary location, where the orders are fulfilled."""
        primary = self.shop.data("{ location { id } }")["location"]["id"]
        item = self.shop.data(
            """query($id: ID!) { inventoryItem(id: $id) { tracked inventoryLevels(first: 10) {
              nodes { location { id } quantities(names: ["available"]) { quantity } } } } }""",
            {"id": f"gid://shopify/InventoryItem/{ref.variant_id}"},
        )["inventoryItem"]
        if not item["tracked"]:
            return None
        levels = item["inventoryLevels"]["nodes"]
        return next(
            (int(n["quantities"][0]["quantity"]) for n in levels if n["location"]["id"] == primary),
            0,
        )

    def notes(self, order_id: str) -> list[str]:
        """The order's staff note, a paragraph per note (how the adapter appends them)."""
        note = self.shop.data(
            "query($id: ID!) { order(id: $id) { note } }", {"id": f"gid://shopify/Order/{order_id}"}
        )["order"]["note"]
        return [text for text in str(note or "").split("\n\n") if text]

    def payment_page(self, order_id: str) -> str | None:
        """The order's status page (`Order.statusPageUrl`), where its customer pays what it
        owes; for a held part (`fo-<n>`), its order's."""
        fulfillment = order_id.removeprefix("fo-")
        if fulfillment != order_id:
            order_id = self.shop.data(
                "query($id: ID!) { fulfillmentOrder(id: $id) { orderId } }",
                {"id": f"gid://shopify/FulfillmentOrder/{fulfillment}"},
            )["fulfillmentOrder"]["orderId"].rsplit("/", 1)[1]
        return str(
            self.shop.data(
                "query($id: ID!) { order(id: $id) { statusPageUrl } }",
                {"id": f"gid://shopify/Order/{order_id}"},
            )["order"]["statusPageUrl"]
        )

    def adopt(self, order_id: str) -> None:
        pass  # the run's own sandbox process: nothing to remove

    def base_url(self) -> str:
        return self.url


@dataclass(frozen=True)
class ShopifySandbox:
    url: str
    deliveries: Receiver  # every order topic's deliveries


# The store's own topic of each neutral one the harness is asked for (webhooks.py `TOPICS`).
SHOPIFY_TOPICS = {"order.updated": "orders/updated", "order.created": "orders/create"}


@pytest.fixture(scope="session")
def shopify_sandbox() -> Iterator[ShopifySandbox]:
    """One `python -m sandbox.shopify` process for the run (its products have unique names),
    its order topics subscribed (by another subscriber than the one under test) to a receiver."""
    receiver = Receiver()
    try:
        with running_shop() as shop:
            for topic in ("ORDERS_CREATE", "ORDERS_UPDATED"):
                shop.subscribe(topic, receiver.url)
            yield ShopifySandbox(shop.url, receiver)
    finally:
        receiver.close()


@pytest.fixture
def shopify_sandbox_harness(shopify_sandbox: ShopifySandbox, run_id: str) -> ShopifySandboxHarness:
    return ShopifySandboxHarness(shopify_sandbox, run_id)
