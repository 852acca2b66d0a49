"""Defects found on the public routes, pinned: each was a 500 (or a wrong refusal) for a
request anyone can send; the fuzzing found the first ones (issue 7), the reporter of issue 13
the rest."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis

from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.woocommerce.signature import sign
from tests.functional.webhooks.conftest import (
    WEBHOOK_SECRET,
    app,
    client,
    deliver,
    inbox_count,
    job_keys,
    order_payload,
    state,
    store,
)

__all__ = ["app", "client", "store"]


def test_deeply_nested_json_is_refused_with_400(
    client: FlaskClient, store: StoreRecord, redis_client: Redis
) -> None:
    body = b"[" * 5000 + b"]" * 5000  # was: RecursionError in json.loads, a 500
    response = deliver(client, store.id, body)
    assert response.status_code == 400
    assert response.get_json() == {"error": "body is nested too deeply"}
    assert inbox_count(client.application) == 0
    assert job_keys(redis_client) == []


def test_a_modified_date_before_year_one_in_utc_is_refused_with_400(
    client: FlaskClient, store: StoreRecord, redis_client: Redis
) -> None:
    payload = order_payload()
    payload["date_modified_gmt"] = "0001-01-01T00:00:00+14:00"  # was: OverflowError, a 500
    response = deliver(client, store.id, payload)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid payload: date_modified_gmt: Not a valid date-time."
    }
    assert inbox_count(client.application) == 0
    assert job_keys(redis_client) == []


# Past SQLite's (and PostgreSQL's BIGINT) integer range: the lookup raised OverflowError.
# Past PostgreSQL's INTEGER (the id columns): the lookup's `::INTEGER` cast failed (a 5xx).
HUGE_IDS = [2**31, 2**62, 2**63, 2**64, 10**30]


def test_a_store_id_past_the_database_integer_range_is_404_on_the_webhook(
    client: FlaskClient, store: StoreRecord, redis_client: Redis
) -> None:
    for store_id in HUGE_IDS:
        response = deliver(client, store_id, order_payload())
        assert response.status_code == 404, store_id
    assert inbox_count(client.application) == 0
    assert job_keys(redis_client) == []


def test_a_store_id_past_the_database_integer_range_is_404_on_the_storefront(
    client: FlaskClient, store: StoreRecord
) -> None:
    for store_id in HUGE_IDS:
        assert client.get(f"/storefront/{store_id}/widget.js").status_code == 404
        assert client.get(f"/storefront/{store_id}/availability?product_ids=1").status_code == 404


# --- issue 13: unauthenticated 500s, and the size limit's edge -----------------------------


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_id_too_long_for_python_is_refused_with_400(
    client: FlaskClient, store: StoreRecord, redis_client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    modified = '"date_modified_gmt": "2026-03-01T10:00:00"'
    number = ("{" + f'"id": {"7" * 5001}, {modified}' + "}").encode()  # was: ValueError, a 500
    text = ("{" + f'"id": "{"7" * 5001}", {modified}' + "}").encode()
    answers = [deliver(client, store.id, body) for body in (number, text)]
    assert [(a.status_code, a.get_json()) for a in answers] == [
        (400, {"error": "body has a number too long to read"}),
        (400, {"error": "invalid payload: id: Not a valid integer."}),
    ]
    assert errors_logged(caplog) == []
    assert inbox_count(client.application) == 0
    assert job_keys(redis_client) == []


def test_ids_are_at_most_twenty_digits_like_wordpress_ids(
    client: FlaskClient, store: StoreRecord, redis_client: Redis
) -> None:
    too_long = deliver(client, store.id, order_payload(order_id=2**64))
    assert too_long.status_code == 400
    assert too_long.get_json() == {
        "error": "invalid payload: id: Must be greater than or equal to 1 and less than or "
        "equal to 18446744073709551615."
    }
    assert inbox_count(client.application) == 0
    largest = deliver(client, store.id, order_payload(order_id=2**64 - 1))
    assert largest.status_code == 202
    [event] = state(client.application).events.list()
    assert event.resource_id == "18446744073709551615"


def _exact_body(size: int) -> bytes:
    """A signed-able order payload of exactly `size` bytes."""
    payload = order_payload()
    payload["pad"] = ""
    padding = size - len(json.dumps(payload).encode())
    payload["pad"] = "x" * padding
    body = json.dumps(payload).encode()
    assert len(body) == size
    return body


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(
    client: FlaskClient, store: StoreRecord, redis_client: Redis, chunked: bool
) -> None:
    limit = state(client.application).config.max_webhook_bytes

    def post(body: bytes) -> Any:
        headers = {
            "Content-Type": "application/json",
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Signature": sign(WEBHOOK_SECRET, body),
        }
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(body))
        # As gunicorn serves it: the server terminates the stream (it decodes chunks itself),
        # so Werkzeug enforces the app's maximum on the read.
        return client.post(
            f"/webhooks/woocommerce/{store.id}",
            input_stream=io.BytesIO(body),
            headers=headers,
            environ_overrides={"wsgi.input_terminated": True},
        )

    over = post(_exact_body(limit + 1))
    assert over.status_code == 413
    assert over.get_json() == {"error": f"body larger than {limit} bytes"}
    assert inbox_count(client.application) == 0
    exact = post(_exact_body(limit))  # was: 413
    assert exact.status_code == 202
    assert inbox_count(client.application) == 1


def gunicorn_chunked_input(raw: bytes) -> dict[str, Any]:
    """The WSGI input gunicorn hands the app for a chunked body: its own decoder over the raw
    bytes (a broken framing raises gunicorn's ParseException subclasses from `read`)."""
    from gunicorn.http.body import Body, ChunkedReader
    from gunicorn.http.unreader import IterUnreader

    stream = Body(ChunkedReader(SimpleNamespace(), IterUnreader([raw])))
    return {"wsgi.input": stream, "wsgi.input_terminated": True}


BROKEN_CHUNKS = [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"2;\x01\r\n{}\r\n0\r\n\r\n"]


@pytest.mark.parametrize("raw", BROKEN_CHUNKS, ids=["size", "terminator", "extension"])
def test_a_broken_chunked_body_is_400_on_the_webhook(
    client: FlaskClient,
    store: StoreRecord,
    redis_client: Redis,
    caplog: pytest.LogCaptureFixture,
    raw: bytes,
) -> None:
    caplog.set_level(logging.INFO)
    response = client.post(
        f"/webhooks/woocommerce/{store.id}",
        headers={
            "Transfer-Encoding": "chunked",
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Signature": sign(WEBHOOK_SECRET, b"{}"),
        },
        environ_overrides=gunicorn_chunked_input(raw),
    )
    assert (response.status_code, response.get_json()) == (400, {"error": "unreadable body"})
    assert errors_logged(caplog) == []
    assert inbox_count(client.application) == 0
    assert job_keys(redis_client) == []


@pytest.mark.parametrize("raw", BROKEN_CHUNKS, ids=["size", "terminator", "extension"])
def test_a_broken_chunked_body_is_400_on_any_route(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, raw: bytes
) -> None:
    caplog.set_level(logging.INFO)
    response = client.post(
        "/wc-auth/callback/some-state",
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides=gunicorn_chunked_input(raw),
    )
    assert (response.status_code, response.get_json()) == (400, {"error": "unreadable body"})
    assert errors_logged(caplog) == []


def test_deeply_nested_json_on_the_wc_auth_callback_is_400(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.post(
        "/wc-auth/callback/some-state",
        data=b"[" * 100_000,  # was: RecursionError in json.loads, a 500 with a traceback
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_keys",
        "message": "The callback body is not a JSON object.",
    }
    assert errors_logged(caplog) == []
    assert state(client.application).stores.list() == []
