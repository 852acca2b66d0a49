"""Sign-in throttling behind a reverse proxy (issue 13, 5): the client address comes from the
trusted proxies' X-Forwarded-For, one attacker cannot lock the owner out, and guessing one
account from many addresses is slowed, never locked (plugin/adapters/redis/signin_throttle.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.redis.signin_throttle import (
    ACCOUNT_FREE_FAILURES,
    ACCOUNT_MAX_DELAY_S,
    ADDRESS_MAX_FAILURES,
    DEVICE_COOKIE,
    SIGN_IN_MAX_FAILURES,
)
from tests.functional.web.conftest import PASSWORD, Merchant, add_store, csrf_token, make_config
from tests.functional.web.conftest import state as app_state

OWNER = "carol@example.com"
ATTACKER_IP = "203.0.113.66"
OWNER_IP = "198.51.100.7"


class Clock:
    """The throttle's clock (plugin.adapters.redis.signin_throttle._now), moved by hand."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("plugin.adapters.redis.signin_throttle._now", fake)
    return fake


def proxied_app(tmp_path: Path, redis_url: str, hops: int) -> Flask:
    return create_app(make_config(tmp_path, redis_url, trusted_proxy_hops=hops), TESTING=True)


@pytest.fixture
def behind_proxy(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_client: redis.Redis
) -> Iterator[Flask]:
    """The web app behind one reverse proxy (TRUSTED_PROXY_HOPS=1)."""
    application = proxied_app(tmp_path, redis_server.url, 1)
    yield application
    app_state(application).db.dispose()


def sign_in(
    client: FlaskClient, password: str, forwarded_for: str | None = None, email: str = OWNER
) -> Any:
    """One sign-in attempt as the proxy delivers it (X-Forwarded-For)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = csrf_token(client.get("/signin", headers=headers).get_data(as_text=True))
    return client.post(
        "/signin",
        data={"csrf_token": token, "email": email, "password": password},
        headers=headers,
    )


def signed_in(client: FlaskClient) -> bool:
    return bool(client.get("/stores").status_code == 200)


def test_behind_a_proxy_one_attacker_does_not_lock_the_owner_out(behind_proxy: Flask) -> None:
    Merchant(behind_proxy, OWNER).sign_up()
    attacker = behind_proxy.test_client()
    for attempt in range(SIGN_IN_MAX_FAILURES):
        assert sign_in(attacker, f"guess-{attempt}", ATTACKER_IP).status_code == 400
    refused = sign_in(attacker, PASSWORD, ATTACKER_IP)
    assert refused.status_code == 429
    assert not signed_in(attacker)
    # The owner, on a browser that never signed in before, through the same proxy.
    owner = behind_proxy.test_client()
    assert sign_in(owner, PASSWORD, OWNER_IP).status_code == 303
    assert signed_in(owner)


def test_a_client_cannot_choose_its_address_by_writing_x_forwarded_for(
    behind_proxy: Flask,
) -> None:
    """The proxy appends the address it saw; what the client wrote before it is not believed."""
    Merchant(behind_proxy, OWNER).sign_up()
    attacker = behind_proxy.test_client()
    for attempt in range(SIGN_IN_MAX_FAILURES):
        forged = f"10.0.0.{attempt}, {ATTACKER_IP}"
        assert sign_in(attacker, f"guess-{attempt}", forged).status_code == 400
    assert sign_in(attacker, PASSWORD, f"10.9.9.9, {ATTACKER_IP}").status_code == 429
    assert not signed_in(attacker)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    app: Flask, redis_client: redis.Redis
) -> None:
    Merchant(app, OWNER).sign_up()
    attacker = app.test_client()
    for attempt in range(SIGN_IN_MAX_FAILURES):
        assert sign_in(attacker, f"guess-{attempt}", f"203.0.113.{attempt}").status_code == 400
    assert sign_in(attacker, PASSWORD, "203.0.113.200").status_code == 429
    assert not signed_in(attacker)


def test_the_owners_browser_is_never_locked_out_even_from_the_attackers_address(
    app: Flask, redis_client: redis.Redis
) -> None:
    """Everyone shares one address here (no proxy trusted: the report's situation)."""
    Merchant(app, OWNER).sign_up()
    owner = app.test_client()
    assert sign_in(owner, PASSWORD).status_code == 303
    assert owner.get_cookie(DEVICE_COOKIE, path="/signin") is not None
    assert owner.post("/signout", data={"csrf_token": csrf_token(
        owner.get("/stores").get_data(as_text=True))}).status_code == 303  # fmt: skip
    attacker = app.test_client()
    for attempt in range(SIGN_IN_MAX_FAILURES):
        assert sign_in(attacker, f"guess-{attempt}").status_code == 400
    assert sign_in(attacker, PASSWORD).status_code == 429
    assert not signed_in(attacker)
    # The owner's browser carries the device cookie: its own count, not the attacker's.
    assert sign_in(owner, PASSWORD).status_code == 303
    assert signed_in(owner)


def test_a_device_cookie_counts_its_own_failures_and_only_for_its_account(
    app: Flask, redis_client: redis.Redis
) -> None:
    Merchant(app, OWNER).sign_up()
    other = Merchant(app, "dave@example.com").sign_up()
    owner = app.test_client()
    assert sign_in(owner, PASSWORD).status_code == 303
    # Carol's cookie is no key to Dave's account: tries on it count as any client's.
    for attempt in range(SIGN_IN_MAX_FAILURES):
        assert sign_in(owner, f"guess-{attempt}", email=other.email).status_code == 400
    assert sign_in(owner, PASSWORD, email=other.email).status_code == 429
    # On Carol's own account the device has five failures of its own, then waits.
    for attempt in range(SIGN_IN_MAX_FAILURES):
        assert sign_in(owner, f"typo-{attempt}").status_code == 400
    assert sign_in(owner, PASSWORD).status_code == 429
    # A forged or altered cookie is no device cookie.
    stranger = app.test_client()
    stranger.set_cookie(DEVICE_COOKIE, "eyJhIjoiIn0.forged.cookie", path="/signin")
    assert sign_in(stranger, PASSWORD).status_code == 303


def test_guessing_one_account_from_many_addresses_is_slowed_never_locked(
    behind_proxy: Flask, clock: Clock
) -> None:
    Merchant(behind_proxy, OWNER).sign_up()
    owners_browser = behind_proxy.test_client()
    assert sign_in(owners_browser, PASSWORD, OWNER_IP).status_code == 303
    attacker = behind_proxy.test_client()
    guesses = 0

    def guess(address: str) -> Any:
        nonlocal guesses
        guesses += 1
        return sign_in(attacker, f"guess-{guesses}", address)

    for index in range(ACCOUNT_FREE_FAILURES):
        assert guess(f"203.0.113.{index}").status_code == 400
    # From here each try waits twice as long as the one before, up to the cap.
    waits = []
    for index in range(12):
        refused = guess(f"192.0.2.{index}")
        assert refused.status_code == 429, index
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        assert f"Wait {wait} second" in refused.get_data(as_text=True) or wait >= 90
        clock.now += wait
        assert guess(f"192.0.2.{100 + index}").status_code == 400, index
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, ACCOUNT_MAX_DELAY_S]
    # The owner on a new device waits at most the cap, then signs in.
    newcomer = behind_proxy.test_client()
    refused = sign_in(newcomer, PASSWORD, OWNER_IP)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= ACCOUNT_MAX_DELAY_S
    assert "Wait 5 minutes and try again." in refused.get_data(as_text=True)
    clock.now += ACCOUNT_MAX_DELAY_S
    assert sign_in(newcomer, PASSWORD, OWNER_IP).status_code == 303
    # The owner's usual browser was never held up.
    assert sign_in(owners_browser, PASSWORD, OWNER_IP).status_code == 303


def test_one_address_trying_many_accounts_is_stopped(behind_proxy: Flask) -> None:
    Merchant(behind_proxy, OWNER).sign_up()
    sprayer = behind_proxy.test_client()
    for index in range(ADDRESS_MAX_FAILURES):
        email = f"someone-{index}@example.com"
        assert sign_in(sprayer, "Summer2026!", ATTACKER_IP, email).status_code == 400
    assert sign_in(sprayer, PASSWORD, ATTACKER_IP).status_code == 429
    assert not signed_in(sprayer)
    assert sign_in(behind_proxy.test_client(), PASSWORD, OWNER_IP).status_code == 303


def test_each_shopper_behind_the_proxy_has_their_own_widget_budget(
    behind_proxy: Flask,
) -> None:
    from web.storefront import RATE_LIMIT

    store = add_store(behind_proxy, None)  # nothing listens at its URL: 503 within budget
    # A store rate the widget never waits on: the store's limiter (each request would wait
    # STORE_WAIT_S for a slot, a minute for RATE_LIMIT requests) is not what is shown here.
    app_state(behind_proxy).stores.update(store.id, api_rate_limit=10_000.0)
    path = f"/storefront/{store.id}/availability?product_ids=11"
    shopper = behind_proxy.test_client()
    first = {"X-Forwarded-For": "203.0.113.10"}
    statuses = {shopper.get(path, headers=first).status_code for _ in range(RATE_LIMIT)}
    assert 429 not in statuses
    assert shopper.get(path, headers=first).status_code == 429
    other = shopper.get(path, headers={"X-Forwarded-For": "203.0.113.11"})
    assert other.status_code != 429


def test_an_https_public_url_without_trusted_proxies_is_warned_about(
    tmp_path: Path,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = {"development": False, "public_url": "https://hooks.example"}
    for hops, warned in ((0, True), (1, False)):
        caplog.clear()
        config = make_config(tmp_path / str(hops), redis_server.url, **settings)
        application = create_app(config.replace(trusted_proxy_hops=hops), TESTING=True)
        app_state(application).db.dispose()
        messages = [r.getMessage() for r in caplog.records if "no_trusted_proxy" in r.getMessage()]
        assert bool(messages) is warned, hops
