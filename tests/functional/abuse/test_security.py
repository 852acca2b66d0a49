"""Security tests of the merchant app (issue 7, Abuse): CSRF on every form, no access to
another merchant's store, sign-in rate limit. Routes are enumerated from `app.url_map`, so a
new form or store page is covered (or makes these tests fail) without editing them."""

from __future__ import annotations

import itertools
import re
import weakref
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import MetaData, Select, inspect, select
from werkzeug.routing import Rule

from plugin.adapters.redis.signin_throttle import SIGN_IN_MAX_FAILURES
from plugin.adapters.sql.stores import StoreRecord
from tests.functional.web.conftest import (
    PASSWORD,
    Merchant,
    add_store,
    alice,
    alice_store,
    anonymous,
    app,
    bob,
    csrf_token,
    state,
)

__all__ = ["alice", "alice_store", "anonymous", "app", "bob"]

# POST routes that are not forms, each authenticated by something other than a session:
CSRF_EXEMPT = {
    # The store's HMAC signature over the raw body (webhooks/receive.py).
    "webhooks.receive",
    # A server-to-server JSON POST from WooCommerce, authenticated by the signed, single-use
    # state in its URL (web/connect.py, authentication.md).
    "connect.wc_auth_callback",
    # Shopify's compliance webhooks, signed with the app's client secret (webhooks/shopify_app.py).
    "shopify_app.compliance_webhook",
}
# Store-scoped routes a shopper's browser calls without an account: the storefront widget
# and its availability JSON are public by design (web/storefront.py) and read-only.
PUBLIC_STORE_ROUTES = {
    "storefront_widget.widget",
    "storefront_widget.availability",
    # The customer's order page: its signed link is the authorisation, and the form asking
    # for a new link answers the same whatever was typed (web/customer.py; its own tests are
    # tests/functional/web/test_customer_page.py).
    "customer.page",
    "customer.cancel",
    "customer.delivery",
    "customer.new_link",
}

CSRF_REFUSALS = (
    "The CSRF token is missing.",
    "The CSRF token is invalid.",
    "The CSRF tokens do not match.",
    "The CSRF session token is missing.",
)


def snapshot(
    app: Flask, connection: Redis, *, ignore: str = "\0"
) -> tuple[dict[str, list[Any]], dict[bytes, Any]]:
    """Every row of every table, and every Redis key with its value (but those starting with
    `ignore`)."""
    rows: dict[str, list[Any]] = {}
    with state(app).db.transaction() as sql:
        names = sorted(inspect(sql).get_table_names())
        tables = _reflected.get(app)
        if tables is None or sorted(tables) != names:
            # Reflected once per app and schema (reflecting took most of a snapshot's time);
            # a table made since is reflected again, and its name is part of the snapshot.
            metadata = MetaData()
            metadata.reflect(bind=sql)
            tables = _reflected[app] = {t.name: select(t) for t in metadata.sorted_tables}
        rows["(tables)"] = list(names)
        for name, query in tables.items():
            rows[name] = [tuple(row) for row in sql.execute(query)]
    skipped = ignore.encode()
    keys = {k: connection.dump(k) for k in connection.keys("*") if not k.startswith(skipped)}
    return rows, keys


_reflected: weakref.WeakKeyDictionary[Flask, dict[str, Select[Any]]] = weakref.WeakKeyDictionary()


def url_for_rule(rule: Rule, store_id: int | str) -> str:
    """The rule's URL with plausible values (the store is `store_id`)."""
    values = {
        "store_id": store_id,
        "product_id": 11,
        "variation_id": 12,
        "customer_id": 13,
        "order_id": "1042",
        "line_id": "7",
        "job_id": "job-1",
        "state": "state-1",
        "filename": "app.css",
        "kind": "order_split",  # an e-mail template (web/notifications.py)
        "token": "token-1",  # an e-mail confirmation link (web/auth.py)
        "number": "PO-20261204-001",  # a purchase order (web/purchasing.py)
        "supplier_id": "1",
        "platform": "shopify",  # an account connect page (web/app_connect.py)
    }
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+:)?{name}>", str(values[name]), url)
    assert "<" not in url, url
    return url


def post_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or set())),
        key=lambda rule: rule.rule,
    )


# Field values that would change something if the form were accepted.
FORM_DATA: dict[str, dict[str, str]] = {
    "auth.sign_up": {"email": "mallory@example.com", "password": "p" * 12, "confirm": "p" * 12},
    "auth.sign_in": {"email": "alice@example.com", "password": PASSWORD},
    "stores.settings": {"statuses": "on-hold"},
    "connect.connect_form": {
        "action": "keys",
        "keys-store_url": "http://127.0.0.1:9",
        "keys-consumer_key": "ck_m",
        "keys-consumer_secret": "cs_m",
    },
    "app_connect.page": {"action": "install", "install-shop": "mallory.myshopify.com"},
    "products.update_product": {"policy": "allow"},
    "products.update_customer": {"policy": "allow"},
    "products.bulk": {"policy": "allow", "product_ids": "11"},
}


def test_the_exempt_routes_exist(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints >= CSRF_EXEMPT
    assert endpoints >= PUBLIC_STORE_ROUTES


@pytest.mark.parametrize("token", ["missing", "garbage", "another session's"])
def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    app: Flask,
    alice: Merchant,
    bob: Merchant,
    alice_store: StoreRecord,
    redis_client: Redis,
    token: str,
) -> None:
    rules = [rule for rule in post_rules(app) if rule.endpoint not in CSRF_EXEMPT]
    assert len(rules) >= 10, [rule.endpoint for rule in rules]
    bob_token = bob.token("/stores")
    for rule in rules:
        data = dict(FORM_DATA.get(rule.endpoint, {}))
        if token == "garbage":
            data["csrf_token"] = "IjRmYjQ2ZGQ5Ig.ZZZZZZ.forged-token"
        elif token == "another session's":
            data["csrf_token"] = bob_token
        before = snapshot(app, redis_client)
        response = alice.client.post(url_for_rule(rule, alice_store.id), data=data)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, (rule.endpoint, response.status_code)
        assert any(refusal in body for refusal in CSRF_REFUSALS), (rule.endpoint, body[:300])
        assert snapshot(app, redis_client) == before, rule.endpoint
    # Still signed in (sign-out without a token did nothing): the stores page answers 200.
    assert alice.get("/stores").status_code == 200


def test_every_form_passes_the_csrf_check_with_the_right_token(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    """The control for the test above: with the session's token, no route says CSRF."""
    for rule in post_rules(app):
        if rule.endpoint in CSRF_EXEMPT or rule.endpoint in (
            "auth.sign_out",
            "auth.sign_in",
            "auth.sign_up",
        ):
            continue
        data = dict(FORM_DATA.get(rule.endpoint, {}), csrf_token=alice.token("/stores"))
        response = alice.client.post(url_for_rule(rule, alice_store.id), data=data)
        body = response.get_data(as_text=True)
        assert not any(refusal in body for refusal in CSRF_REFUSALS), rule.endpoint


def store_rules(app: Flask) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "store_id" in rule.arguments
            and rule.endpoint not in CSRF_EXEMPT
            and rule.endpoint not in PUBLIC_STORE_ROUTES
        ),
        key=lambda rule: rule.rule,
    )


def test_a_merchant_cannot_read_or_change_another_merchants_store(
    app: Flask, alice: Merchant, bob: Merchant, alice_store: StoreRecord, redis_client: Redis
) -> None:
    bob_store = add_store(app, bob.id)
    rules = store_rules(app)
    assert len(rules) >= 10, [rule.endpoint for rule in rules]
    checked = 0
    # The stores page (for the CSRF token, the session's for every form) reads Bob's own
    # store, through its rate limiter, whose Redis keys expire by themselves. Read once: each
    # read waits for a slot of the store's rate.
    own_store_calls = f"backorders:ratelimit:{bob_store.id}"
    bob_token = bob.token("/stores")
    for rule in rules:
        url = url_for_rule(rule, alice_store.id)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            before = snapshot(app, redis_client, ignore=own_store_calls)
            if method == "GET":
                response = bob.get(url)
            else:
                data = dict(FORM_DATA.get(rule.endpoint, {}), csrf_token=bob_token)
                response = bob.client.post(url, data=data)
            assert response.status_code == 404, (method, url, response.status_code)
            assert snapshot(app, redis_client, ignore=own_store_calls) == before, (method, url)
            checked += 1
    assert checked >= len(rules)
    # The control: the same pages answer Bob for his own store (not 404 for everyone).
    for rule in rules:
        if "GET" in (rule.methods or set()) and set(rule.arguments) == {"store_id"}:
            assert bob.get(url_for_rule(rule, bob_store.id)).status_code != 404, rule.endpoint


def test_a_store_without_a_merchant_is_nobodys(
    app: Flask, alice: Merchant, redis_client: Redis
) -> None:
    orphan = add_store(app, None)
    for rule in store_rules(app):
        if "GET" in (rule.methods or set()):
            assert alice.get(url_for_rule(rule, orphan.id)).status_code == 404, rule.endpoint


def test_sign_in_is_locked_after_the_allowed_failures(
    app: Flask, anonymous: Any, redis_client: Redis
) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    assert SIGN_IN_MAX_FAILURES == 5
    for attempt in range(SIGN_IN_MAX_FAILURES):
        response = merchant.sign_in(password=f"wrong-{attempt}")
        assert response.status_code == 400, attempt
    # The next attempt, even with the right password, is refused and signs nobody in.
    refused = merchant.sign_in()
    assert refused.status_code == 429
    assert "Too many failed attempts" in refused.get_data(as_text=True)
    assert merchant.get("/stores").status_code == 303
    # Nor does another spelling of the same address get round the lock.
    page = merchant.get("/signin").get_data(as_text=True)
    respelled = merchant.client.post(
        "/signin",
        data={"csrf_token": csrf_token(page), "email": " CAROL@Example.com ", "password": PASSWORD},
    )
    assert respelled.status_code == 429
    assert merchant.get("/stores").status_code == 303
    # Another account from the same client is not locked by Carol's failures.
    dave = Merchant(app, "dave@example.com").sign_up()
    assert dave.sign_in().status_code == 303


def test_a_correct_sign_in_before_the_limit_resets_the_count(
    app: Flask, redis_client: Redis
) -> None:
    merchant = Merchant(app, "erin@example.com").sign_up()
    for attempt in range(SIGN_IN_MAX_FAILURES - 1):
        assert merchant.sign_in(password=f"wrong-{attempt}").status_code == 400
    assert merchant.sign_in().status_code == 303
    for attempt in range(SIGN_IN_MAX_FAILURES - 1):
        assert merchant.sign_in(password=f"again-{attempt}").status_code == 400
    assert merchant.sign_in().status_code == 303


def test_a_store_id_past_the_database_integer_range_is_404(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    # 2**31: past PostgreSQL's INTEGER, which its lookups cast the id to (a 500 before).
    token = alice.token("/stores")  # the session's, for every form (read once: see above)
    for rule, store_id in itertools.product(store_rules(app), (2**31, 2**62, 2**64, "9" * 5000)):
        url = url_for_rule(rule, store_id)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            if method == "GET":
                response = alice.get(url)
            else:
                response = alice.client.post(url, data={"csrf_token": token})
            assert response.status_code == 404, (method, url)


FRAME_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def frame_headers(response: Any) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in FRAME_HEADERS}


def test_the_email_pages_refuse_framing(alice: Merchant, alice_store: StoreRecord) -> None:
    """Issue 13, 10: the e-mail template and outbox pages sent no framing headers."""
    for path in (
        f"/stores/{alice_store.id}/emails",
        f"/stores/{alice_store.id}/emails/order_split",
        f"/stores/{alice_store.id}/outbox",
    ):
        response = alice.get(path)
        assert response.status_code == 200, path
        assert frame_headers(response) == FRAME_HEADERS, path


def test_every_page_refuses_framing(
    app: Flask, alice: Merchant, anonymous: Any, alice_store: StoreRecord
) -> None:
    """Every GET route of the app, signed in and not, whatever its status (errors too)."""
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or set())]
    assert len(rules) >= 20, [rule.endpoint for rule in rules]
    statuses = set()
    for rule in rules:
        url = url_for_rule(rule, alice_store.id)
        for client in (alice.client, anonymous):
            with client.get(url) as response:  # closes a static file's stream
                statuses.add(response.status_code)
                assert frame_headers(response) == FRAME_HEADERS, (rule.endpoint, url)
    assert {200, 303, 404} <= statuses
