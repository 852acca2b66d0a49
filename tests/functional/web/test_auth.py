"""Sign up, sign in (rate-limited), sign out, session cookie policy, CSRF, the demo merchant."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.redis.signin_throttle import SIGN_IN_MAX_FAILURES
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.adapters.sql.models import Merchant as MerchantRow
from plugin.usecases.accounts import ensure_demo_merchant
from tests.functional.web.conftest import (
    PASSWORD,
    Merchant,
    add_store,
    csrf_token,
    make_config,
    state,
)


def merchant_count(app: Flask) -> int:
    with state(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(MerchantRow)) or 0)


def test_sign_up_creates_a_hashed_unconfirmed_account(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": "New@Example.com ",
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
    )
    assert (response.status_code, response.headers["Location"]) == (303, "/signup/sent")
    merchant = MerchantRepository(state(app).db).by_email("new@example.com")
    assert merchant is not None and merchant.email == "new@example.com"
    assert merchant.email_verified is False  # until the link is opened (test_sign_up.py)
    assert merchant.password_hash != "long enough pw"
    assert check_password_hash(merchant.password_hash, "long enough pw")
    assert client.get("/stores").status_code == 303  # not signed in by the sign-up


def test_sign_up_with_invalid_fields_shows_inline_errors_and_saves_nothing(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    response = client.post(
        "/signup",
        data={"csrf_token": token, "email": "not-an-email", "password": "short", "confirm": "x"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<span class="field-error" data-field="email">Not a valid email address.</span>' in html
    assert (
        '<span class="field-error" data-field="password">Use at least 10 characters.</span>' in html
    )
    assert merchant_count(app) == 0


def test_sign_up_with_a_registered_email_changes_nothing(app: Flask, alice: Merchant) -> None:
    """Answered like a new address (test_sign_up.py compares the two), the account kept."""
    client = app.test_client()
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": alice.email,
            "password": "another long pw",
            "confirm": "another long pw",
        },
    )
    assert (response.status_code, response.headers["Location"]) == (303, "/signup/sent")
    assert merchant_count(app) == 1
    assert Merchant(app, alice.email).sign_in("another long pw").status_code == 400
    assert Merchant(app, alice.email).sign_in().status_code == 303


def test_sign_up_without_csrf_token_is_refused(app: Flask) -> None:
    client = app.test_client()
    response = client.post(
        "/signup",
        data={"email": "x@example.com", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert response.status_code == 400
    assert merchant_count(app) == 0


def test_sign_in_with_a_wrong_password_is_refused(app: Flask) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    response = merchant.sign_in("wrong password!")
    assert response.status_code == 400
    assert "The e-mail address or the password is not right." in response.get_data(as_text=True)
    assert merchant.get("/stores").status_code == 303


def test_sign_in_is_blocked_after_too_many_failures_even_with_the_right_password(
    app: Flask, redis_client: redis.Redis
) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    for _ in range(SIGN_IN_MAX_FAILURES):
        assert merchant.sign_in("wrong password!").status_code == 400
    response = merchant.sign_in()
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert merchant.get("/stores").status_code == 303
    # The counter lives in Redis with an expiry (shared by every web process).
    [key] = redis_client.keys("backorders:signin:pair:*")
    assert int(redis_client.get(key) or 0) == SIGN_IN_MAX_FAILURES
    assert 0 < redis_client.ttl(key) <= 15 * 60
    # Another account from the same IP is not affected.
    other = Merchant(app, "dave@example.com").sign_up()
    assert other.sign_in().status_code == 303


def test_a_successful_sign_in_resets_the_failure_count(
    app: Flask, redis_client: redis.Redis
) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    for _ in range(SIGN_IN_MAX_FAILURES - 1):
        merchant.sign_in("wrong password!")
    assert merchant.sign_in().status_code == 303
    assert redis_client.keys("backorders:signin:pair:*") == []


def test_sign_in_without_csrf_token_is_refused(app: Flask) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    response = merchant.client.post("/signin", data={"email": merchant.email, "password": PASSWORD})
    assert response.status_code == 400
    assert merchant.get("/stores").status_code == 303


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app: Flask) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    first = merchant.get("/stores")
    assert first.status_code == 303
    assert first.headers["Location"] == "/signin?next=/stores"
    token = csrf_token(merchant.get("/signin").get_data(as_text=True))
    response = merchant.client.post(
        "/signin",
        data={
            "csrf_token": token,
            "email": merchant.email,
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["Location"] == "/stores"


OFF_SITE_TARGETS = [
    "//evil.example",
    "////evil.example",  # the report: Werkzeug's normalisation made it //evil.example
    "/////evil.example/x",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "https://evil.example",
    "HTTPS://evil.example/stores",
    "http:/evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "//evil.example@127.0.0.1",
    "evil.example",
    "stores",
    "",
]


@pytest.mark.parametrize("target", OFF_SITE_TARGETS)
def test_sign_in_never_redirects_off_site(app: Flask, target: str) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    token = csrf_token(merchant.get("/signin").get_data(as_text=True))
    response = merchant.client.post(
        "/signin",
        data={"csrf_token": token, "email": merchant.email, "password": PASSWORD, "next": target},
    )
    if "\x00" in target:
        # Every merchant form with a NUL character is refused whole (web/__init__.py).
        assert (response.status_code, response.headers.get("Location")) == (400, None)
        return
    assert (response.status_code, response.headers["Location"]) == (303, "/stores")
    assert merchant.get("/stores").status_code == 200  # signed in all the same


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/stores", "/stores"),
        ("/stores/3/backorders?sort=age&dir=asc", "/stores/3/backorders?sort=age&dir=asc"),
        ("/stores?q=//evil.example", "/stores?q=//evil.example"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # one path segment on this site
        ("/stores/caf\u00e9", "/stores/caf%C3%A9"),
        ("///evil.example", "/evil.example"),  # Werkzeug sends a path of this site
    ],
)
def test_sign_in_returns_to_a_path_of_this_site(app: Flask, target: str, location: str) -> None:
    merchant = Merchant(app, "carol@example.com").sign_up()
    token = csrf_token(merchant.get("/signin").get_data(as_text=True))
    response = merchant.client.post(
        "/signin",
        data={"csrf_token": token, "email": merchant.email, "password": PASSWORD, "next": target},
    )
    assert (response.status_code, response.headers["Location"]) == (303, location)


def test_sign_out_ends_the_session(alice: Merchant) -> None:
    response = alice.post("/signout", {}, token_from="/stores")
    assert response.status_code == 303
    assert alice.get("/stores").status_code == 303


def test_sign_out_without_csrf_token_keeps_the_session(alice: Merchant) -> None:
    assert alice.post("/signout", {}).status_code == 400
    assert alice.get("/stores").status_code == 200


def test_session_cookie_is_httponly_lax_and_secure_outside_development(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_client: redis.Redis
) -> None:
    production = create_app(
        make_config(tmp_path, redis_server.url, development=False), TESTING=True
    )
    try:
        client = production.test_client()
        response = client.get("/signin", base_url="https://backorders.example")
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" in cookie
    finally:
        state(production).db.dispose()


def test_session_cookie_in_development_is_not_secure(app: Flask) -> None:
    cookie = app.test_client().get("/signin").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_ensure_demo_merchant_creates_once_resets_password_and_owns_the_store(app: Flask) -> None:
    db = state(app).db
    store = add_store(app, None)
    first = ensure_demo_merchant(
        MerchantRepository(db), "demo@example.com", "demo-password-1", store.id
    )
    second = ensure_demo_merchant(
        MerchantRepository(db), "demo@example.com", "demo-password-2", store.id
    )
    assert first == second
    assert merchant_count(app) == 1
    demo_record = MerchantRepository(db).get(first)
    assert demo_record is not None and demo_record.email_verified  # `make run` needs no link
    assert state(app).stores.get(store.id).merchant_id == first  # type: ignore[union-attr]
    demo = Merchant(app, "demo@example.com")
    assert demo.sign_in("demo-password-1").status_code == 400
    assert demo.sign_in("demo-password-2").status_code == 303


def test_merchant_pages_refuse_framing_and_sniffing(alice: Merchant) -> None:
    response = alice.get("/stores")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_demo_hint_shows_only_in_development(
    app: Flask, tmp_path: Path, redis_server: EmbeddedRedis, redis_client: redis.Redis
) -> None:
    development = app.test_client().get("/signin").get_data(as_text=True)
    assert '<p class="hint" id="demo-hint">Demo: demo@example.com / backorders-demo</p>' in (
        development
    )
    production = create_app(
        make_config(tmp_path / "prod", redis_server.url, development=False), TESTING=True
    )
    try:
        html = production.test_client().get("/signin").get_data(as_text=True)
        assert 'id="demo-hint"' not in html
    finally:
        state(production).db.dispose()
