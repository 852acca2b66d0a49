"""The storefront widget script and its public availability JSON, against a live sandbox."""

from __future__ import annotations

import datetime as dt

import redis
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductPolicy, ProductRef
from plugin.ports import ReleaseState
from tests.functional.web.conftest import LiveStore, state
from web.storefront import CACHE_S, RATE_LIMIT


def test_widget_script_is_served_for_a_connected_store_only(
    app: Flask, anonymous: FlaskClient, alice_store: StoreRecord
) -> None:
    response = anonymous.get(f"/storefront/{alice_store.id}/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "/availability?product_ids=" in response.get_data(as_text=True)
    assert anonymous.get("/storefront/999/widget.js").status_code == 404
    state(app).stores.set_status(alice_store.id, "disconnected")
    assert anonymous.get(f"/storefront/{alice_store.id}/widget.js").status_code == 404


def test_availability_describes_each_product_with_the_merchants_policy(
    app: Flask, anonymous: FlaskClient, live_store: LiveStore
) -> None:
    kettle = live_store.product_id("KETTLE-COPPER")  # stock 0, backorders yes
    pan = live_store.product_id("PAN-IRON")  # stock 2, backorders notify
    bowl = live_store.product_id("BOWL-STONE")  # stock 0, backorders no
    mug = live_store.product_id("MUG-BLUE")  # stock 25, backorders no
    SqlPolicyStore(state(app).db).set_product_policy(
        live_store.store.id,
        ProductPolicy(
            ProductRef(str(kettle)), cap=3, expected_date=dt.date(2026, 12, 24), message="Forging"
        ),
    )
    response = anonymous.get(
        f"/storefront/{live_store.store.id}/availability",
        query_string={"product_ids": f"{kettle},{pan},{bowl},{mug},99999"},
        headers={"Origin": live_store.url},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == f"public, max-age={CACHE_S}"
    assert response.headers["Access-Control-Allow-Origin"] == live_store.url
    assert response.get_json() == {
        "products": {
            str(kettle): {
                "backorder_allowed": True,
                "in_stock": 0,
                "backorder_remaining": 3,
                "expected_date": "2026-12-24",
                "message": "Forging",
                "out_of_stock": True,
            },
            str(pan): {
                "backorder_allowed": True,
                "in_stock": 2,
                "backorder_remaining": None,
                "expected_date": None,
                "message": "",
                "out_of_stock": False,
            },
            str(bowl): {
                "backorder_allowed": False,
                "in_stock": 0,
                "backorder_remaining": None,
                "expected_date": None,
                "message": "",
                "out_of_stock": True,
            },
            str(mug): {
                "backorder_allowed": False,
                "in_stock": 25,
                "backorder_remaining": None,
                "expected_date": None,
                "message": "",
                "out_of_stock": False,
            },
        }
    }


def test_cors_is_limited_to_the_stores_origin(
    anonymous: FlaskClient, live_store: LiveStore
) -> None:
    mug = live_store.product_id("MUG-BLUE")
    response = anonymous.get(
        f"/storefront/{live_store.store.id}/availability?product_ids={mug}",
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_product_data_comes_from_a_short_redis_cache(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    bowl = live_store.product_id("BOWL-STONE")
    path = f"/storefront/{live_store.store.id}/availability?product_ids={bowl}"
    first = anonymous.get(path).get_json()["products"][str(bowl)]
    live_store.shop.update_product(bowl, {"backorders": "yes"})
    second = anonymous.get(path).get_json()["products"][str(bowl)]
    assert first["backorder_allowed"] is False
    assert second == first  # served from the cache: the store was not asked again
    key = f"backorders:widget:product:{live_store.store.id}:{bowl}"
    assert 0 < redis_client.ttl(key) <= CACHE_S
    redis_client.delete(key)
    third = anonymous.get(path).get_json()["products"][str(bowl)]
    assert third["backorder_allowed"] is True


def test_availability_is_rate_limited_per_ip(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    mug = live_store.product_id("MUG-BLUE")
    path = f"/storefront/{live_store.store.id}/availability?product_ids={mug}"
    statuses = [anonymous.get(path).status_code for _ in range(RATE_LIMIT)]
    assert statuses == [200] * RATE_LIMIT
    refused = anonymous.get(path)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    other_ip = anonymous.get(path, environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other_ip.status_code == 200


def test_bad_product_ids_and_unknown_stores_are_refused(
    anonymous: FlaskClient, live_store: LiveStore, redis_client: redis.Redis
) -> None:
    for value in ("", "1,,2", "abc", "1;2", "1:", ":2", "1:2:3"):
        response = anonymous.get(
            f"/storefront/{live_store.store.id}/availability", query_string={"product_ids": value}
        )
        assert response.status_code == 400, value
    assert anonymous.get("/storefront/999/availability?product_ids=1").status_code == 404
    assert redis_client.keys("backorders:widget:product:*") == []


def test_an_unreachable_store_gives_unknown_not_an_error_page(
    anonymous: FlaskClient, alice_store: StoreRecord, redis_client: redis.Redis
) -> None:
    response = anonymous.get(f"/storefront/{alice_store.id}/availability?product_ids=1")
    assert response.status_code == 200
    assert response.get_json() == {"products": {}, "unknown": ["1"]}
    assert response.headers["Cache-Control"] == "no-store"
    assert redis_client.keys("backorders:widget:product:*") == []  # asked again next time


def test_availability_of_variations_uses_a_product_level_policy(
    app: Flask, anonymous: FlaskClient, live_store: LiveStore
) -> None:
    shop = live_store.shop
    shirt = live_store.product_id("SHIRT-FIELD")
    by_sku = {shop.variation_json(v)["sku"]: v for v in shop.list_variations(shirt)}
    small, medium = by_sku["SHIRT-FIELD-S"], by_sku["SHIRT-FIELD-M"]
    SqlPolicyStore(state(app).db).set_product_policy(
        live_store.store.id, ProductPolicy(ProductRef(str(shirt)), message="New batch in May")
    )
    response = anonymous.get(
        f"/storefront/{live_store.store.id}/availability",
        query_string={"product_ids": f"{shirt}:{small},{shirt}:{medium}"},
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "products": {
            f"{shirt}:{small}": {
                "backorder_allowed": False,
                "in_stock": 5,
                "backorder_remaining": None,
                "expected_date": None,
                "message": "New batch in May",
                "out_of_stock": False,
            },
            f"{shirt}:{medium}": {
                "backorder_allowed": True,
                "in_stock": 0,
                "backorder_remaining": None,
                "expected_date": None,
                "message": "New batch in May",
                "out_of_stock": True,
            },
        }
    }


def test_in_stock_leaves_out_units_promised_to_released_orders_awaiting_payment(
    app: Flask, anonymous: FlaskClient, live_store: LiveStore
) -> None:
    shop = live_store.shop
    pan = live_store.product_id("PAN-IRON")  # stock 2, backorders notify
    mug = live_store.product_id("MUG-BLUE")  # stock 25
    # A shirt keeping 3 in stock, with sizes drawing on it (manage_stock "parent").
    shirt = shop.create_product({"name": "Tee", "type": "variable", "manage_stock": True,
                                 "stock_quantity": 3, "backorders": "notify"})["id"]  # fmt: skip
    small, large = (
        shop.create_variation(shirt, {"regular_price": "9.00", "manage_stock": False})["id"]
        for _ in range(2)
    )
    releases = SqlReleaseLedger(state(app).db)

    def release(order_id: str, lines: list[dict[str, object]], state_: str) -> None:
        releases.start(live_store.store.id, f"release:{order_id}", order_id, "pending", lines)
        releases.advance(live_store.store.id, f"release:{order_id}", state_)

    # Released to pending (the store gave the units back to its figure): promised.
    release("9001", [{"line_id": "1", "product_id": str(pan), "variant_id": None, "units": 2}],
            ReleaseState.DONE)  # fmt: skip
    release("9002", [{"line_id": "1", "product_id": str(shirt), "variant_id": str(small),
                      "units": 1, "pool": {"product_id": str(shirt), "variant_id": None}}],
            ReleaseState.DONE)  # fmt: skip
    # Not counted: one whose status is not set yet (the figure has not got the units back),
    # and one settled (the customer paid: the store took them again).
    release("9003", [{"line_id": "1", "product_id": str(mug), "variant_id": None, "units": 4}],
            ReleaseState.PLANNED)  # fmt: skip
    release("9004", [{"line_id": "1", "product_id": str(mug), "variant_id": None, "units": 5}],
            ReleaseState.SETTLED)  # fmt: skip

    response = anonymous.get(
        f"/storefront/{live_store.store.id}/availability",
        query_string={"product_ids": f"{pan},{mug},{shirt}:{large}"},
    )

    assert response.status_code == 200
    products = response.get_json()["products"]
    shown = {key: (p["in_stock"], p["out_of_stock"]) for key, p in products.items()}
    assert shown == {
        str(pan): (0, True),  # both units on the shelf are promised
        str(mug): (25, False),
        f"{shirt}:{large}": (2, False),  # the shirt's 3, less 1 promised to a small
    }
    assert shop.product_json(pan)["stock_quantity"] == 2  # nothing changed in the store
