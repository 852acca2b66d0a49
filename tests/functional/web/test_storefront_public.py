"""The public availability JSON shows only what a shopper can open in the store, and cannot be
used to make the store busy (issue 13, findings 1 and 4), against a live sandbox whose REST
calls are counted."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.redis.ratelimit import StoreRateLimiter
from tests.functional.web.conftest import LiveStore, Merchant, state
from web.storefront import CACHE_S, MAX_PRODUCTS

# Every field of an answer, for a product with 0 in stock that allows backorders.
BACKORDERABLE = {
    "backorder_allowed": True,
    "in_stock": 0,
    "backorder_remaining": None,
    "expected_date": None,
    "message": "",
    "out_of_stock": True,
}


def ask(client: FlaskClient, live: LiveStore, ids: str) -> Any:
    return client.get(
        f"/storefront/{live.store.id}/availability", query_string={"product_ids": ids}
    )


def new_product(live: LiveStore, sku: str, **fields: Any) -> int:
    """A managed product with 0 in stock that allows backorders, and `fields`."""
    data = {
        "name": sku,
        "sku": sku,
        "regular_price": "10.00",
        "manage_stock": True,
        "stock_quantity": 0,
        "backorders": "yes",
        **fields,
    }
    return int(live.shop.create_product(data)["id"])


def shirt_variations(live: LiveStore) -> tuple[int, dict[str, int]]:
    """The demo's Field Shirt and its variations by size (S 5 notify, M 0 notify, L 0 no)."""
    shirt = live.product_id("SHIRT-FIELD")
    by_sku = {live.shop.variation_json(v)["sku"]: v for v in live.shop.list_variations(shirt)}
    return shirt, {sku.rsplit("-", 1)[1]: v for sku, v in by_sku.items()}


def cached(connection: redis.Redis, live: LiveStore, key: str) -> bytes | None:
    value = connection.get(f"backorders:widget:product:{live.store.id}:{key}")
    return value if value is None else bytes(value)


def test_products_a_shopper_cannot_open_are_answered_like_missing_ones(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    shown = new_product(live_store, "SHOWN")
    hidden_from_catalogue = new_product(live_store, "HIDDEN", catalog_visibility="hidden")
    not_public = {
        status: new_product(live_store, status.upper(), status=status)
        for status in ("draft", "pending", "private", "future")
    }
    not_public["password"] = new_product(live_store, "LOCKED", post_password="s3cret")
    missing = 999_999
    ids = [shown, hidden_from_catalogue, *not_public.values(), missing]

    response = ask(anonymous, live_store, ",".join(str(i) for i in ids))

    assert response.status_code == 200
    # A hidden product's page still opens at its URL and shows its stock (catalogue.py).
    assert response.get_json() == {
        "products": {str(shown): BACKORDERABLE, str(hidden_from_catalogue): BACKORDERABLE}
    }
    assert response.headers["Cache-Control"] == f"public, max-age={CACHE_S}"
    # Cached exactly like an id the store does not have, for as long.
    for product_id in [*not_public.values(), missing]:
        assert cached(redis_client, live_store, str(product_id)) == b"null", product_id
        key = f"backorders:widget:product:{live_store.store.id}:{product_id}"
        assert 0 < redis_client.ttl(key) <= CACHE_S
    assert live_store.calls == [
        f"GET /products?include={','.join(str(i) for i in sorted(ids))}"
        f"&per_page={len(ids)}&status=any"
    ]


def test_a_product_made_private_disappears_once_its_cache_ends(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    product = new_product(live_store, "SOON-PRIVATE")
    assert ask(anonymous, live_store, str(product)).get_json() == {
        "products": {str(product): BACKORDERABLE}
    }
    live_store.shop.update_product(product, {"status": "private"})
    redis_client.delete(f"backorders:widget:product:{live_store.store.id}:{product}")
    assert ask(anonymous, live_store, str(product)).get_json() == {"products": {}}


def test_only_published_variations_of_the_public_product_asked_are_answered(
    anonymous: FlaskClient, live_store: LiveStore
) -> None:
    shirt, size = shirt_variations(live_store)
    live_store.shop.update_variation(shirt, size["L"], {"status": "private"})  # disabled
    other = new_product(live_store, "OTHER-VARIABLE", type="variable")
    foreign = int(live_store.shop.create_variation(other, {"regular_price": "1.00"})["id"])

    response = ask(
        anonymous, live_store, f"{shirt}:{size['M']},{shirt}:{size['L']},{shirt}:{foreign}"
    )

    assert response.status_code == 200
    assert response.get_json() == {"products": {f"{shirt}:{size['M']}": BACKORDERABLE}}
    # The foreign id is not among the shirt's variations: it was never asked for.
    assert live_store.calls == [
        f"GET /products?include={shirt}&per_page=1&status=any",
        f"GET /products/{shirt}/variations?include={size['M']},{size['L']}&per_page=2",
    ]


def test_variations_of_a_product_that_is_not_public_are_not_answered(
    anonymous: FlaskClient, live_store: LiveStore
) -> None:
    shirt, size = shirt_variations(live_store)
    live_store.shop.update_product(shirt, {"status": "draft"})

    response = ask(anonymous, live_store, f"{shirt}:{size['M']},{shirt}")

    assert response.get_json() == {"products": {}}
    assert live_store.calls == [f"GET /products?include={shirt}&per_page=1&status=any"]


def test_made_up_ids_reach_the_store_once_per_cache_period(
    anonymous: FlaskClient, live_store: LiveStore
) -> None:
    shirt, size = shirt_variations(live_store)
    first = ask(anonymous, live_store, f"{shirt}:{size['M']},424242")
    assert first.get_json() == {"products": {f"{shirt}:{size['M']}": BACKORDERABLE}}
    assert len(live_store.calls) == 2  # the shirt with 424242, then its variation M

    # Random variation ids of the same product, and the same missing product: all answered
    # from the cache (the shirt's variation ids are cached with it).
    for made_up in range(900_000, 900_010):
        again = ask(anonymous, live_store, f"{shirt}:{made_up},424242")
        assert again.status_code == 200
        assert again.get_json() == {"products": {}}
    assert len(live_store.calls) == 2


def test_one_request_names_at_most_one_variable_product_and_fifty_ids(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    eleven = ",".join(f"{parent}:{parent + 1}" for parent in range(100, 1100, 100))
    response = ask(anonymous, live_store, f"{eleven},7")
    assert response.status_code == 400
    assert response.get_json() == {"error": "variations of one product at a time"}

    too_many = ask(anonymous, live_store, ",".join(str(i) for i in range(1, MAX_PRODUCTS + 2)))
    assert too_many.status_code == 400
    assert too_many.get_json() == {"error": f"at most {MAX_PRODUCTS} product ids"}

    assert live_store.calls == []
    assert redis_client.keys("backorders:widget:product:*") == []


def test_store_calls_count_against_the_stores_rate_limit(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    shirt, size = shirt_variations(live_store)
    ask(anonymous, live_store, f"{shirt}:{size['M']}")
    assert len(live_store.calls) == 2
    store_id = live_store.store.id
    # Both calls took a slot of the store's bucket (shared with the workers) and of the
    # widget's share of it.
    assert redis_client.exists(f"backorders:ratelimit:{store_id}") == 1
    assert redis_client.exists(f"backorders:ratelimit:{store_id}:bucket:widget") == 1


def test_without_a_free_slot_the_answer_is_the_cache_and_unknown_at_once(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    mug = live_store.product_id("MUG-BLUE")
    kettle = live_store.product_id("KETTLE-COPPER")
    known = ask(anonymous, live_store, str(kettle)).get_json()["products"][str(kettle)]
    calls = len(live_store.calls)
    # A 429's Retry-After (or the workers) used up the store's budget for a while.
    StoreRateLimiter(redis_client, live_store.store.id, 5.0).pause(30)

    started = time.monotonic()
    response = ask(anonymous, live_store, f"{kettle},{mug}")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.get_json() == {"products": {str(kettle): known}, "unknown": [str(mug)]}
    assert response.headers["Cache-Control"] == "no-store"
    assert elapsed < 1.5  # no web thread waits out the pause (STORE_WAIT_S is 0.5 s)
    assert len(live_store.calls) == calls
    assert cached(redis_client, live_store, str(mug)) is None


def test_the_widget_uses_at_most_its_share_of_the_stores_rate(
    app: Flask, anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    state(app).stores.update(live_store.store.id, api_rate_limit=2.0)  # widget share: 1/s
    started = time.monotonic()
    answers = [ask(anonymous, live_store, str(500_000 + n)).get_json() for n in range(8)]
    elapsed = time.monotonic() - started
    # Each request names a new id (one call each) until the share is used up; then the
    # request waits STORE_WAIT_S at most and answers "unknown".
    assert len(live_store.calls) <= 1 + elapsed * 1.0 + 1
    unknown = [a for a in answers if "unknown" in a]
    assert len(unknown) == 8 - len(live_store.calls)
    assert unknown, "8 requests in a few seconds must exceed 1 call a second"


def test_merchant_pages_go_through_the_stores_rate_limit(
    alice: Merchant, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    store_id = live_store.store.id
    assert alice.get(f"/stores/{store_id}/products").status_code == 200
    assert live_store.calls and redis_client.exists(f"backorders:ratelimit:{store_id}") == 1
    calls = len(live_store.calls)
    StoreRateLimiter(redis_client, store_id, 5.0).pause(30)

    page = alice.get(f"/stores/{store_id}/products")

    assert page.status_code == 502
    assert "The store could not be reached; try again in a moment." in page.get_data(as_text=True)
    assert len(live_store.calls) == calls
