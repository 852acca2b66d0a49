"""What one split order costs in Shopify requests, counted by operation: the sandbox process
delivers its webhooks to a real receiver, each delivery goes into the plugin's inbox (one row per
order state, as the webhook route records it) and each new row is handled as a worker job does,
by `handle_order_event` with a Platform of its own. The split's job, a split resumed after a
failed write, then the events the split's own writes cause (orders/updated for the record and
capture and for the note; the hold changes a fulfillment order, not the order) and a later
change of the merchant's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.stores import StoreRepository
from plugin.errors import TransientError
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from plugin.platforms.shopify.webhooks import TOPIC_HEADER, parse
from plugin.ports import SplitState
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.platforms.shopify.test_platform_sandbox import gid_of, order_gid, view
from tests.integration.platforms.shopify.test_usecases_sandbox import Plugin
from tests.integration.sandbox_shopify.conftest import Shop
from tests.unit.sandbox.receiver import Receiver

# The order topics a connected store subscribes to (webhooks.TOPICS), in GraphQL's spelling.
ORDER_SUBSCRIPTIONS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED")


@dataclass(frozen=True)
class Job:
    """One inbox event handled: its topic, what came of it and the requests it sent."""

    topic: str
    status: str
    operations: Counter[str]


class Worker:
    """The plugin's inbox and use cases for one store, fed by a receiver's deliveries."""

    def __init__(self, shop: Shop, db: Database, stores: StoreRepository) -> None:
        self.shop = shop
        self.plugin = Plugin(shop, db, stores)
        self.inbox = InboxRepository(db)
        self.receiver = Receiver()
        self.seen = 0
        for topic in ORDER_SUBSCRIPTIONS:
            shop.subscribe(topic, self.receiver.url)

    def run(self) -> list[Job]:
        """Deliver what the shop has to send, handle each new inbox event, and again for what
        those jobs caused, until nothing more is delivered."""
        jobs: list[Job] = []
        while True:
            self.shop.flush()
            deliveries = self.receiver.requests[self.seen :]
            if not deliveries:
                return jobs
            self.seen += len(deliveries)
            for delivery in deliveries:
                topic = delivery.headers[TOPIC_HEADER]
                event = parse(topic, delivery.body, delivery.headers.get)
                added = self.inbox.add(
                    self.plugin.store_id, event.topic, event.resource_id, event.modified_gmt,
                    "webhook", fingerprint=event.fingerprint,
                )  # fmt: skip
                if added is not None:
                    jobs.append(self.handle(topic, event.resource_id))

    def handle(self, topic: str, order_id: str) -> Job:
        """One job: a Platform of its own (registry.for_store), so nothing read outlives it;
        a transient failure is what RQ retries ("retry")."""
        client = ShopifyClient(self.shop.url, DEMO_ACCESS_TOKEN)
        self.plugin.platform = ShopifyPlatform(client)
        try:
            status = self.plugin.handle(order_id).status
        except TransientError:
            status = "retry"
        return Job(topic, status, client.operations)

    def close(self) -> None:
        self.receiver.close()


@pytest.fixture
def worker(shop: Shop, db: Database, stores: StoreRepository) -> Iterator[Worker]:
    running = Worker(shop, db, stores)
    yield running
    running.close()


CANCEL = """mutation cancel($id: ID!) { orderCancel(orderId: $id, refund: false,
  restock: true, reason: CUSTOMER, notifyCustomer: false) {
    orderCancelUserErrors { field message } } }"""


NOTE = """mutation note($input: OrderInput!) { orderUpdate(input: $input) {
  userErrors { field message } } }"""


def ignored_unread(jobs: list[Job]) -> bool:
    return all((job.status, job.operations) == ("ignored", Counter()) for job in jobs)


@pytest.mark.database("sqlite")  # requests to the shop, whatever the storage
def test_a_split_reads_its_order_once_and_the_events_its_writes_cause_read_nothing(
    shop: Shop, worker: Worker
) -> None:
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))

    [created, *echoes] = worker.run()

    assert (created.topic, created.status) == ("orders/create", "split")
    [record] = worker.plugin.splits.for_order(worker.plugin.store_id, order_id)
    assert record.state == SplitState.DONE
    after = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in after["fulfillmentOrders"]["nodes"]] == ["ON_HOLD", "OPEN"]
    assert "Backorders split this order" in after["note"]
    # Until 2026-12-05 the order was read twice (the decision, then again before the writes):
    # 6 requests.
    assert created.operations == Counter(
        {"order": 1, "stock": 1, "hold": 1, "recordAndCapture": 1, "note": 1}
    )
    # The record and capture, and the note, come back as orders/updated (the inbox keeps one
    # per order state: one or two, as the seconds fall). Each cost an order read until
    # 2026-12-05; the finished split decides them alone now.
    assert [job.topic for job in echoes][:1] == ["orders/updated"]
    assert ignored_unread(echoes)

    # A later change of the merchant's comes to what it came to after its read: nothing
    # (a finished split is not revisited), without the read.
    cancelled = shop.data(CANCEL, {"id": gid_of(order_id)})["orderCancel"]
    assert cancelled["orderCancelUserErrors"] == []
    later = worker.run()
    assert later and ignored_unread(later)
    assert worker.plugin.splits.for_order(worker.plugin.store_id, order_id) == [record]


@pytest.mark.database("sqlite")  # requests to the shop, whatever the storage
def test_a_resumed_split_reads_its_order_once(shop: Shop, worker: Worker) -> None:
    name = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], payment="card")
    order_id = number(order_gid(shop, name))
    faults = f"{shop.url}/sandbox/faults"
    # The record and capture fail (503) after the hold: the job is retried.
    requests.post(faults, json={"api_fail_matching": "recordAndCapture"}, timeout=10)
    try:
        [failed] = worker.run()
    finally:
        requests.post(faults, json={"api_fail_matching": ""}, timeout=10)
    assert (failed.status, failed.operations) == (
        "retry",
        Counter({"order": 1, "stock": 1, "hold": 1, "recordAndCapture": 1}),
    )
    [record] = worker.plugin.splits.for_order(worker.plugin.store_id, order_id)
    assert (record.state, record.create_attempted) == (SplitState.PLANNED, True)

    retried = worker.handle("orders/create", order_id)

    assert retried.status == "split"
    # Until 2026-12-05 three order reads (the event's, the look for the hold, the writes'):
    # 5 requests. The hold is found by its handle on the order the job read.
    assert retried.operations == Counter({"order": 1, "recordAndCapture": 1, "note": 1})
    [record] = worker.plugin.splits.for_order(worker.plugin.store_id, order_id)
    assert record.state == SplitState.DONE
    after = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in after["fulfillmentOrders"]["nodes"]] == ["ON_HOLD", "OPEN"]
    assert [t["amountSet"]["shopMoney"]["amount"] for t in after["transactions"]] == [
        "147.0",
        "12.0",
    ]
    assert ignored_unread(worker.run())


@pytest.mark.database("sqlite")  # requests to the shop, whatever the storage
def test_an_order_held_whole_reads_its_order_once_and_its_note_coming_back_reads_nothing(
    shop: Shop, worker: Worker
) -> None:
    name = shop.checkout([("BOARD-WALNUT", 2)], payment="card")
    order_id = number(order_gid(shop, name))

    [created, *echoes] = worker.run()

    assert (created.topic, created.status) == ("orders/create", "hold")
    after = view(shop, gid_of(order_id))
    assert [fo["status"] for fo in after["fulfillmentOrders"]["nodes"]] == ["ON_HOLD"]
    assert after["note"].startswith("Backorders put this order On Hold")
    # Until 2026-12-05 the hold read the order again before holding it: 5 requests.
    assert created.operations == Counter({"order": 1, "stock": 1, "hold": 1, "note": 1})
    # Its note comes back as orders/updated, one inbox row when it falls in another second than
    # the order's creation (an order read until 2026-12-05).
    assert ignored_unread(echoes)

    # The merchant's note, a minute later: the hold is finished, it waits for stock, unread.
    requests.post(f"{shop.url}/sandbox/shopify/clock", json={"advance_seconds": 60}, timeout=10)
    noted = shop.data(NOTE, {"input": {"id": gid_of(order_id), "note": "Gift wrap"}})
    assert noted["orderUpdate"]["userErrors"] == []
    [later] = worker.run()
    assert (later.topic, later.status, later.operations) == ("orders/updated", "ignored", Counter())
    assert [fo["status"] for fo in view(shop, gid_of(order_id))["fulfillmentOrders"]["nodes"]] == [
        "ON_HOLD"
    ]
