"""The customer's page (issue 15) through Flask's test client, on real storage and Redis, with
the sandbox store served over HTTP on loopback: an order placed there is split by the real use
case, the split e-mail carries the link, and the page reads the store. Refused links and bad
forms change nothing (no request row, no job, no audit entry, no e-mail)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from jobs.self_service import page_links, request_job_id
from plugin.adapters.customer_links import CustomerLinks
from plugin.adapters.mail.wording import SandboxedWording
from plugin.adapters.queue.jobs import event_queue
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.models import AuditEntry, CustomerRequest, OutboxMessage
from plugin.adapters.sql.outbox import OutboxRepository, store_mail
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.self_service import (
    SqlCustomerLinks,
    SqlCustomerRequests,
    SqlDelayRecords,
    SqlSelfServiceSettings,
)
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.platforms.woocommerce.adapter import WooCommercePlatform
from plugin.platforms.woocommerce.client import WooCommerceClient
from plugin.ports import DateStyle, SelfServiceSettings
from plugin.usecases import splitting
from plugin.usecases.notifying import Notifications
from tests.functional.web.conftest import (
    DEMO_KEY,
    DEMO_SECRET,
    SECRET_KEY,
    LiveStore,
    csrf_token,
    state,
)

CUSTOMER = "ann.lee@example.com"


def _platform(live: LiveStore) -> WooCommercePlatform:
    return WooCommercePlatform(
        WooCommerceClient(live.url, DEMO_KEY, DEMO_SECRET, allow_private_addresses=True)
    )


def place_and_split(app: Flask, live: LiveStore, *, paid: bool = False, mugs: int = 1) -> dict:
    """An order in the sandbox (Blue Mug in stock, 2 Copper Kettles and 1 Walnut Board on
    backorder), split by the real use case; returns the original, the backorder order and the
    split e-mail's page path."""
    shop = live.shop
    order = shop.create_order(
        {
            "status": "processing" if paid else "on-hold",
            "set_paid": paid,
            "payment_method": "card" if paid else "bacs",
            "billing": {"first_name": "Ann", "last_name": "Lee", "email": CUSTOMER},
            "line_items": [
                {"product_id": live.product_id("MUG-BLUE"), "quantity": mugs},
                {"product_id": live.product_id("KETTLE-COPPER"), "quantity": 2},
                {"product_id": live.product_id("BOARD-WALNUT"), "quantity": 1},
            ],
        }
    )
    if paid:  # a paid order is split when the merchant's settings let processing be split
        shop.update_order(order["id"], {"status": "on-hold"})
    db = state(app).db
    outbox = OutboxRepository(db)
    notifier = Notifications(
        lambda store_id: store_mail(db, store_id),
        outbox.add,
        page_link=page_links(db, SECRET_KEY, state(app).config.public_url),
        wording=SandboxedWording(),
    )
    result = splitting.handle_order_event(
        live.store.id,
        str(order["id"]),
        platform=_platform(live),
        ledger=SqlSplitLedger(db),
        releases=SqlReleaseLedger(db),
        policies=SqlPolicyStore(db),
        audit=SqlAuditLog(db),
        notifier=notifier,
    )
    assert result is not None
    [split] = SqlSplitLedger(db).for_order(live.store.id, str(order["id"]))
    with db.session() as session:
        body = session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.kind == "order_split")
        ).all()[-1]
    url = re.search(r"http://\S+/my-order/\S+", body)
    assert url, body
    return {
        "original": str(order["id"]),
        "backorder": str(split.backorder_order_id),
        "number": str(split.plan["backorder_number"]),
        "path": urlsplit(url.group(0)).path,
        "body": body,
    }


def _side_effects(app: Flask, connection: redis.Redis) -> tuple[int, int, int, list[str]]:
    with state(app).db.session() as session:
        requests = session.scalar(select(func.count()).select_from(CustomerRequest)) or 0
        audit = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        mail = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    return requests, audit, mail, sorted(event_queue(connection).job_ids)


@pytest.fixture
def customer(app: Flask) -> FlaskClient:
    return app.test_client()


def test_the_split_email_links_to_a_page_showing_what_ships_and_what_waits(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    split = place_and_split(app, live_store)
    assert (
        "Follow your order, and cancel or change what waits, on your order page:" in split["body"]
    )
    response = customer.get(split["path"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert response.headers["X-Frame-Options"] == "DENY"
    ships, waits = (
        html.split(f'id="part-{split["original"]}"')[1].split("</section>")[0],
        html.split(f'id="part-{split["backorder"]}"')[1].split("</section>")[0],
    )
    assert "Ships now" in ships and "Blue Mug" in ships and "Copper Kettle" not in ships
    assert "On backorder: waits for stock" in waits
    assert re.search(r"<td>Copper Kettle</td>\s*<td class=\"qty\">2</td>", waits)
    assert re.search(r"<td>Walnut Board</td>\s*<td class=\"qty\">1</td>", waits)
    assert "not known yet" in waits  # no expected date set
    assert "Nothing charged yet: you pay when it ships" in waits
    assert "178.00" in waits  # 2 × 89.00
    # Both actions offered, each with labelled inputs.
    assert html.count('type="checkbox" name="line"') == 2
    assert 'for="condition-ship_available"' in html and 'for="condition-whole_order"' in html


def test_expected_dates_and_money_follow_the_store_settings(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    from plugin.core.model import ProductPolicy, ProductRef

    kettle = str(live_store.product_id("KETTLE-COPPER"))
    SqlPolicyStore(state(app).db).set_product_policy(
        live_store.store.id,
        ProductPolicy(ProductRef(kettle), expected_date=dt.date(2027, 1, 9)),
    )
    SqlSelfServiceSettings(state(app).db).save(
        live_store.store.id,
        SelfServiceSettings(date_style=DateStyle.LONG, decimal_comma=True),
    )
    split = place_and_split(app, live_store)
    html = customer.get(split["path"]).get_data(as_text=True)
    assert '<td class="expected">9 January 2027</td>' in html
    assert "178,00" in html


def test_a_paid_order_says_the_refund_is_due_on_the_original(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    split = place_and_split(app, live_store, paid=True)
    html = customer.get(split["path"]).get_data(as_text=True)
    assert "Paid with your original order" in html
    assert "the shop owes you a refund for what you cancel" in html


def _forged(store_id: int, order_id: str, email: str = CUSTOMER, version: int = 1) -> str:
    return CustomerLinks(SECRET_KEY).token(store_id, order_id, email, version)


def test_tampered_foreign_revoked_and_other_order_tokens_are_refused(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis
) -> None:
    split = place_and_split(app, live_store)
    other = place_and_split(app, live_store, mugs=2)
    store_id = live_store.store.id
    before = _side_effects(app, redis_client)
    good = split["path"].rsplit("/", 1)[1]
    bad_tokens = [
        good[:-10] + ("A" if good[-10] != "A" else "B") + good[-9:],  # signature altered
        ("A" if good[5] != "A" else "B").join((good[:5], good[6:])),  # payload altered
        good.replace(good.split(".")[0], _forged(store_id, other["original"]).split(".")[0]),
        CustomerLinks("another-secret-key-0123456789abcdef").token(
            store_id, split["original"], CUSTOMER, 1
        ),
        _forged(store_id, split["original"], "someone.else@example.com"),  # other address
        _forged(store_id, split["original"], version=2),  # a version never issued
        _forged(store_id + 1, split["original"]),  # another store's claim
        "x" * 500,
    ]
    for token in bad_tokens:
        response = customer.get(f"/stores/{store_id}/my-order/{token}")
        html = response.get_data(as_text=True)
        assert response.status_code == 404, token
        assert "This link does not work" in html and "Copper Kettle" not in html
        assert f'href="/stores/{store_id}/my-order-link"' in html
    # A valid token of this store shown under another store's path opens nothing.
    assert customer.get(f"/stores/{store_id + 1}/my-order/{good}").status_code == 404
    # The merchant revokes: the old link stops working; a new one works.
    assert SqlCustomerLinks(state(app).db).revoke(store_id, split["original"]) == 2
    assert customer.get(split["path"]).status_code == 404
    fresh = _forged(store_id, split["original"], version=2)
    assert customer.get(f"/stores/{store_id}/my-order/{fresh}").status_code == 200
    assert _side_effects(app, redis_client) == before


def test_an_expired_link_says_so_and_offers_a_new_one(
    app: Flask, live_store: LiveStore, customer: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    split = place_and_split(app, live_store)
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=121)).timestamp()
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: long_ago)
    old = _forged(live_store.store.id, split["original"])
    monkeypatch.undo()
    response = customer.get(f"/stores/{live_store.store.id}/my-order/{old}")
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(token=st.text(min_size=1, max_size=300).filter(lambda t: "/" not in t and "?" not in t
                                                       and "#" not in t))  # fmt: skip
def test_generated_tokens_are_all_refused(app: Flask, customer: FlaskClient, token: str) -> None:
    store = state(app).stores.create(
        name="Shop", base_url="http://127.0.0.1:9", consumer_key="ck", consumer_secret="cs",
        webhook_secret="whs", merchant_id=None,
    ) if not state(app).stores.list() else state(app).stores.list()[0]  # fmt: skip
    SqlCustomerLinks(state(app).db).ensure(store.id, "100", "100", "0" * 32)
    response = customer.get(f"/stores/{store.id}/my-order/{token}")
    assert response.status_code in (404, 308), token  # 308: Werkzeug normalising a path
    assert "Your order" not in response.get_data(as_text=True)


def _choose(customer: FlaskClient, path: str, action: str, data: dict[str, Any]) -> Any:
    token = csrf_token(customer.get(path).get_data(as_text=True))
    return customer.post(f"{path}/{action}", data={"csrf_token": token, **data})


def test_cancelling_asks_for_confirmation_then_records_one_request_and_one_job(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis
) -> None:
    split = place_and_split(app, live_store)
    path = split["path"]
    html = customer.get(path).get_data(as_text=True)
    [kettle_ref] = re.findall(r'name="line" value="([^"]+)" id="[^"]+">\s*<label[^>]*>2 ×', html)
    before = _side_effects(app, redis_client)
    confirm = _choose(customer, path, "cancel", {"line": kettle_ref})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "2 × Copper Kettle" in page and "You were not charged for them" in page
    assert _side_effects(app, redis_client) == before  # nothing recorded before confirming
    body = {"csrf_token": csrf_token(page), "line": kettle_ref, "confirm": "yes"}
    done = customer.post(f"{path}/cancel", data=body)
    assert done.status_code == 303 and done.headers["Location"] == path
    [record] = SqlCustomerRequests(state(app).db).for_order(live_store.store.id, split["original"])
    assert (record.kind, record.email, record.state) == ("cancel", CUSTOMER, "requested")
    [line] = record.payload["lines"]
    assert (line["backorder_order_id"], line["quantity"]) == (split["backorder"], 2)
    assert (
        request_job_id(live_store.store.id, record.request_key) in event_queue(redis_client).job_ids
    )
    audit = SqlAuditLog(state(app).db)
    trail = [e.message for e in audit.for_order(live_store.store.id, split["original"])]
    # The backorder order named by its number, as the merchant's pages name it (not `#<id>`).
    asked = f"the customer ({CUSTOMER}) asked on their order page: cancel (order {split['number']} "
    assert any(m.startswith(asked) for m in trail), trail
    # The same confirmation again: no second request, no second job.
    jobs = sorted(event_queue(redis_client).job_ids)
    again = customer.post(f"{path}/cancel", data=body)
    assert again.status_code == 303
    assert len(SqlCustomerRequests(state(app).db).for_order(live_store.store.id,
                                                             split["original"])) == 1  # fmt: skip
    assert sorted(event_queue(redis_client).job_ids) == jobs


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"line": "999:1"},
        {"line": "x" * 300},
        {"condition": "lines_complete"},  # not a customer's choice
    ],
)
def test_bad_choices_change_nothing(
    app: Flask,
    live_store: LiveStore,
    customer: FlaskClient,
    redis_client: redis.Redis,
    data: dict[str, str],
) -> None:
    split = place_and_split(app, live_store)
    before = _side_effects(app, redis_client)
    action = "delivery" if "condition" in data else "cancel"
    response = _choose(customer, split["path"], action, {**data, "confirm": "yes"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="flash error" role="alert"' in html
    assert "Nothing was cancelled." in html or "Nothing was changed." in html
    assert _side_effects(app, redis_client) == before


def test_a_post_without_csrf_token_changes_nothing(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis
) -> None:
    split = place_and_split(app, live_store)
    before = _side_effects(app, redis_client)
    response = customer.post(
        f"{split['path']}/delivery", data={"condition": "whole_order", "confirm": "yes"}
    )
    assert response.status_code == 400
    assert _side_effects(app, redis_client) == before


def test_actions_the_merchant_turned_off_are_not_offered_nor_taken(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis
) -> None:
    SqlSelfServiceSettings(state(app).db).save(
        live_store.store.id, SelfServiceSettings(allow_cancel=False, allow_delivery=False)
    )
    split = place_and_split(app, live_store)
    html = customer.get(split["path"]).get_data(as_text=True)
    assert 'name="line"' not in html and 'name="condition"' not in html
    before = _side_effects(app, redis_client)
    form = f"/stores/{live_store.store.id}/my-order-link"
    token = csrf_token(customer.get(form).get_data(as_text=True))
    for action, data in (("cancel", {"line": "1:1"}), ("delivery", {"condition": "whole_order"})):
        response = customer.post(
            f"{split['path']}/{action}", data={"csrf_token": token, "confirm": "yes", **data}
        )
        assert response.status_code == 303
    assert _side_effects(app, redis_client) == before


def test_changing_delivery_records_one_request_for_the_waiting_orders(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis
) -> None:
    split = place_and_split(app, live_store)
    confirm = _choose(customer, split["path"], "delivery", {"condition": "whole_order"})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Wait and ship everything together" in page
    body = {"csrf_token": csrf_token(page), "condition": "whole_order", "confirm": "yes"}
    assert customer.post(f"{split['path']}/delivery", data=body).status_code == 303
    [record] = SqlCustomerRequests(state(app).db).for_order(live_store.store.id, split["original"])
    assert record.kind == "delivery"
    assert dict(record.payload) == {"condition": "whole_order", "orders": [split["backorder"]]}


def test_a_new_link_is_sent_only_for_a_matching_order_and_address_and_says_the_same(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    split = place_and_split(app, live_store)
    number = split["original"]  # the sandbox numbers orders by their id
    form = f"/stores/{live_store.store.id}/my-order-link"

    def ask(order_number: str, email: str) -> str:
        token = csrf_token(customer.get(form).get_data(as_text=True))
        response = customer.post(
            form, data={"csrf_token": token, "order_number": order_number, "email": email}
        )
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def links_sent() -> list[str]:
        with state(app).db.session() as session:
            return list(
                session.scalars(
                    select(OutboxMessage.body).where(OutboxMessage.kind == "customer_link")
                )
            )

    answers = {ask(number, "nobody@example.com"), ask("99999", CUSTOMER)}
    assert links_sent() == []
    answers.add(ask(number, CUSTOMER.upper()))
    assert len(answers) == 1  # the same answer whatever matched
    [mail] = links_sent()
    path = urlsplit(re.search(r"http://\S+", mail).group(0)).path  # type: ignore[union-attr]
    assert customer.get(path).status_code == 200
    for _ in range(5):
        ask(number, CUSTOMER)
    assert len(links_sent()) == 3  # at most three an hour for one order


def test_a_new_link_form_with_bad_input_says_what_is_wrong_and_sends_nothing(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    form = f"/stores/{live_store.store.id}/my-order-link"
    token = csrf_token(customer.get(form).get_data(as_text=True))
    response = customer.post(form, data={"csrf_token": token, "order_number": "", "email": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter your order number" in html and "Enter the e-mail address" in html
    assert 'aria-invalid="true"' in html
    with state(app).db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# --- the merchant's side -----------------------------------------------------------------------

SETTINGS_FORM = {
    "allow_delivery": "on",
    "delay_rule": "ftc_30_day",
    "stated_shipping_days": "10",
    "answer_days": "7",
    "timezone": "America/New_York",
    "date_style": "dmy",
    "decimal_comma": "on",
}


def test_the_merchant_saves_the_customer_page_settings(
    app: Flask, alice: Any, alice_store: Any
) -> None:
    path = f"/stores/{alice_store.id}/customer-page"
    assert f'href="{path}"' in alice.get(f"/stores/{alice_store.id}/settings").get_data(
        as_text=True
    )
    response = alice.post(path, SETTINGS_FORM, token_from=path)
    assert response.status_code == 303
    assert SqlSelfServiceSettings(state(app).db).get(alice_store.id) == SelfServiceSettings(
        allow_cancel=False,
        allow_delivery=True,
        delay_rule="ftc_30_day",
        stated_shipping_days=10,
        answer_days=7,
        timezone="America/New_York",
        date_style=DateStyle.DAY_MONTH,
        decimal_comma=True,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("delay_rule", "sometimes"),
        ("stated_shipping_days", "0"),
        ("stated_shipping_days", "1e3"),
        ("answer_days", ""),
        ("answer_days", "61"),
        ("timezone", "Mars/Olympus"),
        ("timezone", "../../etc/passwd"),
        ("date_style", "ymd"),
    ],
)
def test_bad_customer_page_settings_say_why_and_save_nothing(
    app: Flask, alice: Any, alice_store: Any, field: str, value: str
) -> None:
    path = f"/stores/{alice_store.id}/customer-page"
    response = alice.post(path, {**SETTINGS_FORM, field: value}, token_from=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html and "Nothing was saved" in html
    with state(app).db.session() as session:
        from plugin.adapters.sql.models import SelfServiceSettings as Row

        assert session.scalar(select(func.count()).select_from(Row)) == 0


def test_the_merchant_sees_what_customers_did_and_revokes_a_link(
    app: Flask, alice: Any, live_store: LiveStore, customer: FlaskClient
) -> None:
    split = place_and_split(app, live_store)
    store_id = live_store.store.id
    confirm = _choose(customer, split["path"], "delivery", {"condition": "whole_order"})
    body = {"csrf_token": csrf_token(confirm.get_data(as_text=True)),
            "condition": "whole_order", "confirm": "yes"}  # fmt: skip
    assert customer.post(f"{split['path']}/delivery", data=body).status_code == 303
    listing = alice.get(f"/stores/{store_id}/customer-page").get_data(as_text=True)
    assert listing.count('class="customer-request"') == 1
    assert CUSTOMER in listing and "delivery: whole_order" in listing
    order_page = f"/stores/{store_id}/orders/{split['original']}"
    assert "asked on their order page: delivery" in alice.get(order_page).get_data(as_text=True)

    revoke = f"/stores/{store_id}/customer-page/links/{split['original']}/revoke"
    response = alice.post(revoke, {}, token_from=order_page)
    assert response.status_code == 303
    assert customer.get(split["path"]).status_code == 404
    with state(app).db.session() as session:
        [mail] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "customer_link")
        ).all()
    assert mail.recipient == CUSTOMER
    fresh = urlsplit(re.search(r"http://\S+", mail.body).group(0)).path  # type: ignore[union-attr]
    assert customer.get(fresh).status_code == 200


def test_revoking_an_order_without_a_link_changes_nothing(
    app: Flask, alice: Any, alice_store: Any, redis_client: redis.Redis
) -> None:
    before = _side_effects(app, redis_client)
    order_page = f"/stores/{alice_store.id}/orders/555"
    revoke = f"/stores/{alice_store.id}/customer-page/links/555/revoke"
    response = alice.post(revoke, {}, token_from=order_page)
    assert response.status_code == 303
    assert _side_effects(app, redis_client) == before
    assert "No link was ever sent for order #555" in alice.get(order_page).get_data(as_text=True)


# --- delay notices on the page ------------------------------------------------------------------


def _notice_sent(app: Flask, live: LiveStore, split: dict, deadline_days: int = 7) -> None:
    """What the delay check records when it sends notice 1 (jobs/delay_notices.py)."""
    now = dt.datetime.now(dt.UTC)
    records = SqlDelayRecords(state(app).db)
    records.watch(live.store.id, split["backorder"], original_order_id=split["original"],
                  ordered_at=now, promised_date=None)  # fmt: skip
    records.add_notice(
        live.store.id, split["backorder"],
        {"number": 1, "sent_at": now.isoformat(), "revised_date": "2027-02-01",
         "deadline": (now + dt.timedelta(days=deadline_days)).isoformat(),
         "silence_counts_as_consent": False},
    )  # fmt: skip


@pytest.mark.parametrize("choice", ["wait", "cancel"])
def test_the_customer_answers_a_delay_notice_once(
    app: Flask,
    live_store: LiveStore,
    customer: FlaskClient,
    redis_client: redis.Redis,
    choice: str,
) -> None:
    split = place_and_split(app, live_store)
    _notice_sent(app, live_store, split)
    html = customer.get(split["path"]).get_data(as_text=True)
    assert f'id="notice-{split["backorder"]}"' in html and "2027-02-01" in html
    form = {"order": split["backorder"], "notice": "1", "choice": choice}
    confirm = _choose(customer, split["path"], "answer", form)
    assert confirm.status_code == 200
    body = {"csrf_token": csrf_token(confirm.get_data(as_text=True)), **form, "confirm": "yes"}
    assert customer.post(f"{split['path']}/answer", data=body).status_code == 303
    watch = SqlDelayRecords(state(app).db).get(live_store.store.id, split["backorder"])
    assert watch is not None and [(a["notice_number"], a["choice"]) for a in watch.answers] == [
        (1, choice)
    ]
    jobs = event_queue(redis_client).job_ids
    queued = f"delays-{live_store.store.id}-answer-{split['backorder']}-1"
    assert (queued in jobs) is (choice == "cancel")
    audit = SqlAuditLog(state(app).db)
    trail = [e.message for e in audit.for_order(live_store.store.id, split["backorder"])]
    assert sum("answered delay notice 1" in m for m in trail) == 1
    # The buttons are gone, and a second answer changes nothing.
    assert f'id="notice-{split["backorder"]}"' not in customer.get(split["path"]).get_data(
        as_text=True
    )
    before = _side_effects(app, redis_client)
    assert customer.post(f"{split['path']}/answer", data=body).status_code == 400
    assert _side_effects(app, redis_client) == before


@pytest.mark.parametrize(
    "form",
    [
        {"notice": "1", "choice": "wait"},  # no order
        {"order": "ORDER", "notice": "2", "choice": "wait"},  # not the open notice
        {"order": "ORDER", "notice": "1", "choice": "maybe"},
        {"order": "999999", "notice": "1", "choice": "cancel"},  # not this customer's
    ],
)
def test_bad_answers_change_nothing(
    app: Flask,
    live_store: LiveStore,
    customer: FlaskClient,
    redis_client: redis.Redis,
    form: dict[str, str],
) -> None:
    split = place_and_split(app, live_store)
    _notice_sent(app, live_store, split)
    before = _side_effects(app, redis_client)
    data = {k: (split["backorder"] if v == "ORDER" else v) for k, v in form.items()}
    response = _choose(customer, split["path"], "answer", {**data, "confirm": "yes"})
    assert response.status_code == 400
    assert "can no longer be answered here. Nothing was changed." in response.get_data(as_text=True)
    assert _side_effects(app, redis_client) == before
    watch = SqlDelayRecords(state(app).db).get(live_store.store.id, split["backorder"])
    assert watch is not None and watch.answers == ()


def test_a_notice_past_its_deadline_cannot_be_answered(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    split = place_and_split(app, live_store)
    _notice_sent(app, live_store, split, deadline_days=-1)
    assert f'id="notice-{split["backorder"]}"' not in customer.get(split["path"]).get_data(
        as_text=True
    )


@pytest.mark.parametrize("rule", ["off", "ftc_30_day"])
def test_saving_a_product_date_queues_the_delay_check_when_the_rule_is_on(
    app: Flask, alice: Any, live_store: LiveStore, redis_client: redis.Redis, rule: str
) -> None:
    SqlSelfServiceSettings(state(app).db).save(
        live_store.store.id, SelfServiceSettings(delay_rule=rule)
    )
    kettle = live_store.product_id("KETTLE-COPPER")
    path = f"/stores/{live_store.store.id}/products"
    response = alice.post(
        f"{path}/{kettle}",
        {"backorders": "yes", "cap": "", "expected_date": "2027-03-01", "message": ""},
        token_from=path,
    )
    assert response.status_code == 303
    queued = f"delays-{live_store.store.id}-date-{kettle}-2027-03-01"
    assert (queued in event_queue(redis_client).job_ids) is (rule != "off")


# --- cancelling some units of a line ------------------------------------------------------------


def _kettle_ref(html: str) -> str:
    [ref] = re.findall(r'name="line" value="([^"]+)" id="[^"]+">\s*<label[^>]*>2 ×', html)
    return str(ref)


@pytest.mark.parametrize("paid", [False, True])
def test_cancelling_some_units_says_how_many_and_what_is_refunded_then_records_them(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis, paid: bool
) -> None:
    split = place_and_split(app, live_store, paid=paid)
    path = split["path"]
    html = customer.get(path).get_data(as_text=True)
    ref = _kettle_ref(html)
    field = f'name="units:{ref}"'
    assert re.search(rf'<input type="number" {field} id="[^"]+" min="0" max="2" value="2"', html)
    before = _side_effects(app, redis_client)
    confirm = _choose(customer, path, "cancel", {"line": ref, f"units:{ref}": "1"})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, page
    assert "1 of 2 × Copper Kettle" in page
    if paid:
        assert "the shop refunds 89.00 USD on that order" in page
    else:
        assert "You were not charged for them: nothing is refunded and nothing is due." in page
    assert _side_effects(app, redis_client) == before  # nothing recorded before confirming
    body = {"csrf_token": csrf_token(page), "line": ref, f"units:{ref}": "1", "confirm": "yes"}
    assert customer.post(f"{path}/cancel", data=body).status_code == 303
    [record] = SqlCustomerRequests(state(app).db).for_order(live_store.store.id, split["original"])
    [line] = record.payload["lines"]
    assert (line["backorder_order_id"], line["quantity"], line["units"], line["waiting"]) == (
        split["backorder"], 1, 1, 2,
    )  # fmt: skip
    audit = SqlAuditLog(state(app).db)
    trail = [e.message for e in audit.for_order(live_store.store.id, split["original"])]
    assert any("product " in m and "× 1 of 2" in m for m in trail)
    # The same confirmation again records nothing more; all the units is another request.
    assert customer.post(f"{path}/cancel", data=body).status_code == 303
    assert len(SqlCustomerRequests(state(app).db).for_order(live_store.store.id,
                                                             split["original"])) == 1  # fmt: skip


def test_all_the_units_of_a_line_is_the_whole_line(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    split = place_and_split(app, live_store)
    ref = _kettle_ref(customer.get(split["path"]).get_data(as_text=True))
    page = _choose(customer, split["path"], "cancel", {"line": ref, f"units:{ref}": "2"})
    body = {"csrf_token": csrf_token(page.get_data(as_text=True)), "line": ref,
            f"units:{ref}": "2", "confirm": "yes"}  # fmt: skip
    assert customer.post(f"{split['path']}/cancel", data=body).status_code == 303
    [record] = SqlCustomerRequests(state(app).db).for_order(live_store.store.id, split["original"])
    [line] = record.payload["lines"]
    assert line["quantity"] == 2 and "units" not in line


@pytest.mark.parametrize(
    ("units", "confirm"),
    [
        ("3", ""),  # more than wait
        ("-1", ""),
        ("1.5", ""),
        ("one", ""),
        ("²", ""),  # a digit to str.isdigit, not to int()
        ("1" * 40, ""),
        ("0", ""),  # none of the only chosen line: nothing chosen
        ("3", "yes"),  # the confirmation checks again
        ("0", "yes"),
    ],
)
def test_a_bad_number_of_units_is_refused_and_changes_nothing(
    app: Flask,
    live_store: LiveStore,
    customer: FlaskClient,
    redis_client: redis.Redis,
    units: str,
    confirm: str,
) -> None:
    split = place_and_split(app, live_store)
    ref = _kettle_ref(customer.get(split["path"]).get_data(as_text=True))
    before = _side_effects(app, redis_client)
    response = _choose(
        customer, split["path"], "cancel", {"line": ref, f"units:{ref}": units, "confirm": confirm}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert 'class="flash error" role="alert"' in html
    assert "Nothing was cancelled." in html
    if units != "0":
        assert "Copper Kettle: enter a whole number of units from 0 to 2" in html
    assert _side_effects(app, redis_client) == before
    assert "Cancel these items?" not in html


def test_a_bad_number_on_a_line_not_chosen_is_refused_too(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis
) -> None:
    split = place_and_split(app, live_store)
    html = customer.get(split["path"]).get_data(as_text=True)
    ref = _kettle_ref(html)
    [other] = [r for r in re.findall(r'name="line" value="([^"]+)"', html) if r != ref]
    before = _side_effects(app, redis_client)
    response = _choose(customer, split["path"], "cancel", {"line": ref, f"units:{other}": "9"})
    assert response.status_code == 400
    assert "Walnut Board: enter a whole number of units from 0 to 1" in response.get_data(
        as_text=True
    )
    assert _side_effects(app, redis_client) == before


# --- the date of the purchase order covering a line ---------------------------------------------


def _purchase_order(
    app: Flask, live: LiveStore, covers: dict[str, list[str]], *, status: str, date: dt.date
) -> str:
    """A purchase order covering `covers` (product SKU -> backorder orders, 2 units each)."""
    from plugin.adapters.sql.purchasing import SqlPurchasing
    from plugin.core.model import ProductRef
    from plugin.core.purchasing import (
        PurchaseOrder,
        PurchaseOrderLine,
        PurchaseOrderStatus,
        Reservation,
        Supplier,
    )

    shop = SqlPurchasing(state(app).db)
    suppliers = shop.suppliers(live.store.id)
    supplier_id = suppliers[0].id if suppliers else shop.save_supplier(
        live.store.id, Supplier(id="", name="Kettles Ltd", currency="USD", email="k@x.test")
    )  # fmt: skip
    number = f"PO-{len(shop.taken_numbers(live.store.id)) + 1}"
    lines = tuple(
        PurchaseOrderLine(
            ProductRef(str(live.product_id(sku))),
            2 * len(orders),
            Decimal("40.00"),
            reservations=tuple(Reservation(order_id, 2) for order_id in orders),
        )  # fmt: skip
        for sku, orders in covers.items()
    )
    shop.add(live.store.id, [PurchaseOrder(number, supplier_id, "USD",
                                           PurchaseOrderStatus(status), lines, date)])  # fmt: skip
    return number


def test_a_waiting_line_shows_the_date_of_the_purchase_order_covering_it(
    app: Flask, live_store: LiveStore, customer: FlaskClient
) -> None:
    from plugin.core.model import ProductPolicy, ProductRef

    board = str(live_store.product_id("BOARD-WALNUT"))
    SqlPolicyStore(state(app).db).set_product_policy(
        live_store.store.id, ProductPolicy(ProductRef(board), expected_date=dt.date(2027, 1, 9))
    )
    split = place_and_split(app, live_store)
    _purchase_order(app, live_store, {"KETTLE-COPPER": [split["backorder"]]}, status="sent",
                    date=dt.date(2027, 2, 14))  # fmt: skip
    # A draft covering the board promises nothing: the product's date stays.
    _purchase_order(app, live_store, {"BOARD-WALNUT": [split["backorder"]]}, status="draft",
                    date=dt.date(2027, 3, 1))  # fmt: skip
    # Another customer's order covered by a purchase order changes nothing here.
    _purchase_order(app, live_store, {"KETTLE-COPPER": ["999999"]}, status="sent",
                    date=dt.date(2027, 1, 2))  # fmt: skip
    html = customer.get(split["path"]).get_data(as_text=True)
    waits = html.split(f'id="part-{split["backorder"]}"')[1].split("</section>")[0]
    assert re.search(
        r"<td>Copper Kettle</td>\s*<td class=\"qty\">2</td>\s*<td class=\"expected\">"
        r"2027-02-14</td>", waits
    ), waits  # fmt: skip
    assert re.search(
        r"<td>Walnut Board</td>\s*<td class=\"qty\">1</td>\s*<td class=\"expected\">"
        r"2027-01-09</td>", waits
    ), waits  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "status", "moved_to", "queued"),
    [
        ("ftc_30_day", "sent", "2027-03-01", True),
        ("notify_only", "sent", "2027-03-01", True),
        ("off", "sent", "2027-03-01", False),  # the store sends no notices
        ("ftc_30_day", "sent", "2027-02-01", False),  # earlier: nobody waits longer
        ("ftc_30_day", "draft", "2027-03-01", False),  # a draft promised no date
    ],
)
def test_moving_a_purchase_orders_date_later_queues_the_delay_check(
    app: Flask,
    alice: Any,
    live_store: LiveStore,
    redis_client: redis.Redis,
    rule: str,
    status: str,
    moved_to: str,
    queued: bool,
) -> None:
    SqlSelfServiceSettings(state(app).db).save(
        live_store.store.id, SelfServiceSettings(delay_rule=rule)
    )
    split = place_and_split(app, live_store)
    number = _purchase_order(app, live_store, {"KETTLE-COPPER": [split["backorder"]]},
                             status=status, date=dt.date(2027, 2, 14))  # fmt: skip
    path = f"/stores/{live_store.store.id}/purchasing/orders/{number}"
    response = alice.post(f"{path}/expected", {"expected_date": moved_to}, token_from=path)
    assert response.status_code == 303
    job = f"delays-{live_store.store.id}-po-{number}-{moved_to}"
    jobs = event_queue(redis_client).job_ids
    assert (job in jobs) is queued
    assert not [j for j in jobs if j.startswith("delays-") and j != job]


@pytest.mark.parametrize(
    ("rule", "action", "status", "queued"),
    [
        ("ftc_30_day", "send", "draft", "sent-2027-02-14"),  # its orders are dated now
        ("notify_only", "cancel", "sent", "cancelled"),  # its orders lost the date it promised
        ("off", "send", "draft", None),  # the store sends no notices
        ("off", "cancel", "sent", None),
        ("ftc_30_day", "cancel", "draft", None),  # a draft promised no date
    ],
)
def test_sending_or_cancelling_a_covering_purchase_order_queues_the_delay_check(
    app: Flask,
    alice: Any,
    live_store: LiveStore,
    redis_client: redis.Redis,
    rule: str,
    action: str,
    status: str,
    queued: str | None,
) -> None:
    SqlSelfServiceSettings(state(app).db).save(
        live_store.store.id, SelfServiceSettings(delay_rule=rule)
    )
    split = place_and_split(app, live_store)
    number = _purchase_order(app, live_store, {"KETTLE-COPPER": [split["backorder"]]},
                             status=status, date=dt.date(2027, 2, 14))  # fmt: skip
    path = f"/stores/{live_store.store.id}/purchasing/orders/{number}"
    data = {"expected_date": "2027-02-14"} if action == "send" else {}
    response = alice.post(f"{path}/{action}", data, token_from=path)
    assert response.status_code == 303
    delay_jobs = [j for j in event_queue(redis_client).job_ids if j.startswith("delays-")]
    expected = [] if queued is None else [f"delays-{live_store.store.id}-po-{number}-{queued}"]
    assert delay_jobs == expected


# --- an order held whole ("wait and ship everything together") ----------------------------------


def place_and_hold(app: Flask, live: LiveStore, *, paid: bool = False) -> dict:
    """The order of `place_and_split`, of a customer who chose to wait and ship everything
    together (`backorders_delivery` on the order): the real use case puts it On Hold whole
    (`hold:<id>`, no backorder order). Returns the order and its page path (the link the delay
    notice carries)."""
    shop = live.shop
    order = shop.create_order(
        {
            "status": "processing" if paid else "on-hold",
            "set_paid": paid,
            "payment_method": "card" if paid else "bacs",
            "billing": {"first_name": "Ann", "last_name": "Lee", "email": CUSTOMER},
            "meta_data": [{"key": "backorders_delivery", "value": "whole_order"}],
            "line_items": [
                {"product_id": live.product_id("MUG-BLUE"), "quantity": 1},
                {"product_id": live.product_id("KETTLE-COPPER"), "quantity": 2},
                {"product_id": live.product_id("BOARD-WALNUT"), "quantity": 1},
            ],
        }
    )
    if paid:
        shop.update_order(order["id"], {"status": "on-hold"})
    db = state(app).db
    order_id = str(order["id"])
    splitting.handle_order_event(
        live.store.id, order_id, platform=_platform(live), ledger=SqlSplitLedger(db),
        releases=SqlReleaseLedger(db), policies=SqlPolicyStore(db), audit=SqlAuditLog(db),
    )  # fmt: skip
    [hold] = SqlSplitLedger(db).for_order(live.store.id, order_id)
    assert (hold.split_key, hold.state) == (f"hold:{order_id}", "done")
    assert shop.order_json(order["id"])["status"] == "on-hold"
    url = page_links(db, SECRET_KEY, state(app).config.public_url)(
        live.store.id, order_id, str(order["number"]), CUSTOMER
    )
    lines = {item["name"]: str(item["id"]) for item in order["line_items"]}
    return {"original": order_id, "path": urlsplit(url).path, "lines": lines}


@pytest.mark.parametrize("paid", [False, True])
def test_an_order_held_whole_offers_its_lines_for_cancellation(
    app: Flask, live_store: LiveStore, customer: FlaskClient, redis_client: redis.Redis, paid: bool
) -> None:
    held = place_and_hold(app, live_store, paid=paid)
    path, original = held["path"], held["original"]
    html = customer.get(path).get_data(as_text=True)
    assert "Waits whole: everything ships together when it is all in stock" in html
    # Every line of the order waits on it: each may be cancelled, on the order itself.
    refs = re.findall(r'name="line" value="([^"]+)"', html)
    assert sorted(refs) == sorted(f"{original}:{line_id}" for line_id in held["lines"].values())
    kettle = f"{original}:{held['lines']['Copper Kettle']}"
    assert re.search(
        rf'<input type="number" name="units:{kettle}" id="[^"]+" min="0" max="2" value="2"', html
    )
    if paid:
        assert "You paid for these with this order: the shop owes you a refund" in html
    else:
        assert "You have not been charged for these items." in html
    before = _side_effects(app, redis_client)

    confirm = _choose(customer, path, "cancel", {"line": kettle, f"units:{kettle}": "1"})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200, page
    assert "1 of 2 × Copper Kettle" in page and ": 1 still wait" in page
    if paid:
        assert "You paid for them with this order: the shop refunds 89.00 USD on it." in page
    else:
        assert "You were not charged for them: nothing is refunded and nothing is due." in page
    assert _side_effects(app, redis_client) == before  # nothing recorded before confirming

    body = {"csrf_token": csrf_token(page), "line": kettle, f"units:{kettle}": "1",
            "confirm": "yes"}  # fmt: skip
    done = customer.post(f"{path}/cancel", data=body)
    assert done.status_code == 303 and done.headers["Location"] == path
    [record] = SqlCustomerRequests(state(app).db).for_order(live_store.store.id, original)
    assert (record.kind, record.email, record.state) == ("cancel", CUSTOMER, "requested")
    kettle_id = str(live_store.product_id("KETTLE-COPPER"))
    assert record.payload == {
        "lines": [
            {"backorder_order_id": original, "original_order_id": original,
             "line_id": held["lines"]["Copper Kettle"], "product_id": kettle_id,
             "variant_id": None, "quantity": 1, "paid": paid, "units": 1, "waiting": 2}
        ]
    }  # fmt: skip
    jobs = sorted(event_queue(redis_client).job_ids)
    assert jobs == sorted([*before[3], request_job_id(live_store.store.id, record.request_key)])
    flashed = customer.get(path).get_data(as_text=True)
    if paid:
        assert "The refund for these items is due from the shop on this order." in flashed
    else:
        assert "You were not charged for these items." in flashed
    # The same confirmation again: no second request, no second job.
    assert customer.post(f"{path}/cancel", data=body).status_code == 303
    assert len(SqlCustomerRequests(state(app).db).for_order(live_store.store.id, original)) == 1
    assert sorted(event_queue(redis_client).job_ids) == jobs


@pytest.mark.parametrize(
    ("units", "confirm"),
    [("3", ""), ("-1", ""), ("1.5", ""), ("0", ""), ("3", "yes"), ("0", "yes")],
)
def test_a_bad_number_of_units_of_a_held_line_is_refused_and_changes_nothing(
    app: Flask,
    live_store: LiveStore,
    customer: FlaskClient,
    redis_client: redis.Redis,
    units: str,
    confirm: str,
) -> None:
    held = place_and_hold(app, live_store)
    kettle = f"{held['original']}:{held['lines']['Copper Kettle']}"
    before = _side_effects(app, redis_client)
    response = _choose(
        customer, held["path"], "cancel", {"line": kettle, f"units:{kettle}": units,
                                           "confirm": confirm},
    )  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert 'class="flash error" role="alert"' in html and "Nothing was cancelled." in html
    if units != "0":
        assert "Copper Kettle: enter a whole number of units from 0 to 2" in html
    assert "Cancel these items?" not in html
    assert _side_effects(app, redis_client) == before
    assert SqlCustomerRequests(state(app).db).for_order(live_store.store.id, held["original"]) == []
