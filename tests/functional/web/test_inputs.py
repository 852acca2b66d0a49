"""Ids and numbers in URLs and forms (issue 13, 8): ASCII digits, whole-value matches, and a
clear 400 or 404 (never a 500) for anything else, with nothing changed."""

from __future__ import annotations

import json

import pytest
import redis
from flask import Flask

from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.redis.bulk_jobs import RedisBulkJobs
from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.woocommerce.catalogue import BACKORDER_CHOICES
from plugin.usecases.bulk_policies import start_bulk_backorders
from tests.functional.abuse.test_security import snapshot
from tests.functional.web.conftest import Merchant

# Digits `str.isdigit` accepts and `int` refuses (superscripts), digits of other scripts that
# `int` reads (Arabic-Indic, full-width), and other things that are not a plain number.
NOT_ASCII_DIGITS = ["²", "1²", "١٢", "１２", "12 x", "1\n2", "-1", "1e3", "0x10", "1_000"]

WOOCOMMERCE = [value for value, _label in BACKORDER_CHOICES]


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_min_age_that_is_not_ascii_digits_is_a_clear_400(
    alice: Merchant, alice_store: StoreRecord, value: str
) -> None:
    for extra in ({}, {"format": "csv"}):
        response = alice.get(
            f"/stores/{alice_store.id}/backorders", query_string={"min_age": value, **extra}
        )
        assert response.status_code == 400, (value, extra)
        assert "min_age must be a number of days from 0 to 36500." in response.get_data(
            as_text=True
        )


def test_min_age_in_ascii_digits_still_filters(alice: Merchant, alice_store: StoreRecord) -> None:
    response = alice.get(f"/stores/{alice_store.id}/backorders", query_string={"min_age": "7"})
    assert response.status_code == 200
    assert 'name="min_age" value="7"' in response.get_data(as_text=True)


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_allocation_units_that_are_not_ascii_digits_are_a_clear_400(
    alice: Merchant, alice_store: StoreRecord, value: str
) -> None:
    response = alice.get(
        f"/stores/{alice_store.id}/products/11/allocation", query_string={"units": value}
    )
    assert response.status_code == 400, value
    assert "Units must be a whole number from 0 to 1000000." in response.get_data(as_text=True)


def test_release_now_with_bad_units_comes_back_to_zero_units(
    alice: Merchant, alice_store: StoreRecord
) -> None:
    path = f"/stores/{alice_store.id}/products/11/allocation"
    response = alice.post(f"{path}/release", {"units": "²"}, token_from=f"{path}?units=0")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}?units=0"


@pytest.mark.parametrize("order_id", ["112%0a", "112%0A", "112%0d%0a", "١١٢", "112%20", "+112"])
def test_split_now_of_an_order_id_with_a_trailing_newline_queues_nothing(
    app: Flask,
    alice: Merchant,
    alice_store: StoreRecord,
    redis_client: redis.Redis,
    order_id: str,
) -> None:
    """The report: POST /orders/112%0a/split queued an event for order `112\\n`."""
    token_page = f"/stores/{alice_store.id}/orders/112"
    before = snapshot(app, redis_client)
    response = alice.post(
        f"/stores/{alice_store.id}/orders/{order_id}/split", {}, token_from=token_page
    )
    assert response.status_code == 404, order_id
    assert alice.get(f"/stores/{alice_store.id}/orders/{order_id}").status_code == 404
    assert snapshot(app, redis_client) == before
    assert event_queue(redis_client).count == 0


def test_cancel_and_move_up_refuse_ids_with_a_trailing_newline(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    base = f"/stores/{alice_store.id}"
    # The stores page (for the CSRF token) reads Alice's store through its rate limiter, whose
    # Redis keys expire by themselves.
    own_store_calls = f"backorders:ratelimit:{alice_store.id}"
    before = snapshot(app, redis_client, ignore=own_store_calls)
    for path in (f"{base}/orders/112%0a/lines/7/cancel", f"{base}/orders/112/lines/7%0a/cancel"):
        assert alice.get(path).status_code == 404, path
        assert alice.post(path, {"reason": "x"}, token_from="/stores").status_code == 404, path
    move_up = alice.post(
        f"{base}/products/11/allocation/move-up", {"order_id": "112\n"}, token_from="/stores"
    )
    assert move_up.status_code == 404
    assert snapshot(app, redis_client, ignore=own_store_calls) == before


def test_a_store_id_in_other_scripts_digits_is_404(
    alice: Merchant, alice_store: StoreRecord
) -> None:
    assert alice_store.id == 1
    assert alice.get("/stores/1/backorders").status_code == 200
    for path in ("/stores/١/backorders", "/stores/１/backorders", "/stores/%D9%A1/backorders"):
        assert alice.get(path).status_code == 404, path


def test_a_bulk_job_id_cannot_address_another_redis_key(
    app: Flask, alice: Merchant, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    """The report: `<job id>:outcomes` read the outcomes list as a hash (WRONGTYPE, a 500)."""
    job_id = start_bulk_backorders(
        RedisBulkJobs(redis_client), alice_store.id, [11], "yes", choices=WOOCOMMERCE
    )
    # The job's first outcome, as run_bulk_backorders writes it.
    outcome = {"product_id": 11, "ok": True, "message": "backorders=yes"}
    redis_client.rpush(f"backorders:bulk:{job_id}:outcomes", json.dumps(outcome))
    base = f"/stores/{alice_store.id}/products"
    control = alice.get(f"{base}/bulk/{job_id}")
    assert (control.status_code, control.get_json()["outcomes"]) == (200, [outcome])
    # The products page reads the store through its rate limiter (keys that expire alone).
    own_store_calls = f"backorders:ratelimit:{alice_store.id}"
    before = snapshot(app, redis_client, ignore=own_store_calls)
    for bad in (f"{job_id}:outcomes", f"{job_id}%0a", job_id.upper(), "bulk-1", "x:*"):
        response = alice.get(f"{base}/bulk/{bad}")
        assert response.status_code == 404, bad
        page = alice.get(base, query_string={"job": bad})
        assert page.status_code in (200, 502), bad  # the store at port 9 does not answer
        assert 'id="bulk-job"' not in page.get_data(as_text=True), bad
    assert snapshot(app, redis_client, ignore=own_store_calls) == before
