"""reconcile_store over the fakes: missed orders go through the inbox once; webhooks revived.

The inbox key of an order state is its id, its `date_modified_gmt` (to the second) and its
content's fingerprint; a webhook and reconciliation compute the same fingerprint for the same
state (tests/integration/platforms/woocommerce show it for the connector).
"""

from __future__ import annotations

import datetime as dt

import pytest

from plugin.errors import TransientError
from plugin.ports import OrderChange, WebhookInfo, moment_text
from plugin.usecases.reconciling import RECONCILE_FIRST_LOOKBACK, RECONCILE_OVERLAP, reconcile_store
from tests.fakes import FakeAlerts, FakeCheckpoints, FakeInbox, FakePlatform

STORE = 3
NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)


def at(minutes_ago: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes_ago)


def run(platform, inbox, checkpoints, alerts, enqueued, now=NOW):  # type: ignore[no-untyped-def]
    return reconcile_store(
        STORE,
        platform=platform,
        webhooks=platform,
        inbox=inbox,
        checkpoints=checkpoints,
        enqueue=enqueued.append,
        now=now,
        alerts=alerts,
    )


def test_changed_orders_are_added_to_the_inbox_and_enqueued_once() -> None:
    platform = FakePlatform(
        changes=[
            OrderChange("1", at(30), "processing", "fp-1"),  # before the checkpoint and overlap
            OrderChange("2", at(9), "processing", "fp-2"),
            OrderChange("3", at(1), "on-hold", "fp-3"),
        ]
    )
    inbox, checkpoints, alerts, enqueued = FakeInbox(), FakeCheckpoints(), FakeAlerts(), []
    checkpoints.set_checkpoint(STORE, at(10))

    result = run(platform, inbox, checkpoints, alerts, enqueued)

    assert (result.seen, result.added, result.enqueued) == (2, 2, 2)
    assert list(inbox.events.values()) == [
        (STORE, "order.updated", "2", moment_text(at(9)), "reconcile", "fp-2"),
        (STORE, "order.updated", "3", moment_text(at(1)), "reconcile", "fp-3"),
    ]
    assert enqueued == [1, 2]
    assert checkpoints.get_checkpoint(STORE) == NOW
    assert alerts.alerts == []

    # The next run overlaps the previous one: the same changes are seen, not added again.
    again = run(platform, inbox, checkpoints, alerts, enqueued, now=NOW + dt.timedelta(seconds=60))
    assert (again.seen, again.added, again.enqueued) == (1, 0, 0)
    assert enqueued == [1, 2]
    assert len(inbox.events) == 2


@pytest.mark.parametrize("topic", ["order.created", "order.updated"])
def test_an_event_the_webhook_already_delivered_is_not_added_twice(topic: str) -> None:
    # Whichever topic delivered it: a store sends order.created for a new order.
    platform = FakePlatform(changes=[OrderChange("2", at(5), "processing", "fp-processing")])
    inbox, checkpoints, alerts, enqueued = FakeInbox(), FakeCheckpoints(), FakeAlerts(), []
    assert inbox.add(STORE, topic, "2", moment_text(at(5)), "webhook", fingerprint="fp-processing")

    result = run(platform, inbox, checkpoints, alerts, enqueued)

    assert (result.seen, result.added, result.enqueued) == (1, 0, 0)
    assert enqueued == []
    assert list(inbox.events) == [1]


def test_a_same_second_change_the_webhooks_missed_is_recovered() -> None:
    # The store saved order 2 twice within one second (pending, then processing); only the
    # first state's delivery arrived. Order 4's only state in that second was delivered.
    moment = at(1)
    platform = FakePlatform(
        changes=[
            OrderChange("2", moment, "processing", "fp-2-processing"),
            OrderChange("4", moment, "on-hold", "fp-4-on-hold"),
        ]
    )
    inbox, checkpoints, alerts, enqueued = FakeInbox(), FakeCheckpoints(), FakeAlerts(), []
    gmt = moment_text(moment)
    assert inbox.add(STORE, "order.created", "2", gmt, "webhook", fingerprint="fp-2-pending") == 1
    assert inbox.add(STORE, "order.created", "4", gmt, "webhook", fingerprint="fp-4-on-hold") == 2

    result = run(platform, inbox, checkpoints, alerts, enqueued)

    assert (result.seen, result.added, result.enqueued) == (2, 1, 1)
    assert inbox.events[3] == (STORE, "order.updated", "2", gmt, "reconcile", "fp-2-processing")
    assert enqueued == [3]
    assert len(inbox.events) == 3

    # The next run sees the same state again (overlap): nothing new.
    again = run(platform, inbox, checkpoints, alerts, enqueued, now=NOW + dt.timedelta(minutes=1))
    assert (again.seen, again.added, again.enqueued) == (2, 0, 0)
    assert enqueued == [3] and len(inbox.events) == 3


def test_first_run_looks_back_a_day_with_overlap() -> None:
    edge = NOW - RECONCILE_FIRST_LOOKBACK - RECONCILE_OVERLAP
    platform = FakePlatform(
        changes=[
            OrderChange("old", edge - dt.timedelta(seconds=1), "processing", "fp-old"),
            OrderChange("new", edge + dt.timedelta(seconds=1), "processing", "fp-new"),
        ]
    )
    inbox, checkpoints, alerts, enqueued = FakeInbox(), FakeCheckpoints(), FakeAlerts(), []

    result = run(platform, inbox, checkpoints, alerts, enqueued)

    assert result.added == 1
    assert [e[2] for e in inbox.events.values()] == ["new"]


def test_disabled_webhooks_are_reactivated_and_reported() -> None:
    platform = FakePlatform(
        webhooks=[
            WebhookInfo("11", "order.created", "active", "http://127.0.0.1:8000/webhooks/1"),
            WebhookInfo("12", "order.updated", "disabled", "http://127.0.0.1:8000/webhooks/1"),
            WebhookInfo("13", "product.updated", "paused", "http://127.0.0.1:8000/webhooks/1"),
        ]
    )
    inbox, checkpoints, alerts, enqueued = FakeInbox(), FakeCheckpoints(), FakeAlerts(), []

    result = run(platform, inbox, checkpoints, alerts, enqueued)

    assert result.reactivated_webhooks == ("12",)
    assert [w.status for w in platform.webhooks] == ["active", "active", "paused"]
    assert [(a[0], a[1], a[2]) for a in alerts.alerts] == [(STORE, None, "webhook_disabled")]
    assert platform.calls.count("activate_webhook") == 1


def test_a_failed_listing_keeps_the_checkpoint() -> None:
    platform = FakePlatform(changes=[OrderChange("2", at(5), "processing", "fp-2")])
    platform.fail_at["orders_modified_since"] = TransientError("502")
    inbox, checkpoints, alerts, enqueued = FakeInbox(), FakeCheckpoints(), FakeAlerts(), []
    checkpoints.set_checkpoint(STORE, at(10))

    with pytest.raises(TransientError):
        run(platform, inbox, checkpoints, alerts, enqueued)

    assert checkpoints.get_checkpoint(STORE) == at(10)
    assert inbox.events == {} and enqueued == []
