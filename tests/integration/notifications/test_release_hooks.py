"""The hooks the release flow calls (`worker.notify_released`, `worker.notify_stock_arrived`),
against the sandbox store and a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

import worker
from plugin.adapters.sql.outbox import OutboxRepository
from tests.integration.notifications.conftest import Setup, SmtpServer, configure, make_setup
from tests.integration.notifications.test_mail_delivery import run_jobs
from tests.integration.worker.conftest import Sandbox, sandbox  # noqa: F401 - fixture


@pytest.fixture
def live(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    migrated_database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    smtp_server: SmtpServer,
    sandbox: Sandbox,  # noqa: F811 - the imported fixture
) -> Iterator[Setup]:
    from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    url = configure(
        monkeypatch, tmp_path, redis_url, migrated_database_url, SMTP_URL=smtp_server.url
    )
    setup = make_setup(url, redis_client)
    setup.stores.update_credentials(
        setup.store.id,
        base_url=sandbox.url,
        consumer_key=DEMO_CONSUMER_KEY,
        consumer_secret=DEMO_CONSUMER_SECRET,
    )
    yield setup
    setup.db.dispose()
    if worker._runtime is not None:
        worker._runtime.db.dispose()


def test_released_backorder_mails_the_customer_the_payment_link(
    live: Setup,
    smtp_server: SmtpServer,
    sandbox: Sandbox,  # noqa: F811 - the imported fixture
) -> None:
    product = sandbox.store.create_product({"name": "Widget", "regular_price": "10.00"})
    order = sandbox.store.create_order(
        {
            "status": "pending",
            "billing": {"first_name": "Bea", "last_name": "Ray", "email": "bea@buyer.test"},
            "line_items": [{"product_id": product["id"], "quantity": 3}],
        }
    )

    worker.notify_released(live.store.id, str(order["id"]), "https://shop.test/pay/1")
    run_jobs(live.redis)

    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["bea@buyer.test"]
    assert received.message["Subject"] == f"Your backorder {order['number']} is on its way"
    body = received.message.get_payload(decode=True).decode().replace("\r\n", "\n")
    # It ends with the link to the customer's page (issue 15), whose token is time-stamped.
    body, link = body.split("\nYour order page: ")
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/stores/\d+/my-order/[\w.-]+\n", link)
    assert body == (
        "Hello Bea Ray,\n"
        "\n"
        f"the items of your backorder {order['number']} at Mug Shop are in stock:\n"
        "- 3 x Widget\n"
        "\n"
        "Please pay for them here so we can ship: https://shop.test/pay/1\n"
    )


def test_stock_arrival_alerts_the_merchant_once_per_arrival(
    live: Setup, smtp_server: SmtpServer
) -> None:
    worker.notify_stock_arrived(live.store.id, "17:21", 5)
    run_jobs(live.redis)

    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ["owner@mugs.test"]
    assert received.message["Subject"] == (
        "Stock arrived for open backorders: product 17 variation 21"
    )
    [record] = OutboxRepository(live.db).list(live.store.id)
    assert (record.kind, record.status) == ("stock_arrived", "sent")
