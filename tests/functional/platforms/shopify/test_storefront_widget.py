"""The storefront widget's availability JSON for a Shopify store, against the Shopify sandbox
served on loopback: what a shopper can open (an ACTIVE product on the online store) and its
variants by the numbers a Shopify product page names, with the merchant's policy found by the
inventory item Backorders records; drafts and unpublished products answered like unknown ids,
every answer cached, the same rate limit."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductPolicy, ProductRef
from sandbox.shopify import catalog
from tests.functional.platforms.shopify.test_products_page import shopify_shop  # noqa: F401
from tests.functional.web.conftest import (  # noqa: F401 - fixtures
    Merchant,
    alice,
    anonymous,
    app,
    state,
)
from web.storefront import CACHE_S, RATE_LIMIT


def _number(global_id: str) -> int:
    return int(global_id.rsplit("/", 1)[1])


def _add(shop_app: Any, title: str, variants: list[dict[str, Any]], **options: Any) -> Any:
    """A product made in the sandbox shop (as the merchant would in the Shopify admin): its
    number, and per variant (variant number, inventory item number)."""
    shop = shop_app.extensions["shopify_sandbox"].shop
    warehouse = catalog.locations(shop)[0]["id"]
    for spec in variants:
        spec["stock"] = {warehouse: spec.pop("units", 0)}
    with shop.request():
        product = catalog.create_product(shop, title, variants, **options)
        made = [
            (_number(v["id"]), _number(v["_item"]))
            for v in shop.children("variants", product["_variants"])
        ]
    return _number(product["id"]), made


def _availability(client: FlaskClient, store: StoreRecord, ids: str) -> Any:
    response = client.get(f"/storefront/{store.id}/availability", query_string={"product_ids": ids})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _answer(**changes: Any) -> dict[str, Any]:
    answer = {
        "backorder_allowed": True,
        "in_stock": 0,
        "backorder_remaining": None,
        "expected_date": None,
        "message": "",
        "out_of_stock": True,
    }
    return {**answer, **changes}


def test_a_shopify_store_answers_for_what_a_shopper_can_open(
    app: Flask,  # noqa: F811
    anonymous: FlaskClient,  # noqa: F811
    shopify_shop: tuple[StoreRecord, Any],  # noqa: F811
) -> None:
    store, shop_app = shopify_shop
    stool, [(_, stool_item)] = _add(
        shop_app, "Oak Stool", [{"sku": "STOOL-OAK", "policy": "CONTINUE", "units": 0}]
    )
    draft, _ = _add(
        shop_app,
        "Draft Stool",
        [{"sku": "STOOL-DRAFT", "policy": "CONTINUE", "units": 0}],
        status="DRAFT",
    )
    hidden, _ = _add(
        shop_app,
        "Hidden Stool",
        [{"sku": "STOOL-HIDDEN", "policy": "CONTINUE", "units": 0}],
        online_store=False,
    )
    towel, [(red, red_item), (green, _)] = _add(
        shop_app,
        "Linen Towel",
        [
            {"title": "Red", "sku": "LTOWEL-RED", "policy": "CONTINUE", "units": 2},
            {"title": "Green", "sku": "LTOWEL-GREEN", "policy": "DENY", "units": 5},
        ],
    )
    policies = SqlPolicyStore(state(app).db)
    # The products page names a one-variant product by its number, a variant by its item.
    policies.set_product_policy(
        store.id,
        ProductPolicy(ProductRef(str(stool)), expected_date=dt.date(2027, 1, 15), message="Turned"),
    )
    policies.set_product_policy(
        store.id,
        ProductPolicy(
            ProductRef(str(towel), str(red_item)), cap=4, expected_date=dt.date(2027, 2, 1)
        ),
    )

    products = _availability(anonymous, store, f"{stool},{draft},{hidden},{towel},99999")
    assert products == {
        "products": {
            str(stool): _answer(expected_date="2027-01-15", message="Turned"),
            # A product with options: in stock while a variant is, no figure of its own.
            str(towel): _answer(in_stock=None, out_of_stock=False),
        }
    }
    red_answer = _availability(anonymous, store, f"{towel}:{red}")
    assert red_answer == {
        "products": {
            f"{towel}:{red}": _answer(
                in_stock=2, out_of_stock=False, backorder_remaining=4, expected_date="2027-02-01"
            )
        }
    }
    green_answer = _availability(anonymous, store, f"{towel}:{green}")
    assert green_answer == {
        "products": {
            f"{towel}:{green}": _answer(backorder_allowed=False, in_stock=5, out_of_stock=False)
        }
    }
    # Backorders' own name for the variant (its inventory item) is no id a page names.
    assert _availability(anonymous, store, f"{towel}:{red_item}") == {"products": {}}
    assert _availability(anonymous, store, f"{stool}:{stool_item}") == {"products": {}}


def test_drafts_are_answered_like_unknown_ids_and_every_answer_is_cached(
    app: Flask,  # noqa: F811
    anonymous: FlaskClient,  # noqa: F811
    shopify_shop: tuple[StoreRecord, Any],  # noqa: F811
    redis_client: redis.Redis,
) -> None:
    store, shop_app = shopify_shop
    draft, _ = _add(
        shop_app,
        "Draft Bench",
        [{"sku": "BENCH-DRAFT", "policy": "CONTINUE", "units": 0}],
        status="DRAFT",
    )
    path = f"/storefront/{store.id}/availability?product_ids="
    unknown = anonymous.get(path + "99999")
    drafted = anonymous.get(path + str(draft))
    assert (drafted.status_code, drafted.get_json()) == (unknown.status_code, unknown.get_json())
    assert drafted.get_json() == {"products": {}}
    assert drafted.headers["Cache-Control"] == unknown.headers["Cache-Control"]
    key = f"backorders:widget:product:{store.id}:{draft}"
    assert json.loads(redis_client.get(key) or "0") is None
    assert 0 < redis_client.ttl(key) <= CACHE_S
    assert redis_client.get(f"backorders:widget:variations:{store.id}:{draft}") == b"[]"

    shop = shop_app.extensions["shopify_sandbox"].shop
    with shop.request():
        shop.get(f"gid://shopify/Product/{draft}", "Product")["status"] = "ACTIVE"
    assert anonymous.get(path + str(draft)).get_json() == {"products": {}}  # from the cache
    redis_client.delete(key)
    assert anonymous.get(path + str(draft)).get_json() == {"products": {str(draft): _answer()}}

    for _ in range(RATE_LIMIT - 4):
        assert anonymous.get(path + str(draft)).status_code == 200
    limited = anonymous.get(path + str(draft))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "60")
