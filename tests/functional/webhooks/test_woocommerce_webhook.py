from __future__ import annotations

import io
import json

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rq.job import Job
from rq.serializers import JSONSerializer

from plugin.adapters.queue.jobs import QUEUE_NAME, event_queue
from plugin.adapters.sql.stores import StoreRecord, StoreRepository
from plugin.platforms.woocommerce.fingerprint import order_fingerprint
from plugin.platforms.woocommerce.webhooks import FINGERPRINTS
from tests.examples import examples

from .conftest import (
    WEBHOOK_SECRET,
    deliver,
    inbox_count,
    job_keys,
    order_payload,
    relayed_job_keys,
    state,
)


def assert_nothing_recorded(app: Flask, connection: redis.Redis) -> None:
    assert inbox_count(app) == 0
    assert relayed_job_keys(app, connection) == []
    assert event_queue(connection).count == 0
    assert [s.last_event_at for s in state(app).stores.list()] == [None] * len(
        state(app).stores.list()
    )


# --- accepted ---------------------------------------------------------------------------------


def test_signed_order_is_recorded_and_enqueued_once(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    response = deliver(client, store.id, order_payload(1042))
    assert response.status_code == 202
    event_id = response.get_json()["event_id"]
    assert response.get_json() == {"event_id": event_id, "duplicate": False}

    event = state(app).events.get(event_id)
    assert event is not None
    assert (event.store_id, event.topic, event.resource_id, event.status, event.source) == (
        store.id,
        "order.created",
        "1042",
        "pending",  # until the worker settles it; no second write on the request path
        "webhook",
    )
    fingerprint = order_fingerprint(order_payload(1042))
    assert event.dedupe_key == f"order:1042:2026-03-01T10:00:00:{fingerprint}"
    assert relayed_job_keys(app, redis_client) == [f"rq:job:event-{event_id}"]
    job = Job.fetch(f"event-{event_id}", connection=redis_client, serializer=JSONSerializer)
    assert (job.func_name, job.args, job.origin) == ("worker.process_event", [event_id], QUEUE_NAME)
    assert job.retries_left == 5
    assert event_queue(redis_client).job_ids == [f"event-{event_id}"]
    stored = state(app).stores.get(store.id)
    assert stored is not None and stored.last_event_at == event.received_at


def test_duplicate_deliveries_give_one_row_and_one_job(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    first = deliver(client, store.id, order_payload(7))
    # The delivery id names no state (WooCommerce's is wp_hash of the webhook id and the
    # second: it repeats within a second, and a re-delivery a second later has another); the
    # resource state is the same.
    again = deliver(client, store.id, order_payload(7), headers={"X-WC-Webhook-Delivery-ID": "2"})
    assert first.status_code == again.status_code == 202
    assert again.get_json() == {"duplicate": True}
    assert inbox_count(app) == 1
    assert relayed_job_keys(app, redis_client) == [f"rq:job:event-{first.get_json()['event_id']}"]


def test_a_later_change_of_the_same_order_is_a_new_event(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    one = deliver(client, store.id, order_payload(7, "2026-03-01T10:00:00"), topic="order.updated")
    two = deliver(client, store.id, order_payload(7, "2026-03-01T10:05:00"), topic="order.updated")
    product = deliver(
        client,
        store.id,
        {
            "id": 7,
            "date_modified_gmt": "2026-03-01T10:05:00",
            "stock_quantity": 3,
            "backorders": "notify",
        },
        topic="product.updated",
    )
    ids = [r.get_json()["event_id"] for r in (one, two, product)]
    assert [r.status_code for r in (one, two, product)] == [202, 202, 202]
    assert len(set(ids)) == 3
    assert inbox_count(app) == 3
    assert relayed_job_keys(app, redis_client) == sorted(f"rq:job:event-{i}" for i in ids)


# --- guards -----------------------------------------------------------------------------------


def test_unsigned_ping_answers_200_and_stores_nothing(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    for store_id in (store.id, store.id + 99):  # also before the store row exists
        response = client.post(
            f"/webhooks/woocommerce/{store_id}",
            data=b"webhook_id=15",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
    assert_nothing_recorded(app, redis_client)
    stored = state(app).stores.get(store.id)
    assert stored is not None and stored.last_event_at is None


@pytest.mark.parametrize("value", ["%C2%B2", "1%0A", "%D9%A3", "", "1" * 21])
def test_a_ping_names_its_webhook_in_ascii_digits(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis, value: str
) -> None:
    # `str.isdigit` took "²" (and Arabic-Indic digits) for a webhook id: such a body was
    # answered 200 as an unsigned ping. It is an unsigned delivery, refused like one.
    response = client.post(
        f"/webhooks/woocommerce/{store.id}",
        data=f"webhook_id={value}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
    assert_nothing_recorded(app, redis_client)


def test_unknown_and_disconnected_stores_are_refused_like_a_bad_signature(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    refused = (401, {"error": "missing or invalid signature"})
    unknown = deliver(client, store.id + 1, order_payload())
    assert (unknown.status_code, unknown.get_json()) == refused
    state(app).stores.set_status(store.id, "disconnected")
    response = deliver(client, store.id, order_payload())
    assert (response.status_code, response.get_json()) == refused
    assert_nothing_recorded(app, redis_client)


@pytest.mark.parametrize(
    "signature",
    [None, "", "not-base64", "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=", "é"],
)
def test_missing_or_wrong_signature_is_401(
    app: Flask,
    client: FlaskClient,
    store: StoreRecord,
    redis_client: redis.Redis,
    signature: str | None,
) -> None:
    if signature is None:
        response = deliver(client, store.id, order_payload(), secret=None)
    else:
        response = deliver(client, store.id, order_payload(), signature=signature)
    assert response.status_code == 401
    assert_nothing_recorded(app, redis_client)


def test_signature_is_checked_on_the_raw_bytes(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    from plugin.platforms.woocommerce.signature import sign

    signed = json.dumps(order_payload()).encode()
    reformatted = json.dumps(order_payload(), indent=2).encode()  # same JSON, other bytes
    response = deliver(client, store.id, reformatted, signature=sign(WEBHOOK_SECRET, signed))
    assert response.status_code == 401
    wrong_secret = deliver(client, store.id, signed, secret="wh-secret-&-1x")
    assert wrong_secret.status_code == 401
    assert_nothing_recorded(app, redis_client)


def test_body_over_the_limit_is_413_by_declared_length(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    limit = state(app).config.max_webhook_bytes
    assert limit == 1_048_576
    body = b'{"id": 1, "pad": "' + b"x" * limit + b'"}'
    response = deliver(client, store.id, body)
    assert response.status_code == 413
    assert_nothing_recorded(app, redis_client)


def test_chunked_body_over_the_limit_is_413(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    limit = state(app).config.max_webhook_bytes
    body = b'{"id": 1, "pad": "' + b"x" * limit + b'"}'
    from plugin.platforms.woocommerce.signature import sign

    # No Content-Length: the server decodes the chunks and marks the stream terminated, as
    # gunicorn does (wsgi.input_terminated).
    response = client.post(
        f"/webhooks/woocommerce/{store.id}",
        input_stream=io.BytesIO(body),
        headers={
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json",
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Signature": sign(WEBHOOK_SECRET, body),
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert_nothing_recorded(app, redis_client)


def test_chunked_body_within_the_limit_is_accepted(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    from plugin.platforms.woocommerce.signature import sign

    body = json.dumps(order_payload(5)).encode()
    response = client.post(
        f"/webhooks/woocommerce/{store.id}",
        input_stream=io.BytesIO(body),
        headers={
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json",
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Signature": sign(WEBHOOK_SECRET, body),
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 202
    assert inbox_count(app) == 1
    assert len(relayed_job_keys(app, redis_client)) == 1


def _order(**changes: object) -> bytes:
    payload = order_payload(1042)
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    return json.dumps(payload).encode()


MISSING = "Missing data for required field."
OUT_OF_RANGE = "Must be greater than or equal to 1 and less than or equal to 18446744073709551615."


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "payload is not a JSON object"),
        (_order(id="1042x"), "invalid payload: id: Not a valid integer."),
        (_order(id=0), f"invalid payload: id: {OUT_OF_RANGE}"),
        # Past BIGINT UNSIGNED: no WooCommerce id, and longer than the inbox's resource_id.
        (_order(id=2**64), f"invalid payload: id: {OUT_OF_RANGE}"),
        (_order(id=10**70), f"invalid payload: id: {OUT_OF_RANGE}"),
        (_order(id=None), f"invalid payload: id: {MISSING}"),
        (_order(date_modified_gmt=None), f"invalid payload: date_modified_gmt: {MISSING}"),
        (
            _order(date_modified_gmt="soon"),
            "invalid payload: date_modified_gmt: Not a valid date-time.",
        ),
        (
            json.dumps({"id": None, "date_modified_gmt": 20260301}).encode(),
            "invalid payload: id: Field may not be null.; "
            "date_modified_gmt: Not a valid date-time.",
        ),
    ],
)
def test_malformed_payload_is_400_with_a_reason(
    app: Flask,
    client: FlaskClient,
    store: StoreRecord,
    redis_client: redis.Redis,
    body: bytes,
    reason: str,
) -> None:
    response = deliver(client, store.id, body, topic="order.updated")
    assert (response.status_code, response.get_json()) == (400, {"error": reason})
    assert_nothing_recorded(app, redis_client)


def test_the_largest_woocommerce_id_is_recorded(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    response = deliver(client, store.id, _order(id=2**64 - 1), topic="order.updated")
    assert response.status_code == 202
    event = state(app).events.get(response.get_json()["event_id"])
    assert event is not None and event.resource_id == "18446744073709551615"
    assert relayed_job_keys(app, redis_client) == [f"rq:job:event-{event.id}"]


@pytest.mark.parametrize("topic", ["order.updated", "product.updated"])
def test_fields_the_job_re_fetches_are_not_validated_on_receipt(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis, topic: str
) -> None:
    # The job reads the order or product from the store and validates that; a delivery is
    # refused only for what names the resource state (id, date_modified_gmt).
    body = {
        "id": 1042,
        "date_modified_gmt": "2026-03-01T10:00:00",
        "currency": None,
        "line_items": [{"id": 1}],
        "backorders": "sometimes",
    }
    response = deliver(client, store.id, body, topic=topic)
    assert response.status_code == 202
    event = state(app).events.get(response.get_json()["event_id"])
    assert event is not None
    fingerprint = FINGERPRINTS[topic.partition(".")[0]](body)
    assert event.dedupe_key == f"{topic.partition('.')[0]}:1042:2026-03-01T10:00:00:{fingerprint}"
    assert relayed_job_keys(app, redis_client) == [f"rq:job:event-{event.id}"]


# What WooCommerce 9.9.5 signs and sends for a Store API checkout when it delivers inside the
# request (seen on the real store, README "Against a real WooCommerce store"): its internal
# `GET /wc/v3/orders/<id>` finds no route, and the error is the payload.
NO_ROUTE = {
    "code": "rest_no_route",
    "message": "No route was found matching the URL and request method.",
    "data": {"status": 404},
}


@pytest.mark.parametrize("topic", ["order.created", "order.updated", "product.updated"])
def test_the_stores_own_rest_error_in_place_of_the_resource_is_200_and_records_nothing(
    app: Flask,
    client: FlaskClient,
    store: StoreRecord,
    redis_client: redis.Redis,
    topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Answered 400, each such delivery counted a failure against the store's webhook, which a
    store disables after five in a row. It names no order to record: 200, nothing recorded, a
    warning logged; reconciliation finds the order."""
    with caplog.at_level("WARNING", logger="webhooks.receive"):
        response = deliver(client, store.id, NO_ROUTE, topic=topic)
    assert (response.status_code, response.get_json()) == (
        200,
        {"recorded": False, "store_error": "rest_no_route"},
    )
    assert_nothing_recorded(app, redis_client)
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"event=webhook_store_error store_id={store.id} topic={topic} code=rest_no_route status=404"
    ]


@pytest.mark.parametrize(
    "topic",
    ["coupon.created", "action.woocommerce_add_to_cart", "order.deleted", "product.created"],
)
def test_unknown_or_ignored_topic_is_204(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis, topic: str
) -> None:
    response = deliver(client, store.id, {"id": 3}, topic=topic)
    assert (response.status_code, response.data) == (204, b"")
    assert_nothing_recorded(app, redis_client)


def test_missing_topic_header_is_400(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    response = deliver(client, store.id, order_payload(), topic="")
    assert response.status_code == 400
    assert_nothing_recorded(app, redis_client)


def test_other_methods_are_405(app: Flask, client: FlaskClient, store: StoreRecord) -> None:
    assert client.get(f"/webhooks/woocommerce/{store.id}").status_code == 405
    assert client.post("/webhooks/woocommerce/not-a-number").status_code == 404


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.binary(max_size=300),
    topic=st.sampled_from(["order.created", "product.updated", "x", "", "order.deleted"]),
    signed=st.booleans(),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""]),
)
def test_no_client_input_gives_a_server_error(
    app: Flask,
    client: FlaskClient,
    store: StoreRecord,
    body: bytes,
    topic: str,
    signed: bool,
    content_type: str,
) -> None:
    response = deliver(
        client,
        store.id,
        body,
        topic=topic,
        secret=WEBHOOK_SECRET if signed else None,
        headers={"Content-Type": content_type},
    )
    assert response.status_code in {200, 202, 204, 400, 401}
    if not signed:
        assert response.status_code in {200, 401}


# --- health -----------------------------------------------------------------------------------


def test_healthz_reports_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (
        200,
        {"status": "ok", "database": "ok", "redis": "ok"},
    )


def test_simultaneous_duplicate_deliveries_make_one_row_and_one_job(
    app: Flask, store: StoreRecord, redis_client: redis.Redis
) -> None:
    import threading

    answers: list[tuple[int, dict[str, object]]] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = deliver(client, store.id, order_payload(555))
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(status for status, _ in answers) == [202] * 6
    fresh = [body for _, body in answers if body.get("duplicate") is False]
    assert len(fresh) == 1
    assert [body for _, body in answers if body.get("duplicate") is True] == [
        {"duplicate": True}
    ] * 5
    assert inbox_count(app) == 1
    assert relayed_job_keys(app, redis_client) == [f"rq:job:event-{fresh[0]['event_id']}"]


# --- the cached webhook secret ----------------------------------------------------------------


def _other_process(app: Flask) -> StoreRepository:
    """The stores as another web process sees them: its own repository, so no shared cache."""
    return StoreRepository(state(app).db, state(app).vault)


def test_a_secret_replaced_by_another_process_is_used_at_once(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    assert deliver(client, store.id, order_payload(1)).status_code == 202  # secret now cached
    _other_process(app).update_credentials(store.id, webhook_secret="wh-new")

    old = deliver(client, store.id, order_payload(2))
    assert (old.status_code, old.get_json()) == (401, {"error": "missing or invalid signature"})
    new = deliver(client, store.id, order_payload(3), secret="wh-new")
    assert new.status_code == 202
    assert inbox_count(app) == 2
    assert [e.resource_id for e in state(app).events.list()] == ["3", "1"]
    assert len(relayed_job_keys(app, redis_client)) == 2


def test_a_store_disconnected_by_another_process_records_nothing_more(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    assert deliver(client, store.id, order_payload(1)).status_code == 202  # secret now cached
    _other_process(app).set_status(store.id, "disconnected")

    response = deliver(client, store.id, order_payload(2))
    assert (response.status_code, response.get_json()) == (
        401,
        {"error": "missing or invalid signature"},
    )
    assert inbox_count(app) == 1
    assert len(relayed_job_keys(app, redis_client)) == 1


def test_this_process_forgets_a_store_it_disconnects(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    assert deliver(client, store.id, order_payload(1)).status_code == 202
    state(app).stores.set_status(store.id, "disconnected")
    # Not even a 204 for an unknown topic: the cached, connected store is gone.
    assert deliver(client, store.id, {"id": 3}, topic="coupon.created").status_code == 401
    assert inbox_count(app) == 1


def test_a_database_failure_is_503_and_enqueues_nothing(
    app: Flask, client: FlaskClient, store: StoreRecord, redis_client: redis.Redis
) -> None:
    assert deliver(client, store.id, order_payload(1)).status_code == 202  # secret now cached
    assert len(relayed_job_keys(app, redis_client)) == 1
    db = state(app).db
    with db.engine.begin() as connection:  # the insert's driver error must surface as a 503
        connection.exec_driver_sql("ALTER TABLE inbox_events RENAME TO inbox_events_away")
    try:
        response = deliver(client, store.id, order_payload(2))
        assert (response.status_code, response.get_json()) == (
            503,
            {"error": "storage unavailable"},
        )
        assert len(job_keys(redis_client)) == 1
    finally:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE inbox_events_away RENAME TO inbox_events")
    # Nothing of the failed delivery was kept; the store's retry is accepted.
    assert inbox_count(app) == 1
    assert deliver(client, store.id, order_payload(2)).status_code == 202
    assert inbox_count(app) == 2
    assert len(relayed_job_keys(app, redis_client)) == 2
