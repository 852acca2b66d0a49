"""Defects the webhook fuzzing found, pinned: each was a 500 for a correctly signed body."""

from __future__ import annotations

from flask.testing import FlaskClient
from redis import Redis

from plugin.storage.repositories import StoreRecord
from tests.functional.webhooks.conftest import (
    app,
    client,
    deliver,
    inbox_count,
    job_keys,
    order_payload,
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
