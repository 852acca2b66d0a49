"""Merchants' templates render within a budget (issue 13, 3): a template that would run for
minutes or fill the memory is refused on save, and stops in the worker, in well under a
second; ordinary templates are unaffected."""

from __future__ import annotations

import gc
import time

import pytest

from plugin.adapters.mail import template_sandbox
from plugin.adapters.mail.wording import STORE_MESSAGES, SandboxedWording, problems, read, render
from plugin.core.model import BackorderMode, Policies
from plugin.ports import Message, StoreMail, TemplateText
from plugin.usecases.notifying import KINDS, Notifications
from tests.unit.usecases.notifying.test_messages import Outbox, run_split, split_world

# The reporter's template: eight saves of it held every web thread (health check 87 s).
REPORTED = (
    "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
    "{{ a }}{{ b }}{{ c }}{% endfor %}{% endfor %}{% endfor %}"
)
SAMPLE = KINDS["order_split"].sample
BUDGET = "This template does too much to render: "
BUDGET_NOTE = " (e-mail templates have a budget)."
STEPS = "more than 10,000 steps (loop passes, calls and filters)"
LONG = "a value longer than 100,000 characters"
TEXT = "more than 100,000 characters of text"

OVER_BUDGET = [
    (REPORTED, "a range of more than 1,000 numbers"),
    ("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", STEPS),
    ("{% for a in range(999) %}{% for b in range(999) %}{{ a }}{% endfor %}{% endfor %}", STEPS),
    ('{% for a in "x" * 90000 %}{% for b in "x" * 90000 %}{% endfor %}{% endfor %}', STEPS),
    (
        "{% for a in customer_name * 9999 %}{% for b in ships_now * 99 %}{% endfor %}{% endfor %}",
        STEPS,
    ),
    (
        "{% for i in range(1000) %}{% for x in backorder %}{% for y in order_number * 99 %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        STEPS,
    ),
    ('{{ "x" * 1000000000 }}', LONG),
    ("{{ [0] * 1000000000 }}", LONG),
    ("{{ 2 ** 100000 }}", "a number larger than 4,096 bits"),
    (
        '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}'
        "{% endfor %}{{ ns.s }}",
        LONG,
    ),
    ('{% set a = "xxxxxxxx" %}' + "{% set a = a ~ a %}" * 40 + "{{ a }}", LONG),
    ('{% set a = "xxxxxxxx" %}' + "{% set a = a + a %}" * 40 + "{{ a }}", LONG),
    ('{% for i in range(1000) %}{{ "x" * 99999 }}{% endfor %}', TEXT),
    ('{% set big %}{% for i in range(1000) %}{{ "x" * 99999 }}{% endfor %}{% endset %}', TEXT),
    (
        '{% macro m() %}{% for i in range(1000) %}{{ "x" * 99999 }}{% endfor %}{% endmacro %}'
        "{% set x = m() %}",
        TEXT,
    ),
    ('{{ range(1000)|join("x" * 99999) }}', LONG),
    ('{{ ("a" * 1000)|replace("a", "b" * 1000) }}', LONG),
    ('{{ "{:>999999999}".format(1) }}', "the text method format() is not available"),
    (
        '{{ "{x:>999999999}".format_map({"x": 1}) }}',
        "the text method format_map() is not available",
    ),
    ('{{ "x".ljust(1000000000) }}', "the text method ljust() is not available"),
    ('{{ ("\t" * 1000).expandtabs(1000) }}', "the text method expandtabs() is not available"),
    ('{{ "%0999999999d" % 1 }}', "formatting text with % is not available"),
    ('{{ "x"|truncate(1000000000) }}', "a number argument above 100,000"),
]
REFUSED = [
    ('{{ "x"|center(1000000000) }}', "TemplateAssertionError: No filter named 'center'."),
    ('{{ "\n" * 50000|indent(50000) }}', "TemplateAssertionError: No filter named 'indent'."),
    ('{{ "%0999999999d"|format(1) }}', "TemplateAssertionError: No filter named 'format'."),
    ("{{ lipsum(5) }}", "UndefinedError: 'lipsum' is undefined"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError: maximum recursion"),
]


@pytest.mark.parametrize(("body", "reason"), OVER_BUDGET)
def test_a_template_over_budget_is_refused_quickly(body: str, reason: str) -> None:
    started = time.monotonic()
    found = problems(TemplateText("Hi", body), SAMPLE)
    elapsed = time.monotonic() - started
    assert found == {"body": [f"{BUDGET}{reason}{BUDGET_NOTE}"]}
    assert elapsed < 2.0, elapsed


@pytest.mark.parametrize(("body", "start"), REFUSED)
def test_what_cannot_be_budgeted_is_not_available(body: str, start: str) -> None:
    started = time.monotonic()
    [problem] = problems(TemplateText("Hi", body), SAMPLE)["body"]
    assert problem.startswith(f"This template does not render: {start}"), problem
    assert time.monotonic() - started < 2.0


def test_the_subject_has_the_same_budget() -> None:
    found = problems(TemplateText(REPORTED, "fine"), SAMPLE)
    assert found == {"subject": [f"{BUDGET}a range of more than 1,000 numbers{BUDGET_NOTE}"]}


ORDINARY = (
    "{% set ns = namespace(units=0) %}"
    "{% macro line(item) %}{{ item.quantity }} x {{ item.name|title }}{% endmacro %}"
    "Hello {{ customer_name|default('customer')|upper }},\n"
    "{% for item in backorder %}{% set ns.units = ns.units + item.quantity %}"
    "{{ loop.index }}. {{ line(item) }}{{ ', ' if not loop.last }}{% endfor %}\n"
    "{{ backorder|map(attribute='name')|join(', ')|replace('mug', 'Mug')|truncate(40) }}\n"
    "{{ ns.units }} unit(s); {{ '%.2f'|format(3) if false else 'ok' }}; "
    "{{ (order_number ~ '-' ~ backorder_number)|length }}; "
    "{% for n in range(3) %}{{ n }}{% endfor %}; {{ ('=' * 10) }}; {{ 2 ** 10 }}; "
    "{{ store_name.upper() }} {{ ships_now|length }}"
)


def test_ordinary_templates_render_as_before() -> None:
    subject, body = render(TemplateText("S", ORDINARY), SAMPLE)
    assert subject == "S"
    assert body == (
        "Hello ANN LEE,\n"
        "1. 2 x Blue MugBlue Mug\n"  # trim_blocks: no newline after a block tag
        "2 unit(s); ok; 13; 012; ==========; 1024; SHOP 1"
    )
    for kind in KINDS:
        assert problems(read(STORE_MESSAGES, kind), KINDS[kind].sample) == {}


def test_a_garbage_collection_during_a_render_is_not_charged_to_the_template() -> None:
    """A full collection costs CPU time in proportion to the whole process's memory (1.4 to 6 s
    in a test process of 3 million objects), not to the template it interrupts: charged to the
    render, it refused a small template as "too much". Here any collection during the render
    burns 0.6 s of CPU, more than the whole budget, and thresholds of 1 make every allocation
    collect; the render collects nothing, and the collector is on again afterwards."""
    collected_while_rendering = []

    def slow_collection(phase: str, _info: dict[str, int]) -> None:
        if phase == "start" and template_sandbox._budget.get() is not None:
            collected_while_rendering.append(phase)
            burn_until = time.thread_time() + 0.6
            while time.thread_time() < burn_until:
                pass

    thresholds = gc.get_threshold()
    template = TemplateText("S", ORDINARY)
    render(template, SAMPLE)  # compiled and cached first: compiling is not rendering
    gc.collect()
    gc.callbacks.append(slow_collection)
    gc.set_threshold(1, 1, 1)
    try:
        subject, body = render(template, SAMPLE)
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(slow_collection)
    assert (subject, body.splitlines()[0]) == ("S", "Hello ANN LEE,")
    assert collected_while_rendering == []
    assert gc.isenabled()


def test_the_worker_stops_a_stored_template_over_budget_sends_the_default_and_alerts() -> None:
    """A template stored before the check (or one that passes with the sample but not with a
    real order) is stopped in the worker: the customer gets the default wording, the
    merchant an alert, and nothing hangs."""
    store = StoreMail("Mug Shop", templates={"order_split": TemplateText("Hi", REPORTED)})
    outbox = Outbox(store)
    alerts: list[tuple[int, str, str]] = []
    outbox.notifications = lambda: Notifications(  # type: ignore[method-assign]
        lambda _store_id: store,
        outbox.messages.append,
        lambda store_id, kind, text: alerts.append((store_id, kind, text)),
        wording=SandboxedWording(),
    )
    policies = Policies()
    platform = split_world(policies)
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    started = time.monotonic()
    assert run_split(platform, policies, outbox) == "split"
    assert time.monotonic() - started < 5.0
    [message] = outbox.messages
    assert isinstance(message, Message)
    assert message.subject == "Your order 1042: part of it is on backorder"
    assert message.body.startswith("Hello Ann Lee,\n\npart of your order 1042 at Mug Shop")
    assert alerts == [
        (
            1,
            "email_template:order_split",
            'Your wording of "Customer: order split" could not be used, so the default wording '
            f"was sent. {BUDGET}a range of more than 1,000 numbers{BUDGET_NOTE}",
        )
    ]
