"""Webhook delivery like WooCommerce's WC_Webhook, against a fake store and a real receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from sandbox.faults import Faults
from sandbox.woocommerce.delivery import (
    DEFAULT_USER_AGENT,
    Deliverer,
    decode_secret,
    encode_payload,
    sign,
)
from tests.unit.sandbox.conftest import FakeStore
from tests.unit.sandbox.receiver import Receiver

VECTORS = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "signature-vectors.json"
)
ORDER = {"id": 41, "status": "processing", "line_items": [{"sku": "A/1", "name": "Café"}]}


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Independent verifier: full HTML unescape of the secret, then HMAC-SHA256 + base64."""
    key = html.unescape(secret).encode()
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


@pytest.fixture
def deliverer(fake_store: FakeStore) -> Iterator[Deliverer]:
    d = Deliverer(fake_store, Faults({"seed": 1}), source_url="http://shop.test")
    yield d
    d.close()


def test_official_woocommerce_signature_vector() -> None:
    if not VECTORS.exists():
        pytest.skip(f"reference vectors not found at {VECTORS}")
    vector = next(
        v for v in json.loads(VECTORS.read_text())["vectors"] if v["platform"] == "woocommerce"
    )

    assert sign(vector["secret"], vector["body"].encode()) == vector["signature"]


def test_secret_is_html_entity_decoded_like_wp_specialchars_decode() -> None:
    assert decode_secret("a&amp;b&#039;c&lt;d&gt;e&quot;f&#x27;g&#0039;") == "a&b'c<d>e\"f'g'"
    # Only the five special characters are decoded, as wp_specialchars_decode does.
    assert decode_secret("&eacute;&#65;&nbsp;") == "&eacute;&#65;&nbsp;"
    assert sign("p&amp;ss", b"{}") == sign("p&ss", b"{}")
    assert sign("p&amp;ss", b"{}") != sign("p&amp;ss", b"{} ")


def test_payload_encoding_matches_wp_json_encode() -> None:
    body = encode_payload({"url": "http://x/y", "name": "Café", "n": [1, 2.5, None, True]})

    assert body == b'{"url":"http:\\/\\/x\\/y","name":"Caf\\u00e9","n":[1,2.5,null,true]}'
    assert json.loads(body) == {"url": "http://x/y", "name": "Café", "n": [1, 2.5, None, True]}


def test_order_created_is_delivered_with_woocommerce_headers(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(7, "order.created", receiver.url, secret="s&amp;cret")
    fake_store.add_webhook(8, "order.updated", receiver.url)

    deliverer.on_event("order.created", 41)
    assert deliverer.wait_idle(10)

    [got] = receiver.wait_for(1)
    expected = {
        **ORDER,
        "_links": {
            "self": [{"href": "http://shop.test/wp-json/wc/v3/orders/41"}],
            "collection": [{"href": "http://shop.test/wp-json/wc/v3/orders"}],
        },
    }
    assert got.path == "/hook"
    assert got.body == encode_payload(expected)
    assert json.loads(got.body) == expected
    h = got.headers
    assert h["Content-Type"] == "application/json"
    assert h["User-Agent"] == DEFAULT_USER_AGENT
    assert re.fullmatch(
        r"WooCommerce/\d+\.\d+\.\d+ Hookshot \(WordPress/\d+\.\d+\.\d+\)", h["User-Agent"]
    )
    assert h["X-WC-Webhook-Source"] == "http://shop.test/"
    assert h["X-WC-Webhook-Topic"] == "order.created"
    assert h["X-WC-Webhook-Resource"] == "order"
    assert h["X-WC-Webhook-Event"] == "created"
    assert h["X-WC-Webhook-ID"] == "7"
    assert re.fullmatch(r"[0-9a-f]{32}", h["X-WC-Webhook-Delivery-ID"])
    assert verify("s&amp;cret", got.body, h["X-WC-Webhook-Signature"])
    assert not verify("s&amp;cret", got.body + b" ", h["X-WC-Webhook-Signature"])
    assert fake_store.recorded == [(7, True)]
    [entry] = deliverer.deliveries()
    assert entry["kind"] == "delivery"
    assert (entry["webhook_id"], entry["topic"], entry["resource_id"]) == (7, "order.created", 41)
    assert entry["delivery_id"] == h["X-WC-Webhook-Delivery-ID"]
    assert (entry["status_code"], entry["error"], entry["fault"], entry["success"]) == (
        200,
        None,
        None,
        True,
    )
    assert entry["duration_ms"] > 0


def test_the_delivery_id_is_wp_hash_of_the_webhook_id_and_the_second(
    fake_store: FakeStore, receiver: Receiver
) -> None:
    # WC_Webhook::get_new_delivery_id: wp_hash( $id . strtotime( 'now' ) ), an HMAC-MD5 keyed
    # with the site's salt: one webhook's deliveries within a second share their id.
    now = [1_700_000_000.25]
    deliverer = Deliverer(fake_store, wall_clock=lambda: now[0], salt=b"auth salt")
    fake_store.products[3] = {"id": 3, "stock_quantity": 2}
    fake_store.add_webhook(1, "product.updated", receiver.url)
    fake_store.add_webhook(2, "product.updated", receiver.url)
    try:
        deliverer.on_event("product.updated", 3)
        assert deliverer.wait_idle(10)
        now[0] = 1_700_000_000.75
        deliverer.on_event("product.updated", 3)
        assert deliverer.wait_idle(10)
        now[0] = 1_700_000_001.0
        deliverer.on_event("product.updated", 3)
        assert deliverer.wait_idle(10)
    finally:
        deliverer.close()

    got = receiver.wait_for(6)
    ids = [(r.headers["X-WC-Webhook-ID"], r.headers["X-WC-Webhook-Delivery-ID"]) for r in got]
    first = hmac.new(b"auth salt", b"11700000000", hashlib.md5).hexdigest()
    second = hmac.new(b"auth salt", b"21700000000", hashlib.md5).hexdigest()
    later = hmac.new(b"auth salt", b"11700000001", hashlib.md5).hexdigest()
    assert ids[:4] == [("1", first), ("2", second), ("1", first), ("2", second)]
    assert ids[4][1] == later and ids[4][0] == "1"
    assert [e["delivery_id"] for e in deliverer.deliveries()] == [i for _, i in reversed(ids)]


def test_links_name_customer_and_parent(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[9] = {"id": 9, "customer_id": 4, "parent_id": 8}
    fake_store.products[21] = {"id": 21, "parent_id": 20}
    fake_store.add_webhook(1, "order.updated", receiver.url)
    fake_store.add_webhook(2, "product.updated", receiver.url)

    deliverer.on_event("order.updated", 9)
    deliverer.on_event("product.updated", 21)
    order, product = (json.loads(r.body) for r in receiver.wait_for(2))

    base = "http://shop.test/wp-json/wc/v3"
    assert order["_links"] == {
        "self": [{"href": f"{base}/orders/9"}],
        "collection": [{"href": f"{base}/orders"}],
        "customer": [{"href": f"{base}/customers/4"}],
        "up": [{"href": f"{base}/orders/8"}],
    }
    assert product["_links"] == {
        "self": [{"href": f"{base}/products/21"}],
        "collection": [{"href": f"{base}/products"}],
        "up": [{"href": f"{base}/products/20"}],
    }


def test_deleted_payload_is_only_the_id(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.add_webhook(2, "order.deleted", receiver.url, secret="")

    deliverer.on_event("order.deleted", 41)
    [got] = receiver.wait_for(1)

    assert got.body == b'{"id":41}'
    assert verify("", got.body, got.headers["X-WC-Webhook-Signature"])


def test_payload_is_read_when_the_delivery_runs(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    # WooCommerce builds the payload in the background action, so it shows the state then.
    fake_store.orders[41] = {"id": 41, "status": "pending"}
    fake_store.add_webhook(1, "order.created", receiver.url)
    receiver.gate.clear()
    deliverer.on_event("order.created", 41)
    deliverer.on_event("order.created", 41)
    receiver.wait_for(1)
    fake_store.orders[41] = {"id": 41, "status": "processing"}
    receiver.gate.set()

    got = receiver.wait_for(2)
    assert [json.loads(r.body)["status"] for r in got] == ["pending", "processing"]


def test_missing_resource_gives_the_rest_404_body(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.add_webhook(1, "order.updated", receiver.url)

    deliverer.on_event("order.updated", 999)
    [got] = receiver.wait_for(1)

    assert json.loads(got.body) == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }


def test_only_active_webhooks_for_the_topic_receive(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    fake_store.add_webhook(2, "order.created", receiver.url)
    fake_store.add_webhook(3, "order.created", receiver.url)
    fake_store.add_webhook(4, "product.created", receiver.url)
    fake_store.webhooks[3]["status"] = "paused"

    deliverer.on_event("order.created", 41)
    assert deliverer.wait_idle(10)

    assert sorted(r.headers["X-WC-Webhook-ID"] for r in receiver.requests) == ["1", "2"]
    assert sorted(fake_store.recorded) == [(1, True), (2, True)]


@pytest.mark.parametrize(
    ("status", "success"),
    [
        (200, True),
        (201, True),
        (204, True),
        (299, True),
        (301, True),
        (302, True),
        (303, False),
        (307, False),
        (400, False),
        (404, False),
        (500, False),
        (503, False),
    ],
)
def test_success_is_a_code_from_200_to_302(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer, status: int, success: bool
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    receiver.default_status = status
    receiver.extra_headers = {"Location": receiver.url + "/elsewhere"}

    deliverer.on_event("order.created", 41)
    assert deliverer.wait_idle(10)

    # Redirects are never followed: exactly one request reached the receiver.
    assert [r.path for r in receiver.requests] == ["/hook"]
    assert fake_store.recorded == [(1, success)]
    assert deliverer.deliveries()[0]["status_code"] == status


def test_unreachable_receiver_is_a_failure(fake_store: FakeStore, deliverer: Deliverer) -> None:
    closed = Receiver()
    url = closed.url
    closed.close()
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", url)

    deliverer.on_event("order.created", 41)
    assert deliverer.wait_idle(10)

    assert fake_store.recorded == [(1, False)]
    entry = deliverer.deliveries()[0]
    assert (entry["status_code"], entry["error"], entry["success"]) == (
        None,
        "ConnectionError",
        False,
    )


def test_on_event_never_waits_for_the_receiver(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    receiver.gate.clear()

    started = time.monotonic()
    for _ in range(5):
        deliverer.on_event("order.created", 41)
    elapsed = time.monotonic() - started
    receiver.wait_for(1)

    assert elapsed < 0.5
    assert deliverer.wait_idle(0.2) is False
    assert fake_store.recorded == []
    receiver.gate.set()
    assert deliverer.wait_idle(10) is True
    assert fake_store.recorded == [(1, True)] * 5


def test_ping_is_form_encoded_and_unsigned(receiver: Receiver, deliverer: Deliverer) -> None:
    webhook = {"id": 12, "topic": "order.created", "delivery_url": receiver.url, "secret": "x"}

    assert deliverer.ping(webhook) is True

    [got] = receiver.requests
    assert got.body == b"webhook_id=12"
    assert got.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert got.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert not [name for name in got.headers if name.lower().startswith("x-wc-webhook")]
    entry = deliverer.deliveries()[0]
    assert (entry["kind"], entry["webhook_id"], entry["status_code"], entry["success"]) == (
        "ping",
        12,
        200,
        True,
    )


@pytest.mark.parametrize("status", [201, 204, 404, 500])
def test_ping_needs_exactly_200(receiver: Receiver, deliverer: Deliverer, status: int) -> None:
    receiver.default_status = status
    webhook = {"id": 12, "topic": "order.created", "delivery_url": receiver.url, "secret": "x"}

    assert deliverer.ping(webhook) is False
    assert len(receiver.requests) == 1


def test_ping_to_unreachable_url_is_false(deliverer: Deliverer) -> None:
    closed = Receiver()
    url = closed.url
    closed.close()

    assert deliverer.ping({"id": 1, "delivery_url": url}) is False
    assert deliverer.deliveries()[0]["error"] == "ConnectionError"


def test_source_defaults_to_the_request_host(fake_store: FakeStore, receiver: Receiver) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    deliverer = Deliverer(fake_store, Faults())
    try:
        with Flask(__name__).test_request_context(
            "/wp-json/wc/v3/orders", base_url="http://s.local:8080"
        ):
            deliverer.on_event("order.created", 41)
        [got] = receiver.wait_for(1)
    finally:
        deliverer.close()

    assert got.headers["X-WC-Webhook-Source"] == "http://s.local:8080/"


# ------------------------------------------------------------------------ faults


def test_fail_next_fails_without_sending(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    deliverer.faults.update({"fail_next": 2})

    for _ in range(3):
        deliverer.on_event("order.created", 41)
    assert deliverer.wait_idle(10)

    assert len(receiver.requests) == 1
    assert fake_store.recorded == [(1, False), (1, False), (1, True)]
    log = deliverer.deliveries()
    assert [(e["fault"], e["error"], e["success"]) for e in reversed(log)] == [
        ("fail_next", "injected failure", False),
        ("fail_next", "injected failure", False),
        (None, None, True),
    ]


def test_drop_sends_nothing_and_records_nothing(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    deliverer.faults.update({"drop_rate": 1.0})

    deliverer.on_event("order.created", 41)
    assert deliverer.wait_idle(10)

    assert receiver.requests == []
    assert fake_store.recorded == []
    [entry] = deliverer.deliveries()
    assert (entry["fault"], entry["delivery_id"], entry["status_code"]) == ("drop", None, None)


def test_seeded_drop_and_duplicate_give_exact_counts(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    config = {"seed": 42, "drop_rate": 0.3, "duplicate_rate": 0.3}
    replay = Faults(config)
    plans = [replay.plan_delivery() for _ in range(30)]
    expected_sent = sum(0 if p.drop else p.copies for p in plans)
    dropped = sum(1 for p in plans if p.drop)
    doubled = sum(1 for p in plans if p.copies == 2)
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    deliverer.faults.update(config)

    for _ in range(30):
        deliverer.on_event("order.created", 41)
    assert deliverer.wait_idle(10)

    assert dropped > 0 and doubled > 0
    assert len(receiver.requests) == expected_sent == 30 - dropped + doubled
    assert len(fake_store.recorded) == expected_sent
    faults_logged = [e["fault"] for e in deliverer.deliveries()]
    assert faults_logged.count("drop") == dropped
    assert faults_logged.count("duplicate") == 2 * doubled


def test_delay_lets_later_deliveries_overtake(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    config = {"seed": 3, "delay_rate": 1.0, "delay_max_ms": 600}
    delay_ms = Faults(config).plan_delivery().delay_ms
    assert delay_ms >= 200, "seed precondition: the first delay is long enough to observe"
    fake_store.orders[1] = {"id": 1}
    fake_store.orders[2] = {"id": 2}
    fake_store.add_webhook(1, "order.created", receiver.url)
    deliverer.faults.update(config)

    deliverer.on_event("order.created", 1)
    deliverer.faults.update({"delay_rate": 0.0})
    deliverer.on_event("order.created", 2)
    got = receiver.wait_for(2)

    assert [json.loads(r.body)["id"] for r in got] == [2, 1]
    assert deliverer.wait_idle(10)
    assert deliverer.deliveries()[0]["fault"] == f"delay:{delay_ms}ms"


def test_close_stops_the_worker(fake_store: FakeStore, receiver: Receiver) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    deliverer = Deliverer(fake_store, Faults())
    deliverer.close()

    deliverer.on_event("order.created", 41)

    assert deliverer.wait_idle(0.1) is True
    assert receiver.requests == []


# ---------------------------------------------------- queued delivery (Action Scheduler + WP-Cron)


def test_a_queued_delivery_waits_then_sends_the_latest_state_once(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = {"id": 41, "status": "pending"}
    fake_store.orders[42] = {"id": 42, "status": "pending"}
    fake_store.add_webhook(1, "order.updated", receiver.url)
    fake_store.add_webhook(2, "order.updated", receiver.url)
    deliverer.faults.update({"delivery_delay_ms": 400})

    started = time.monotonic()
    deliverer.on_event("order.updated", 41)
    fake_store.orders[41] = {"id": 41, "status": "processing"}
    deliverer.on_event("order.updated", 41)  # still waiting: not queued again
    deliverer.on_event("order.updated", 42)
    receiver.wait_for(1)
    waited = time.monotonic() - started
    assert deliverer.wait_idle(10)

    assert waited >= 0.4
    got = receiver.requests
    # One delivery per webhook and resource (wc_webhook_execute_queue), built when sent.
    assert sorted(
        (r.headers["X-WC-Webhook-ID"], json.loads(r.body)["id"], json.loads(r.body)["status"])
        for r in got
    ) == [("1", 41, "processing"), ("1", 42, "pending"), ("2", 41, "processing"),
          ("2", 42, "pending")]  # fmt: skip
    assert len(deliverer.deliveries()) == 4
    # Once sent, the next change is queued again.
    deliverer.on_event("order.updated", 41)
    assert deliverer.wait_idle(10)
    assert len(receiver.requests) == 6


def test_run_queue_sends_what_waits_now_as_wp_cron_would(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.created", receiver.url)
    deliverer.faults.update({"delivery_delay_ms": 600_000})
    deliverer.on_event("order.created", 41)

    assert deliverer.wait_idle(0.3) is False
    assert receiver.requests == [] and fake_store.recorded == []
    deliverer.run_queue()
    assert deliverer.wait_idle(10) is True
    assert [r.headers["X-WC-Webhook-Topic"] for r in receiver.requests] == ["order.created"]
    assert fake_store.recorded == [(1, True)]


def test_without_a_queue_delay_every_event_is_sent(
    fake_store: FakeStore, receiver: Receiver, deliverer: Deliverer
) -> None:
    fake_store.orders[41] = ORDER
    fake_store.add_webhook(1, "order.updated", receiver.url)
    receiver.gate.clear()  # the first delivery is still running when the others come
    for _ in range(3):
        deliverer.on_event("order.updated", 41)
    receiver.wait_for(1)
    receiver.gate.set()

    assert deliverer.wait_idle(10)
    assert len(receiver.requests) == 3
