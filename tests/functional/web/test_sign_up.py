"""Sign-up (issue 13, 11): the same answer whether or not an address is registered (its owner
is told by e-mail instead), the address confirmed by a signed, expiring link before a store can
be connected, and a password rule beyond length."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from plugin.adapters.mail.account_mail import MAX_MAILS_PER_ADDRESS
from plugin.adapters.queue.jobs import mail_job_id
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.adapters.sql.models import Merchant as MerchantRow
from plugin.adapters.sql.models import OutboxMessage, Store
from plugin.adapters.sql.outbox import OutboxRecord, OutboxRepository
from tests.functional.abuse.test_security import snapshot
from tests.functional.web.conftest import Merchant, csrf_token, make_config, state

NEW_PASSWORD = "plum tart by the sea"
LINK = re.compile(r"http://127\.0\.0\.1:8000/verify/([A-Za-z0-9_.\-]+)")


def account_mails(app: Flask) -> list[OutboxRecord]:
    """Outbox messages of no store (account e-mails), oldest first."""
    repository = OutboxRepository(state(app).db)
    with state(app).db.session() as session:
        ids = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.store_id.is_(None))
            .order_by(OutboxMessage.id)
        ).all()
    return [record for record in (repository.get(i) for i in ids) if record is not None]


def count(app: Flask, table: Any) -> int:
    with state(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def sign_up(client: FlaskClient, email: str, password: str = NEW_PASSWORD) -> Any:
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    return client.post(
        "/signup",
        data={"csrf_token": token, "email": email, "password": password, "confirm": password},
    )


def link_in(mail: OutboxRecord) -> str:
    match = LINK.search(mail.body)
    assert match, mail.body
    return f"/verify/{match.group(1)}"


def test_a_new_address_gets_a_confirmation_link_and_no_session(
    app: Flask, redis_client: redis.Redis
) -> None:
    client = app.test_client()
    response = sign_up(client, "New@Example.com")
    assert (response.status_code, response.headers["Location"]) == (303, "/signup/sent")
    merchant = MerchantRepository(state(app).db).by_email("new@example.com")
    assert merchant is not None and merchant.email_verified is False
    [mail] = account_mails(app)
    assert (mail.kind, mail.recipient, mail.status) == ("verify_email", "new@example.com", "queued")
    assert mail.subject == "Confirm your e-mail address for Backorders"
    assert "Open this link to confirm the address (it works for 3 days):" in mail.body
    assert redis_client.exists(f"rq:job:{mail_job_id(mail.id)}") == 1  # the worker sends it
    assert client.get("/stores").status_code == 303


def test_a_registered_address_gets_the_same_answer_and_its_owner_a_notice(
    app: Flask, alice: Merchant, redis_client: redis.Redis
) -> None:
    before = count(app, MerchantRow)
    stranger = app.test_client()
    registered = sign_up(stranger, alice.email, "some other pw 123")
    newcomer = app.test_client()
    fresh = sign_up(newcomer, "fresh@example.com", "some other pw 123")
    assert (registered.status_code, registered.headers["Location"]) == (
        fresh.status_code,
        fresh.headers["Location"],
    )
    # The page after it says the same, but for the address typed (development also shows the
    # message it kept instead of sending; production shows nothing else, see the next test).
    kept = re.compile(r'<section class="card" id="development-mail">.*?</section>', re.S)
    page_registered = kept.sub("", stranger.get("/signup/sent").get_data(as_text=True))
    page_fresh = kept.sub("", newcomer.get("/signup/sent").get_data(as_text=True))
    assert page_registered.replace(alice.email, "fresh@example.com") == page_fresh
    assert count(app, MerchantRow) == before + 1  # fresh only
    notice, link = account_mails(app)
    assert (notice.kind, notice.recipient) == ("already_registered", alice.email)
    assert "which already has one. Nothing was changed." in notice.body
    assert "http://127.0.0.1:8000/signin" in notice.body
    assert LINK.search(notice.body) is None  # no link that would confirm anything
    assert (link.kind, link.recipient) == ("verify_email", "fresh@example.com")
    # Alice's account is untouched: her password, her session.
    assert alice.get("/stores").status_code == 200
    assert Merchant(app, alice.email).sign_in("some other pw 123").status_code == 400


def test_the_answers_are_identical_in_production_too(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_client: redis.Redis
) -> None:
    production = create_app(
        make_config(tmp_path, redis_server.url, development=False), TESTING=True
    )
    try:
        Merchant(production, "owner@example.com").sign_up()
        pages = []
        for email in ("owner@example.com", "someone@example.com"):
            client = production.test_client()
            client.environ_base["wsgi.url_scheme"] = "https"
            response = sign_up(client, email)
            assert (response.status_code, response.headers["Location"]) == (303, "/signup/sent")
            html = client.get("/signup/sent").get_data(as_text=True)
            assert 'id="development-mail"' not in html
            pages.append(html.replace(email, "ADDRESS"))
        assert pages[0] == pages[1]
    finally:
        state(production).db.dispose()


def test_the_link_confirms_the_address_once_and_a_forged_one_does_not(app: Flask) -> None:
    client = app.test_client()
    sign_up(client, "new@example.com")
    [mail] = account_mails(app)
    forged = link_in(mail)[:-3] + "xyz"
    refused = client.get(forged)
    assert refused.status_code == 400
    assert "This link is not one we sent." in refused.get_data(as_text=True)
    merchant = MerchantRepository(state(app).db).by_email("new@example.com")
    assert merchant is not None and merchant.email_verified is False
    confirmed = client.get(link_in(mail))
    assert (confirmed.status_code, confirmed.headers["Location"]) == (303, "/signin")
    merchant = MerchantRepository(state(app).db).by_email("new@example.com")
    assert merchant is not None and merchant.email_verified is True
    assert "Your e-mail address is confirmed. Sign in to start." in client.get("/signin").get_data(
        as_text=True
    )
    assert client.get(link_in(mail)).status_code == 303  # again: still fine


def test_an_expired_link_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import itsdangerous.timed

    client = app.test_client()
    real_time = itsdangerous.timed.time.time
    with monkeypatch.context() as patch:  # the link is made 3 days and a minute ago
        patch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 3 * 86400 - 60)
        sign_up(client, "late@example.com")
    [mail] = account_mails(app)
    response = client.get(link_in(mail))
    assert response.status_code == 400
    assert "This link has expired. Sign in and ask for a new one." in response.get_data(
        as_text=True
    )
    merchant = MerchantRepository(state(app).db).by_email("late@example.com")
    assert merchant is not None and merchant.email_verified is False


def test_signing_up_again_before_confirming_replaces_the_password_and_the_link(
    app: Flask,
) -> None:
    first_client, second_client = app.test_client(), app.test_client()
    sign_up(first_client, "twice@example.com", "first long password")
    sign_up(second_client, "twice@example.com", "second long password")
    assert count(app, MerchantRow) == 1
    first, second = account_mails(app)
    stale = first_client.get(link_in(first))
    assert stale.status_code == 400
    assert "A newer link was sent to this address since; use the newest one." in (
        stale.get_data(as_text=True)
    )
    assert second_client.get(link_in(second)).status_code == 303
    assert Merchant(app, "twice@example.com").sign_in("first long password").status_code == 400
    assert Merchant(app, "twice@example.com").sign_in("second long password").status_code == 303


def test_an_unconfirmed_account_cannot_connect_a_store(
    app: Flask, redis_client: redis.Redis
) -> None:
    client = app.test_client()
    sign_up(client, "new@example.com")
    merchant = Merchant(app, "new@example.com")
    assert merchant.sign_in(NEW_PASSWORD).status_code == 303
    stores_page = merchant.get("/stores").get_data(as_text=True)
    assert 'id="verify-banner"' in stores_page
    assert "open the link we sent to new@example.com" in stores_page
    page = merchant.get("/stores/connect")
    assert page.status_code == 403
    assert "Confirm your e-mail address first" in page.get_data(as_text=True)
    before = snapshot(app, redis_client)
    posted = merchant.client.post(
        "/stores/connect",
        data={
            "csrf_token": csrf_token(stores_page),
            "action": "keys",
            "keys-store_url": "http://127.0.0.1:9",
            "keys-consumer_key": "ck_x",
            "keys-consumer_secret": "cs_x",
        },
    )
    assert posted.status_code == 403
    assert snapshot(app, redis_client) == before
    assert count(app, Store) == 0
    # Once confirmed, the same page opens.
    [mail] = account_mails(app)
    assert merchant.client.get(link_in(mail)).headers["Location"] == "/stores"
    assert merchant.get("/stores/connect").status_code == 200
    assert 'id="verify-banner"' not in merchant.get("/stores").get_data(as_text=True)


def test_a_new_link_can_be_asked_for_a_few_times_an_hour(app: Flask) -> None:
    sign_up(app.test_client(), "new@example.com")
    merchant = Merchant(app, "new@example.com")
    merchant.sign_in(NEW_PASSWORD)
    for _ in range(MAX_MAILS_PER_ADDRESS - 1):
        response = merchant.post("/verify/resend", {}, token_from="/stores")
        assert response.status_code == 303
    assert len(account_mails(app)) == MAX_MAILS_PER_ADDRESS
    refused = merchant.post("/verify/resend", {}, token_from="/stores")
    assert refused.status_code == 303
    assert "Several links were sent to this address lately; wait an hour." in merchant.get(
        "/stores"
    ).get_data(as_text=True)
    assert len(account_mails(app)) == MAX_MAILS_PER_ADDRESS
    # The links are all for the same password: the first one still confirms the address.
    first = account_mails(app)[0]
    assert merchant.client.get(link_in(first)).status_code == 303


def test_development_shows_the_kept_message_with_its_link(app: Flask) -> None:
    client = app.test_client()
    sign_up(client, "dev@example.com")
    html = client.get("/signup/sent").get_data(as_text=True)
    assert 'id="development-mail"' in html
    match = LINK.search(html)
    assert match
    assert client.get(f"/verify/{match.group(1)}").status_code == 303


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password123", "This is one of the most common passwords"),
        ("Summer2026!", "This is one of the most common passwords"),
        ("QWERTYUIOP", "This is one of the most common passwords"),
        ("1234567890", "This is one of the most common passwords"),
        ("backorders2026", "This is one of the most common passwords"),
        ("aaaaaaaaaaaa", "This password is a repeated or consecutive run of characters"),
        ("abcdefghijkl", "This password is a repeated or consecutive run of characters"),
        ("blueblueblue", "This password is a repeated or consecutive run of characters"),
        ("carol.smith@example.com", "Do not use your e-mail address as the password."),
        ("CAROL.SMITH", "Do not use your e-mail address as the password."),
        ("short", "Use at least 10 characters."),
    ],
)
def test_easily_guessed_passwords_are_refused_and_nothing_is_kept(
    app: Flask, redis_client: redis.Redis, password: str, message: str
) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    before = snapshot(app, redis_client)
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": "carol.smith@example.com",
            "password": password,
            "confirm": password,
        },
    )
    assert response.status_code == 400
    assert f'<span class="field-error" data-field="password">{message}' in response.get_data(
        as_text=True
    )
    assert snapshot(app, redis_client) == before
    assert account_mails(app) == []


@pytest.mark.parametrize(
    "password", ["plum tart by the sea", "Tr0ub4dor&3x", "correct horse battery", "n8!kQz-4v2Lm"]
)
def test_ordinary_passwords_are_accepted(app: Flask, password: str) -> None:
    response = sign_up(app.test_client(), "carol.smith@example.com", password)
    assert (response.status_code, response.headers["Location"]) == (303, "/signup/sent")
