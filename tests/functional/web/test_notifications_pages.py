"""E-mail pages: the development outbox, the wording editor (valid, broken, CSRF, ownership)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from rq.serializers import JSONSerializer

import worker
from plugin.adapters.queue.inprocess import InProcessWorker
from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.outbox import OutboxRepository, store_mail
from plugin.adapters.sql.stores import StoreRecord
from plugin.ports import Message, TemplateText
from tests.functional.web.conftest import SECRET_KEY, Merchant, state

SPLIT_PAGE = "/stores/{}/emails/order_split"


def test_development_outbox_captures_a_message_and_the_page_shows_it(
    app: Flask,
    alice: Merchant,
    alice_store: StoreRecord,
    redis_server: EmbeddedRedis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker, configured like the app: development, no SMTP_URL.
    for key, value in {
        "BACKORDERS_HOME": str(tmp_path),
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_server.url,
        "DEVELOPMENT": "1",
        "SMTP_URL": "",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", state(app).config.database_url)
    monkeypatch.setattr(worker, "_runtime", None)
    rt = worker.runtime()
    try:
        worker.notifications(rt).post(
            Message(
                alice_store.id,
                "split:1042:1",
                "order_split",
                "ann@example.com",
                "Your order 1042 <b>",
                "Ships now:\n- 3 x Blue mug\n",
            )  # fmt: skip
        )
        connection = redis_server.client()
        InProcessWorker(
            [event_queue(connection)], connection=connection, serializer=JSONSerializer
        ).work(burst=True)
        connection.close()
    finally:
        rt.db.dispose()

    [message] = OutboxRepository(state(app).db).list(alice_store.id)
    assert (message.status, message.attempts) == ("captured", 0)
    response = alice.get(f"/stores/{alice_store.id}/outbox")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="capture-hint"' in html
    assert f'<tr id="message-{message.id}" class="message">' in html
    assert '<td class="recipient">ann@example.com</td>' in html
    assert '<strong class="subject">Your order 1042 &lt;b&gt;</strong>' in html  # escaped
    assert '<pre class="body">Ships now:\n- 3 x Blue mug\n</pre>' in html
    assert '<td class="status">captured</td>' in html


def test_an_empty_outbox(alice: Merchant, alice_store: StoreRecord) -> None:
    html = alice.get(f"/stores/{alice_store.id}/outbox").get_data(as_text=True)
    assert '<td colspan="4" id="no-messages">No messages yet.</td>' in html


def test_another_merchant_gets_404_on_the_outbox_and_the_wording_pages(
    app: Flask, alice_store: StoreRecord, bob: Merchant
) -> None:
    OutboxRepository(state(app).db).add(
        Message(alice_store.id, "k", "order_split", "ann@example.com", "S", "B")
    )
    for path in (
        f"/stores/{alice_store.id}/outbox",
        f"/stores/{alice_store.id}/emails",
        SPLIT_PAGE.format(alice_store.id),
    ):
        response = bob.get(path)
        assert response.status_code == 404, path
        assert b"ann@example.com" not in response.data
    response = bob.post(
        SPLIT_PAGE.format(alice_store.id),
        {"subject": "Mine", "body": "Mine"},
        token_from="/stores",
    )
    assert response.status_code == 404
    assert store_mail(state(app).db, alice_store.id).templates == {}


def test_the_wording_is_saved_and_used_as_the_stores_own(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    page = SPLIT_PAGE.format(alice_store.id)
    html = alice.get(page).get_data(as_text=True)
    assert 'value="Your order {{ order_number }}: part of it is on backorder"' in html

    response = alice.post(
        page,
        {"subject": "Order {{ order_number }}", "body": "Hi {{ customer_name }}\r\n"},
        token_from=page,
    )

    assert response.status_code == 303
    assert store_mail(state(app).db, alice_store.id).templates == {
        "order_split": TemplateText("Order {{ order_number }}", "Hi {{ customer_name }}\n")
    }
    listing = alice.get(f"/stores/{alice_store.id}/emails").get_data(as_text=True)
    assert '<tr id="kind-order_split">' in listing
    assert "<td>Your own</td>" in listing

    response = alice.post(page, {"subject": "x", "body": "y", "action": "reset"}, token_from=page)
    assert response.status_code == 303
    assert store_mail(state(app).db, alice_store.id).templates == {}


def test_a_template_that_does_not_render_is_refused_and_nothing_is_saved(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    page = SPLIT_PAGE.format(alice_store.id)

    response = alice.post(
        page, {"subject": "Order {{ order_number }}", "body": "{% for x in %}"}, token_from=page
    )

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="template-invalid"' in html
    assert (
        '<span class="field-error" data-field="body">This template does not render: '
        "TemplateSyntaxError: Expected an expression, got &#39;end of statement block&#39;</span>"
    ) in html
    assert "{% for x in %}</textarea>" in html  # what was typed stays for correcting
    assert store_mail(state(app).db, alice_store.id).templates == {}


def test_a_post_without_the_csrf_token_is_refused(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    response = alice.post(SPLIT_PAGE.format(alice_store.id), {"subject": "S", "body": "B"})

    assert response.status_code == 400
    assert store_mail(state(app).db, alice_store.id).templates == {}


def test_an_unknown_message_kind_is_404(alice: Merchant, alice_store: StoreRecord) -> None:
    assert alice.get(f"/stores/{alice_store.id}/emails/nope").status_code == 404


def test_the_reported_nested_loop_template_is_refused_on_save_within_a_second(
    app: Flask, alice: Merchant, alice_store: StoreRecord
) -> None:
    """Issue 13, 3: eight saves of this template held every web thread for minutes."""
    page = SPLIT_PAGE.format(alice_store.id)
    nested = (
        "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
        "{{ a }}{{ b }}{{ c }}{% endfor %}{% endfor %}{% endfor %}"
    )
    token = alice.token(page)
    started = time.monotonic()
    response = alice.post(page, {"subject": "Hi", "body": nested, "csrf_token": token})
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert elapsed < 1.0, elapsed
    assert (
        '<span class="field-error" data-field="body">This template does too much to render: '
        "more than 10,000 steps (loop passes, calls and filters) (e-mail templates have a "
        "budget).</span>"
    ) in response.get_data(as_text=True)
    assert store_mail(state(app).db, alice_store.id).templates == {}
