"""The four messages rendered with exact text; a store's own wording; broken wording refused."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from plugin.adapters.mail import wording
from plugin.adapters.mail.wording import STORE_MESSAGES, SandboxedWording, problems, read, render
from plugin.core.model import (
    BackorderMode,
    PaymentState,
    Policies,
    ProductPolicy,
    ProductRef,
    StoreSettings,
)
from plugin.errors import TemplateProblem
from plugin.ports import Message, StoreMail, TemplateText
from plugin.usecases.notifying import KINDS, Notifications
from plugin.usecases.splitting import handle_order_event
from tests.fakes import (
    FakeAlerts,
    FakeAudit,
    FakeLedger,
    FakePlatform,
    FakePolicies,
    FakeReleaseLedger,
    make_line,
    make_order,
)

STORE = 1


class Outbox:
    """Collects posted messages (the real one is plugin/adapters/sql/outbox.py)."""

    def __init__(self, store: StoreMail) -> None:
        self.store = store
        self.messages: list[Message] = []

    def notifications(self) -> Notifications:
        return Notifications(
            lambda _store_id: self.store, self.messages.append, wording=SandboxedWording()
        )


def split_world(policies: Policies) -> FakePlatform:
    platform = FakePlatform()
    platform.add_order(
        make_order(
            "1042",
            [make_line("1", "p1", 5, name="Blue mug"), make_line("2", "p2", 2, name="Red mug")],
        )
    )
    platform.set_stock("p2", 10)
    return platform


def run_split(platform: FakePlatform, policies: Policies, outbox: Outbox) -> str:
    result = handle_order_event(
        STORE,
        "1042",
        platform=platform,
        ledger=FakeLedger(),
        releases=FakeReleaseLedger(),
        policies=FakePolicies(policies),
        audit=FakeAudit(),
        alerts=FakeAlerts(),
        notifier=outbox.notifications(),
    )
    return result.status


def test_split_tells_the_customer_what_ships_and_what_waits_with_the_expected_date() -> None:
    policies = Policies(
        products=(ProductPolicy(ProductRef("p1"), expected_date=dt.date(2026, 12, 1)),)
    )
    platform = split_world(policies)
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    outbox = Outbox(StoreMail("Mug Shop", alert_email="owner@shop.test"))

    assert run_split(platform, policies, outbox) == "split"

    [message] = outbox.messages
    assert (message.store_id, message.key, message.kind, message.recipient) == (
        STORE,
        "split:1042:1",
        "order_split",
        "ann@example.com",
    )
    assert message.subject == "Your order 1042: part of it is on backorder"
    assert message.body == (
        "Hello Ann Lee,\n"
        "\n"
        "part of your order 1042 at Mug Shop is on backorder.\n"
        "\n"
        "Ships now:\n"
        "- 3 x Blue mug\n"
        "- 2 x Red mug\n"
        "\n"
        "On backorder in order 1042-001:\n"
        "- 2 x Blue mug, expected 2026-12-01\n"
        "\n"
        "You are charged for the backordered items only when they ship.\n"
    )


def test_a_paid_order_is_told_the_backordered_items_are_paid_already() -> None:
    policies = Policies()
    platform = FakePlatform()
    platform.add_order(
        make_order(
            "1042",
            [make_line("1", "p1", 5, name="Blue mug"), make_line("2", "p2", 2, name="Red mug")],
            payment_state=PaymentState.PAID,
        )
    )
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    platform.set_stock("p2", 10)
    outbox = Outbox(StoreMail("Mug Shop"))

    assert run_split(platform, policies, outbox) == "split"

    [message] = outbox.messages
    assert message.body.endswith(
        "On backorder in order 1042-001:\n"
        "- 2 x Blue mug\n"
        "\n"
        "You have paid for the backordered items with your order: nothing more is charged when"
        " they ship.\n"
    )
    assert "only when they ship" not in message.body


def test_a_split_without_an_expected_date_names_none() -> None:
    policies = Policies()
    platform = split_world(policies)
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    outbox = Outbox(StoreMail("Mug Shop"))

    run_split(platform, policies, outbox)

    [message] = outbox.messages
    assert "- 2 x Blue mug\n\nYou are charged" in message.body
    assert "expected" not in message.body


def test_an_oversold_order_alerts_the_merchant_and_sends_the_customer_nothing() -> None:
    policies = Policies(settings=StoreSettings())
    platform = split_world(policies)
    platform.set_stock("p1", 3, backorders=BackorderMode.NO)
    outbox = Outbox(StoreMail("Mug Shop", alert_email="owner@shop.test"))

    status = run_split(platform, policies, outbox)

    assert status == "no_change"
    assert platform.created == []
    [message] = outbox.messages
    assert (message.kind, message.recipient) == ("order_not_backordered", "owner@shop.test")
    assert message.key.startswith("not_backordered:1042:")
    assert message.subject == "Order 1042 could not be backordered"
    assert message.body == (
        "Order 1042 at Mug Shop needs your attention:\n"
        "- 'Blue mug' (SKU SKU-p1): 2 of 5 units are out of stock and the product may not be"
        " backordered; they stay on the order without stock (oversold).\n"
    )


def test_without_an_alert_address_the_merchant_alert_is_skipped() -> None:
    policies = Policies()
    platform = split_world(policies)
    platform.set_stock("p1", 3, backorders=BackorderMode.NO)
    outbox = Outbox(StoreMail("Mug Shop", alert_email=""))

    run_split(platform, policies, outbox)

    assert outbox.messages == []


def released_order():  # type: ignore[no-untyped-def]
    order = make_order("5000", [make_line("9", "p1", 2, name="Blue mug")])
    return dataclasses.replace(order, number="1042-001")


def test_release_with_a_payment_link() -> None:
    outbox = Outbox(StoreMail("Mug Shop"))

    outbox.notifications().backorder_released(STORE, released_order(), "https://shop.test/pay/5000")

    [message] = outbox.messages
    assert (message.key, message.recipient) == ("released:5000", "ann@example.com")
    assert message.subject == "Your backorder 1042-001 is on its way"
    assert message.body == (
        "Hello Ann Lee,\n"
        "\n"
        "the items of your backorder 1042-001 at Mug Shop are in stock:\n"
        "- 2 x Blue mug\n"
        "\n"
        "Please pay for them here so we can ship: https://shop.test/pay/5000\n"
    )


def test_release_already_paid_has_no_payment_sentence() -> None:
    outbox = Outbox(StoreMail("Mug Shop"))

    outbox.notifications().backorder_released(STORE, released_order(), None)

    [message] = outbox.messages
    assert message.body == (
        "Hello Ann Lee,\n"
        "\n"
        "the items of your backorder 1042-001 at Mug Shop are in stock:\n"
        "- 2 x Blue mug\n"
    )


def test_stock_arrived_alerts_the_merchant() -> None:
    outbox = Outbox(StoreMail("Mug Shop", alert_email="owner@shop.test"))

    outbox.notifications().stock_arrived(STORE, ProductRef("17", "21"), 5, event="job-1")

    [message] = outbox.messages
    assert (message.kind, message.recipient, message.key) == (
        "stock_arrived",
        "owner@shop.test",
        "stock:17:21:5:job-1",
    )
    assert message.subject == "Stock arrived for open backorders: product 17 variation 21"
    assert message.body == (
        "5 units of product 17 variation 21 arrived at Mug Shop; open backorders of this"
        " product are being released.\n"
    )


def test_the_stores_own_wording_is_used() -> None:
    own = TemplateText(
        "Order {{ order_number }} split!",
        "Hi {{ customer_name }}: {{ backorder|map(attribute='quantity')|sum }} later.",
    )
    policies = Policies()
    platform = split_world(policies)
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    outbox = Outbox(StoreMail("Mug Shop", templates={"order_split": own}))

    run_split(platform, policies, outbox)

    [message] = outbox.messages
    assert (message.subject, message.body) == ("Order 1042 split!", "Hi Ann Lee: 2 later.")


def test_a_subject_cannot_add_header_lines() -> None:
    subject, _body = render(
        TemplateText("Stock\nBcc: x@evil.test", "b"), KINDS["stock_arrived"].sample
    )
    assert subject == "Stock Bcc: x@evil.test"


@pytest.mark.parametrize(
    ("template", "field", "fragment"),
    [
        (TemplateText("Hi", "{% for x in %}"), "body", "TemplateSyntaxError"),
        (TemplateText("{{ nope }}", "fine"), "subject", "UndefinedError: 'nope' is undefined"),
        (TemplateText("Hi", "{{ ''.__class__.__mro__ }}"), "body", "SecurityError"),
        (TemplateText("   ", "fine"), "subject", "Enter a subject."),
    ],
)
def test_broken_wording_is_refused(template: TemplateText, field: str, fragment: str) -> None:
    found = problems(template, KINDS["order_split"].sample)
    assert list(found) == [field]
    assert fragment in found[field][0]


def test_every_default_renders_with_its_sample() -> None:
    for kind in KINDS:
        assert problems(read(STORE_MESSAGES, kind), KINDS[kind].sample) == {}


def test_render_raises_template_problem() -> None:
    with pytest.raises(TemplateProblem, match="UndefinedError"):
        render(read(STORE_MESSAGES, "order_split"), {})


def test_each_message_reads_the_stores_mail_settings_once() -> None:
    """Each read is a database round trip in the worker (the store row and its purchase orders'
    expected dates): a message needs one."""
    reads: list[int] = []
    sent: list[Message] = []

    def store_mail(store_id: int) -> StoreMail:
        reads.append(store_id)
        return StoreMail("Mug Shop", alert_email="owner@shop.test")

    notifications = Notifications(store_mail, sent.append, wording=SandboxedWording())

    notifications.backorder_released(STORE, released_order(), None)
    notifications.stock_arrived(STORE, ProductRef("17"), 5, event="job-1")

    assert [m.kind for m in sent] == ["backorder_released", "stock_arrived"]
    assert reads == [STORE, STORE]


def test_a_wording_is_compiled_once_and_rendered_again_from_the_compiled_form() -> None:
    own = TemplateText("Hello {{ store_name }}", "{{ units }} units of {{ product }}")
    context = {"store_name": "Mug Shop", "units": 5, "product": "product 17"}
    wording._compiled.cache_clear()

    first = render(own, context)
    second = render(own, context)

    assert first == second == ("Hello Mug Shop", "5 units of product 17")
    info = wording._compiled.cache_info()
    assert (info.misses, info.hits, info.currsize) == (2, 2, 2)


def test_the_default_wordings_are_compiled_ahead_of_the_first_message() -> None:
    wording._compiled.cache_clear()

    wording.compile_all(read(STORE_MESSAGES, kind) for kind in KINDS)

    assert wording._compiled.cache_info().currsize == 2 * len(KINDS)
    outbox = Outbox(StoreMail("Mug Shop", alert_email="owner@shop.test"))
    outbox.notifications().stock_arrived(STORE, ProductRef("17"), 5, event="job-1")
    assert wording._compiled.cache_info().misses == 2 * len(KINDS)  # nothing compiled again
    assert [m.kind for m in outbox.messages] == ["stock_arrived"]
