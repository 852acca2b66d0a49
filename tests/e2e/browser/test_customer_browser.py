"""The customer's page in a real headless Chromium (issue 15), on a stack of real processes
whose worker sends e-mail to a real SMTP server (aiosmtpd on loopback): from the split e-mail
the customer opens their page, cancels one backordered unit and sees the store change, asks to
ship everything together and sees the next allocation honour it; a tampered and an expired
link are refused. Screenshots go to test-output/screenshots/customer-*.png."""

from __future__ import annotations

import datetime as dt
import email.message
import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

import run
from plugin.adapters.customer_links import CustomerLinks
from tests.e2e.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, screenshot
from tests.e2e.helpers import Api, Jobs, PluginDb, create_order, meta, wait_for
from tests.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@dataclass
class Inbox:
    """Every message the SMTP server accepted."""

    messages: list[email.message.Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def find(self, subject: str) -> list[email.message.Message]:
        with self.lock:
            return [m for m in self.messages if subject in str(m["Subject"])]


def body(message: email.message.Message) -> str:
    part = message.get_payload(decode=True)
    assert isinstance(part, bytes)
    return part.decode(message.get_content_charset() or "utf-8")


@dataclass
class MailStack:
    stack: run.Stack
    inbox: Inbox
    api: Api
    db: PluginDb
    jobs: Jobs
    browser: Any


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: run `make browser-deps` as root")
    from playwright.sync_api import sync_playwright

    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    home = tmp_path_factory.mktemp("home-customer")
    supervisor = run.Supervisor(log_dir=home / "logs")
    stack = run.Stack(
        home=home,
        port=free_port(),
        sandbox_port=free_port(),
        workers=1,
        supervisor=supervisor,
        extra_env={
            "LOG_LEVEL": "INFO",
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "BACKORDERS_DELAY_TICK": "86400",
        },
    )
    try:
        stack.start()
        assert stack.demo is not None
        api = Api(stack.demo.base_url, stack.demo.consumer_key, stack.demo.consumer_secret)
        db = PluginDb(stack.config())
        jobs = Jobs(stack.redis_url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield MailStack(stack, inbox, api, db, jobs, browser)
            finally:
                browser.close()
                jobs.close()
                db.db.dispose()
    finally:
        left = supervisor.stop_all()
        controller.stop()
        assert [c.name for c in left] == []


@pytest.fixture
def phone(mail_stack: MailStack) -> Iterator[Page]:
    """A fresh phone-sized browser page with no session: the customer has no account."""
    context = mail_stack.browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _line_quantities(order: dict[str, Any]) -> dict[int, int]:
    return {int(i["product_id"]): int(i["quantity"]) for i in order["line_items"]}


def test_from_the_split_email_the_customer_cancels_a_unit_and_changes_the_delivery(
    mail_stack: MailStack, phone: Page
) -> None:
    stack, api, inbox = mail_stack.stack, mail_stack.api, mail_stack.inbox
    store_id = stack.store_id
    assert store_id is not None
    tag = uuid.uuid4().hex[:6]
    mug = api.create_product(f"Mug {tag}", price="10.00", stock=10, backorders="no")
    kettle = api.create_product(f"Kettle {tag}", price="20.00", stock=0, backorders="yes")
    pen = api.create_product(f"Pen {tag}", price="3.00", stock=0, backorders="yes")
    order = create_order(
        api, [(mug["id"], 1), (kettle["id"], 1), (pen["id"], 2)],
        status="on-hold", set_paid=False,
    )  # fmt: skip
    [split_mail] = wait_for(
        lambda: inbox.find(f"Your order {order['number']}: part of it is on backorder"),
        timeout=60, what="the split e-mail over SMTP",
    )  # fmt: skip
    assert split_mail["To"] == "ada@example.com"
    link = re.search(r"http://\S+/my-order/\S+", body(split_mail))
    assert link is not None
    [child] = api.children(order["id"])

    # The page: what ships now, what waits.
    phone.goto(link.group(0))
    expect(phone.locator(f"#part-{order['id']}")).to_contain_text(f"Mug {tag}")
    waiting = phone.locator(f"#part-{child['id']}")
    expect(waiting).to_contain_text("On backorder: waits for stock")
    expect(waiting).to_contain_text(f"Kettle {tag}")
    expect(waiting).to_contain_text("Nothing charged yet: you pay when it ships")
    screenshot(phone, "customer-page")

    # Cancel the one kettle: choose, confirm, and the store's backorder order loses it.
    phone.get_by_label(re.compile(rf"1 × Kettle {tag}")).check()
    phone.click("#cancel-continue")
    expect(phone.locator("#confirm-refund")).to_contain_text("You were not charged for them")
    screenshot(phone, "customer-cancel-confirm")
    phone.click("#confirm-cancel")
    expect(phone.locator("#flash-1")).to_contain_text("Your cancellation is being made")
    wait_for(
        lambda: kettle["id"] not in _line_quantities(api.order(child["id"])),
        timeout=60, what="the kettle line removed in the store",
    )  # fmt: skip
    assert _line_quantities(api.order(child["id"])) == {pen["id"]: 2}
    assert api.get(f"/products/{kettle['id']}")["stock_quantity"] == 0
    wait_for(
        lambda: [
            n for n in api.notes(order["id"])
            if "at the request of the customer (ada@example.com)" in n["note"]
        ],
        timeout=60, what="the note on the original naming the customer",
    )  # fmt: skip
    notes = [n["note"] for n in api.notes(child["id"])]
    assert sum("at the request of the customer (ada@example.com)" in n for n in notes) == 1
    phone.reload()
    expect(phone.locator(f"#part-{child['id']}")).not_to_contain_text(f"Kettle {tag}")
    screenshot(phone, "customer-cancelled")

    # Ship everything together: the next allocation must not release part of the pens.
    phone.check("#condition-whole_order")
    phone.click("#delivery-continue")
    expect(phone.locator("#confirm-choice")).to_contain_text("Wait and ship everything together")
    phone.click("#confirm-delivery")
    expect(phone.locator("#flash-1")).to_contain_text("Your choice is being saved")
    wait_for(
        lambda: meta(api.order(child["id"]), "backorders_delivery") == "whole_order",
        timeout=60, what="the delivery choice written on the backorder order",
    )  # fmt: skip
    api.put(f"/products/{pen['id']}", {"stock_quantity": -1})  # one of the two pens arrives
    # The webhook delivered, its event processed, and the allocation it queued finished.
    wait_for(lambda: Api.flush_deliveries(stack.sandbox_url), timeout=30, what="deliveries")
    wait_for(mail_stack.db.events_finished, timeout=60, what="the product event processed")
    wait_for(mail_stack.jobs.idle, timeout=60, what="the allocation after one pen")
    assert api.order(child["id"])["status"] == "on-hold"
    assert len(api.children(order["id"])) == 1  # not split again: it waits whole
    api.put(f"/products/{pen['id']}", {"stock_quantity": 0})  # the second pen arrives
    wait_for(
        lambda: api.order(child["id"])["status"] == "pending",
        timeout=60, what="the whole backorder released when everything arrived",
    )  # fmt: skip
    assert _line_quantities(api.order(child["id"])) == {pen["id"]: 2}
    assert len(api.children(order["id"])) == 1
    [released] = wait_for(
        lambda: inbox.find("is on its way"), timeout=60, what="the release e-mail"
    )
    assert "/my-order/" in body(released)
    phone.reload()
    expect(phone.locator(f"#part-{child['id']}")).to_contain_text("In stock: ships now")
    screenshot(phone, "customer-released")

    # A tampered link and an expired one are refused, and offer a new link.
    token = link.group(0).rsplit("/", 1)[1]
    # A character inside the signature (the last one may only carry unused padding bits).
    tampered = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    phone.goto(f"{stack.web_url}/stores/{store_id}/my-order/{tampered}")
    expect(phone.locator("#refused-title")).to_have_text("This link does not work")
    expect(phone.locator("body")).not_to_contain_text(f"Mug {tag}")
    screenshot(phone, "customer-link-tampered")
    old = _expired_token(stack, store_id, str(order["id"]))
    phone.goto(f"{stack.web_url}/stores/{store_id}/my-order/{old}")
    expect(phone.locator("#refused-title")).to_have_text("This link has expired")
    expect(phone.locator("#ask-new-link")).to_be_visible()
    screenshot(phone, "customer-link-expired")


def test_the_customer_cancels_one_unit_of_a_two_unit_line_and_the_store_keeps_one(
    mail_stack: MailStack, phone: Page
) -> None:
    api, inbox = mail_stack.api, mail_stack.inbox
    tag = uuid.uuid4().hex[:6]
    mug = api.create_product(f"Mug {tag}", price="10.00", stock=10, backorders="no")
    cup = api.create_product(f"Cup {tag}", price="6.00", stock=0, backorders="yes")
    order = create_order(api, [(mug["id"], 1), (cup["id"], 2)], status="on-hold",
                         set_paid=False)  # fmt: skip
    [split_mail] = wait_for(
        lambda: inbox.find(f"Your order {order['number']}: part of it is on backorder"),
        timeout=60, what="the split e-mail over SMTP",
    )  # fmt: skip
    link = re.search(r"http://\S+/my-order/\S+", body(split_mail))
    assert link is not None
    [child] = api.children(order["id"])
    assert _line_quantities(api.order(child["id"])) == {cup["id"]: 2}
    assert api.get(f"/products/{cup['id']}")["stock_quantity"] == -2

    phone.goto(link.group(0))
    phone.get_by_label(re.compile(rf"2 × Cup {tag}")).check()
    phone.get_by_label(f"Units of Cup {tag} to cancel (0 to 2)").fill("1")
    screenshot(phone, "customer-cancel-units")
    phone.click("#cancel-continue")
    expect(phone.locator("#confirm-lines")).to_contain_text(f"1 of 2 × Cup {tag}")
    expect(phone.locator("#confirm-lines")).to_contain_text("1 still wait")
    expect(phone.locator("#confirm-refund")).to_contain_text("You were not charged for them")
    screenshot(phone, "customer-cancel-units-confirm")
    phone.click("#confirm-cancel")
    expect(phone.locator("#flash-1")).to_contain_text("Your cancellation is being made")
    wait_for(
        lambda: _line_quantities(api.order(child["id"])) == {cup["id"]: 1},
        timeout=60, what="the cup line down to 1 unit in the store",
    )  # fmt: skip
    after = api.order(child["id"])
    assert after["status"] == "on-hold"
    assert [i["total"] for i in after["line_items"]] == ["6.00"]
    assert api.get(f"/products/{cup['id']}")["stock_quantity"] == -1  # one unit given back
    wait_for(
        lambda: [n for n in api.notes(order["id"])
                 if "Backorders cancelled 1 of the 2 backordered units" in n["note"]],
        timeout=60, what="the note on the original",
    )  # fmt: skip
    phone.reload()
    waiting = phone.locator(f"#part-{child['id']}")
    expect(waiting).to_contain_text(f"Cup {tag}")
    expect(waiting.locator("td.qty")).to_have_text(["1"])
    screenshot(phone, "customer-cancelled-units")


def _expired_token(stack: run.Stack, store_id: int, order_id: str) -> str:
    """A token the stack's key signed 121 days ago (its lifetime is 120)."""
    import itsdangerous.timed

    signed_at = (dt.datetime.now(dt.UTC) - dt.timedelta(days=121)).timestamp()
    real = itsdangerous.timed.time.time
    itsdangerous.timed.time.time = lambda: signed_at  # type: ignore[assignment]
    try:
        return CustomerLinks(stack.config().secret_key).token(
            store_id, order_id, "ada@example.com", 1
        )
    finally:
        itsdangerous.timed.time.time = real  # type: ignore[assignment]
