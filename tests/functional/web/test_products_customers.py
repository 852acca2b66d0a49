"""Products and customers pages against a live sandbox store; the bulk job run by a real RQ
worker (in-process, burst mode) with its progress endpoint."""

from __future__ import annotations

import datetime as dt
import json

import redis
from flask import Flask
from flask.testing import FlaskClient
from rq.serializers import JSONSerializer

from plugin.adapters.queue.inprocess import InProcessWorker
from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.core.model import CustomerPolicy, DeliveryCondition, ProductPolicy, ProductRef
from plugin.platforms.woocommerce.catalogue import BACKORDER_CHOICES
from tests.functional.web.conftest import LiveStore, Merchant, state

WOOCOMMERCE = [value for value, _label in BACKORDER_CHOICES]


def policies(app: Flask, store_id: int) -> list[ProductPolicy]:
    return SqlPolicyStore(state(app).db).product_policies(store_id)


def test_products_page_lists_the_stores_products_with_our_policy(
    app: Flask, alice: Merchant, live_store: LiveStore
) -> None:
    kettle = live_store.product_id("KETTLE-COPPER")
    SqlPolicyStore(state(app).db).set_product_policy(
        live_store.store.id,
        ProductPolicy(
            ProductRef(str(kettle)), cap=3, expected_date=dt.date(2026, 12, 1), message="Soon"
        ),
    )
    html = alice.get(f"/stores/{live_store.store.id}/products").get_data(as_text=True)
    assert html.count('class="product"') == 8  # 7 simple products and the variable shirt
    assert (
        f'id="product-{kettle}" class="product" data-product-id="{kettle}" data-backorders="yes"'
        in html
    )
    assert 'value="2026-12-01"' in html and 'value="Soon"' in html
    searched = alice.get(
        f"/stores/{live_store.store.id}/products", query_string={"q": "Kettle"}
    ).get_data(as_text=True)
    assert searched.count('class="product"') == 1
    filtered = alice.get(
        f"/stores/{live_store.store.id}/products", query_string={"backorders": "notify"}
    ).get_data(as_text=True)
    assert filtered.count('class="product"') == 3  # apron, walnut board, pan


def test_saving_a_product_writes_backorders_to_the_store_and_the_policy_here(
    app: Flask, alice: Merchant, live_store: LiveStore
) -> None:
    bowl = live_store.product_id("BOWL-STONE")
    path = f"/stores/{live_store.store.id}/products"
    response = alice.post(
        f"{path}/{bowl}",
        {"backorders": "yes", "cap": "4", "expected_date": "2026-12-24", "message": "Kiln firing"},
        token_from=path,
    )
    assert response.status_code == 303
    assert live_store.backorders("BOWL-STONE") == "yes"
    assert policies(app, live_store.store.id) == [
        ProductPolicy(ProductRef(str(bowl)), None, 4, dt.date(2026, 12, 24), "Kiln firing")
    ]


def test_an_invalid_product_form_shows_errors_and_changes_nothing(
    app: Flask, alice: Merchant, live_store: LiveStore
) -> None:
    bowl = live_store.product_id("BOWL-STONE")
    path = f"/stores/{live_store.store.id}/products"
    response = alice.post(
        f"{path}/{bowl}",
        {"backorders": "always", "cap": "-2", "expected_date": "soon", "message": "x"},
        token_from=path,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert (
        '<span class="field-error" data-field="backorders">Must be one of: no, notify, yes.' in html
    )
    assert '<span class="field-error" data-field="cap">A whole number, 0 or more.</span>' in html
    assert (
        '<span class="field-error" data-field="expected_date">A date like 2026-12-24.</span>'
        in html
    )
    assert live_store.backorders("BOWL-STONE") == "no"
    assert policies(app, live_store.store.id) == []


def test_a_product_form_with_a_nul_character_is_refused_before_the_store_is_changed(
    app: Flask, alice: Merchant, live_store: LiveStore
) -> None:
    # PostgreSQL cannot store the message: the store's setting must not change either.
    bowl = live_store.product_id("BOWL-STONE")
    path = f"/stores/{live_store.store.id}/products"
    response = alice.post(
        f"{path}/{bowl}",
        {"backorders": "yes", "cap": "4", "expected_date": "", "message": "Kiln\x00firing"},
        token_from=path,
    )
    assert response.status_code == 400
    assert "The form contains a NUL character; nothing was saved." in response.get_data(
        as_text=True
    )
    assert live_store.backorders("BOWL-STONE") == "no"
    assert policies(app, live_store.store.id) == []


def test_product_form_without_csrf_or_for_another_merchant_changes_nothing(
    app: Flask, alice: Merchant, bob: Merchant, live_store: LiveStore
) -> None:
    bowl = live_store.product_id("BOWL-STONE")
    path = f"/stores/{live_store.store.id}/products"
    form = {"backorders": "yes", "cap": "", "expected_date": "", "message": ""}
    assert alice.post(f"{path}/{bowl}", form).status_code == 400
    assert bob.post(f"{path}/{bowl}", form, token_from="/stores").status_code == 404
    assert bob.get(path).status_code == 404
    assert live_store.backorders("BOWL-STONE") == "no"
    assert policies(app, live_store.store.id) == []


def test_products_need_sign_in(anonymous: FlaskClient, live_store: LiveStore) -> None:
    for path in ("products", "customers"):
        response = anonymous.get(f"/stores/{live_store.store.id}/{path}")
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/signin?next=")


def test_bulk_change_runs_as_a_job_and_reports_progress_per_product(
    app: Flask,
    alice: Merchant,
    bob: Merchant,
    live_store: LiveStore,
    redis_client: redis.Redis,
    worker_env: None,
) -> None:
    path = f"/stores/{live_store.store.id}/products"
    response = alice.post(
        f"{path}/bulk",
        {"stock_status": "outofstock", "backorders": "no", "q": "", "value": "notify"},
        token_from=path,
    )
    assert response.status_code == 303
    job_id = response.headers["Location"].split("job=")[1].split("&")[0]
    queued = alice.get(f"{path}/bulk/{job_id}").get_json()
    assert (queued["status"], queued["done"], queued["total"]) == ("queued", 0, 1)
    assert bob.get(f"{path}/bulk/{job_id}").status_code == 404

    worker = InProcessWorker(
        [event_queue(redis_client)], connection=redis_client, serializer=JSONSerializer
    )
    assert worker.work(burst=True) is True

    bowl = live_store.product_id("BOWL-STONE")  # the one out-of-stock product refusing backorders
    status = alice.get(f"{path}/bulk/{job_id}").get_json()
    assert (status["status"], status["done"], status["failed"], status["percent"]) == (
        "finished",
        1,
        0,
        100,
    )
    assert status["outcomes"] == [{"product_id": bowl, "ok": True, "message": "backorders=notify"}]
    assert live_store.backorders("BOWL-STONE") == "notify"
    assert live_store.backorders("BOARD-WALNUT") == "notify"  # untouched (already notify)
    assert live_store.backorders("MUG-BLUE") == "no"  # in stock: not in the filtered set
    page = alice.get(f"{path}?job={job_id}").get_data(as_text=True)
    assert 'data-status="finished"' in page and 'aria-valuenow="100"' in page


def test_bulk_without_csrf_token_queues_nothing(
    alice: Merchant, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    response = alice.post(f"/stores/{live_store.store.id}/products/bulk", {"value": "yes"})
    assert response.status_code == 400
    assert event_queue(redis_client).count == 0
    assert redis_client.keys("backorders:bulk:*") == []


def test_customers_page_lists_searches_and_saves_policies(
    app: Flask, alice: Merchant, live_store: LiveStore
) -> None:
    path = f"/stores/{live_store.store.id}/customers"
    html = alice.get(path).get_data(as_text=True)
    assert html.count('class="customer"') == 2
    assert "ada@example.com" in html and "grace@example.com" in html
    searched = alice.get(path, query_string={"q": "hopper"}).get_data(as_text=True)
    assert searched.count('class="customer"') == 1 and "grace@example.com" in searched
    [grace] = [c for c in live_store.shop.list_customers(email="grace@example.com")]
    response = alice.post(
        f"{path}/{grace}", {"delivery_condition": "whole_order", "priority": "5"}, token_from=path
    )
    assert response.status_code == 303
    assert SqlPolicyStore(state(app).db).customer_policies(live_store.store.id) == [
        CustomerPolicy(str(grace), DeliveryCondition.WHOLE_ORDER, 5)
    ]


def test_an_invalid_customer_form_shows_errors_and_saves_nothing(
    app: Flask, alice: Merchant, bob: Merchant, live_store: LiveStore
) -> None:
    path = f"/stores/{live_store.store.id}/customers"
    response = alice.post(
        f"{path}/1", {"delivery_condition": "teleport", "priority": "lots"}, token_from=path
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert (
        '<span class="field-error" data-field="priority">A whole number between -1000 and 1000.'
        in html
    )
    assert '<span class="field-error" data-field="delivery_condition">Must be one of' in html
    assert alice.post(f"{path}/1", {"priority": "1"}).status_code == 400  # no CSRF token
    assert bob.post(f"{path}/1", {"priority": "1"}, token_from="/stores").status_code == 404
    assert bob.get(path).status_code == 404
    assert SqlPolicyStore(state(app).db).customer_policies(live_store.store.id) == []


def test_bulk_job_records_a_failed_product_and_carries_on(
    app: Flask, alice: Merchant, live_store: LiveStore, redis_client: redis.Redis, worker_env: None
) -> None:
    from plugin.adapters.redis.bulk_jobs import RedisBulkJobs
    from plugin.usecases.bulk_policies import start_bulk_backorders

    mug = live_store.product_id("MUG-BLUE")
    job_id = start_bulk_backorders(
        RedisBulkJobs(redis_client), live_store.store.id, [999999, mug], "yes", choices=WOOCOMMERCE
    )
    worker = InProcessWorker(
        [event_queue(redis_client)], connection=redis_client, serializer=JSONSerializer
    )
    assert worker.work(burst=True) is True
    status = alice.get(f"/stores/{live_store.store.id}/products/bulk/{job_id}").get_json()
    assert (status["status"], status["done"], status["failed"]) == ("finished", 2, 1)
    assert status["outcomes"] == [
        {"product_id": 999999, "ok": False, "message": "woocommerce_rest_product_invalid_id"},
        {"product_id": mug, "ok": True, "message": "backorders=yes"},
    ]
    assert live_store.backorders("MUG-BLUE") == "yes"


def test_variations_are_listed_and_saved_one_by_one(
    app: Flask, alice: Merchant, live_store: LiveStore
) -> None:
    shirt = live_store.product_id("SHIRT-FIELD")
    [medium] = [
        v
        for v in live_store.shop.list_variations(shirt)
        if live_store.shop.variation_json(v)["sku"] == "SHIRT-FIELD-M"
    ]
    path = f"/stores/{live_store.store.id}/products"
    html = alice.get(path, query_string={"q": "Field Shirt"}).get_data(as_text=True)
    assert html.count(f'class="variation" data-product-id="{shirt}"') == 3
    assert (
        f'id="variation-{medium}" class="variation" data-product-id="{shirt}" '
        f'data-variation-id="{medium}" data-backorders="notify"'
    ) in html

    invalid = alice.post(
        f"{path}/{shirt}/variations/{medium}",
        {"backorders": "yes", "cap": "x", "expected_date": "", "message": ""},
        token_from=path,
    )
    assert invalid.status_code == 400
    assert '<span class="field-error" data-field="cap">A whole number, 0 or more.</span>' in (
        invalid.get_data(as_text=True)
    )
    assert policies(app, live_store.store.id) == []

    response = alice.post(
        f"{path}/{shirt}/variations/{medium}",
        {"backorders": "yes", "cap": "2", "expected_date": "", "message": "Restocking"},
        token_from=path,
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#variation-{medium}")
    variation = live_store.shop.variation_json(medium)
    assert variation["backorders"] == "yes"
    assert policies(app, live_store.store.id) == [
        ProductPolicy(ProductRef(str(shirt), str(medium)), None, 2, None, "Restocking")
    ]


def test_bulk_change_reaches_each_variation_of_a_variable_product_by_batch(
    app: Flask, alice: Merchant, live_store: LiveStore, redis_client: redis.Redis, worker_env: None
) -> None:
    shirt = live_store.product_id("SHIRT-FIELD")
    # The order WooCommerce lists them in the product's `variations` (products.md).
    variations = [int(v) for v in live_store.shop.product_json(shirt)["variations"]]
    sizes = {v: live_store.shop.variation_json(v)["sku"] for v in variations}
    assert sorted(sizes.values()) == ["SHIRT-FIELD-L", "SHIRT-FIELD-M", "SHIRT-FIELD-S"]
    before = {sku: live_store.shop.variation_json(v)["backorders"] for v, sku in sizes.items()}
    assert before == {"SHIRT-FIELD-S": "no", "SHIRT-FIELD-M": "notify", "SHIRT-FIELD-L": "no"}
    path = f"/stores/{live_store.store.id}/products"
    response = alice.post(f"{path}/bulk", {"q": "Field Shirt", "value": "yes"}, token_from=path)
    assert response.status_code == 303
    job_id = response.headers["Location"].split("job=")[1].split("&")[0]
    queued = alice.get(f"{path}/bulk/{job_id}").get_json()
    assert (queued["status"], queued["done"], queued["total"]) == ("queued", 0, 1)

    worker = InProcessWorker(
        [event_queue(redis_client)], connection=redis_client, serializer=JSONSerializer
    )
    assert worker.work(burst=True) is True

    status = alice.get(f"{path}/bulk/{job_id}").get_json()
    assert (status["status"], status["total"], status["done"], status["failed"]) == (
        "finished",
        4,
        4,
        0,
    )
    assert status["percent"] == 100
    assert status["outcomes"] == [
        # The variable product itself does not manage stock, so the store keeps "no" on it
        # (WC_Product::validate_props); its variations manage their own stock.
        {"product_id": shirt, "ok": True, "message": "backorders=no (stock not managed)"},
    ] + [
        {"product_id": shirt, "variation_id": v, "ok": True, "message": "backorders=yes"}
        for v in variations
    ]
    after = {sku: live_store.shop.variation_json(v)["backorders"] for v, sku in sizes.items()}
    assert after == {"SHIRT-FIELD-S": "yes", "SHIRT-FIELD-M": "yes", "SHIRT-FIELD-L": "yes"}
    assert live_store.backorders("MUG-BLUE") == "no"  # not in the searched set: untouched
    page = alice.get(f"{path}?job={job_id}").get_data(as_text=True)
    for v in variations:
        assert f'data-product-id="{shirt}" data-variation-id="{v}" data-ok="true"' in page


def test_bulk_batch_records_a_failed_variation_and_carries_on(
    app: Flask, alice: Merchant, live_store: LiveStore, redis_client: redis.Redis, worker_env: None
) -> None:
    from plugin.adapters.redis.bulk_jobs import RedisBulkJobs
    from plugin.usecases.bulk_policies import start_bulk_backorders

    shirt = live_store.product_id("SHIRT-FIELD")
    variations = [int(v) for v in live_store.shop.product_json(shirt)["variations"]]
    job_id = start_bulk_backorders(
        RedisBulkJobs(redis_client), live_store.store.id, [shirt], "notify", choices=WOOCOMMERCE
    )
    # A plan made before one variation was deleted from the store: that item fails, not the job.
    redis_client.hset(
        f"backorders:bulk:{job_id}",
        mapping={
            "items": json.dumps(
                [{"product_id": shirt}]
                + [{"product_id": shirt, "variation_id": v} for v in [*variations, 999999]]
            ),
            "total": 5,
        },
    )
    worker = InProcessWorker(
        [event_queue(redis_client)], connection=redis_client, serializer=JSONSerializer
    )
    assert worker.work(burst=True) is True
    status = alice.get(f"/stores/{live_store.store.id}/products/bulk/{job_id}").get_json()
    assert (status["status"], status["total"], status["done"], status["failed"]) == (
        "finished",
        5,
        5,
        1,
    )
    assert status["outcomes"][1:] == [
        {"product_id": shirt, "variation_id": v, "ok": True, "message": "backorders=notify"}
        for v in variations
    ] + [
        {
            "product_id": shirt,
            "variation_id": 999999,
            "ok": False,
            "message": "woocommerce_rest_product_variation_invalid_id",
        }
    ]
    assert [live_store.shop.variation_json(v)["backorders"] for v in variations] == ["notify"] * 3
