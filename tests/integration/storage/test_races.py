"""Writes that SQLite's writer lock serialises, raced on PostgreSQL (issue 13).

On SQLite every write session holds one lock from its first read to its commit, so a read then
write cannot interleave with another writer. PostgreSQL runs them at once: here another
session (standing for a second process) holds an uncommitted change to the same row while the
repository writes, and commits once the repository waits for its lock. The repository must
then neither fail on the unique key nor write back what it read before that commit.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, insert, update

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.merchants import StoreSettingsForm, alert_email, save_store_settings
from plugin.adapters.sql.models import (
    CustomerPolicyRow,
    ProductPolicyRow,
    ReleaseBump,
    Split,
    Store,
)
from plugin.adapters.sql.outbox import save_email_template, store_mail
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.statements import InvalidTransition
from plugin.adapters.sql.stores import StoreRecord, StoreRepository, locked_store
from plugin.core.model import (
    CustomerPolicy,
    DeliveryCondition,
    ProductPolicy,
    ProductRef,
    StoreSettings,
)
from plugin.ports import SplitState, TemplateText
from tests import postgres
from tests.e2e.helpers import wait_for

# On SQLite the other session would only meet the busy timeout: nothing runs at once there.
pytestmark = pytest.mark.database("postgresql")


def while_another_session_writes(
    db: Database, change: Callable[[Connection], Any], write: Callable[[], None]
) -> list[BaseException]:
    """Run `write` in a thread while another session holds `change` uncommitted; commit that
    session once `write` waits for its lock. Returns what the thread raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            write()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    with db.engine.connect() as other:
        change(other)
        writer = threading.Thread(target=run)
        writer.start()
        try:
            wait_for(
                lambda: postgres.lock_waiters(db.url) == 1 or not writer.is_alive(),
                timeout=20,
                what="the writer to wait for the other session's lock",
            )
        finally:
            other.commit()
        writer.join(timeout=20)
    assert not writer.is_alive()
    return errors


def test_a_product_policy_inserted_by_another_writer_meanwhile_is_replaced(
    db: Database, store: StoreRecord
) -> None:
    policies = SqlPolicyStore(db)
    ref = ProductRef("7")
    values = {"store_id": store.id, "product_id": "7", "variant_id": "", "message": "other"}
    mine = ProductPolicy(ref, allow_backorder=True, cap=3, message="mine")

    errors = while_another_session_writes(
        db,
        lambda other: other.execute(insert(ProductPolicyRow).values(**values)),
        lambda: policies.set_product_policy(store.id, mine),
    )

    assert errors == []
    assert policies.product_policies(store.id) == [mine]


def test_a_customer_policy_inserted_by_another_writer_meanwhile_is_replaced(
    db: Database, store: StoreRecord
) -> None:
    policies = SqlPolicyStore(db)
    values = {"store_id": store.id, "customer_id": "5", "priority": 9}
    mine = CustomerPolicy("5", DeliveryCondition.LINES_COMPLETE, priority=2)

    errors = while_another_session_writes(
        db,
        lambda other: other.execute(insert(CustomerPolicyRow).values(**values)),
        lambda: policies.set_customer_policy(store.id, mine),
    )

    assert errors == []
    assert policies.customer_policies(store.id) == [mine]


def test_a_bump_inserted_by_another_writer_meanwhile_is_replaced(
    db: Database, store: StoreRecord
) -> None:
    ledger = SqlReleaseLedger(db)
    values = {"store_id": store.id, "order_id": "12", "bump": 1}

    errors = while_another_session_writes(
        db,
        lambda other: other.execute(insert(ReleaseBump).values(**values)),
        lambda: ledger.set_bump(store.id, "12", 4),
    )

    assert errors == []
    assert ledger.bumps(store.id) == {"12": 4}


TEMPLATE = TemplateText("Your order {{ order }}", "Hello {{ customer }}")
FORM = StoreSettingsForm(
    settings=StoreSettings(numbering_pattern="{order}-B{n}"),
    alert_email="owner@shop.test",
    reconcile_interval_seconds=600,
    api_rate_limit=2.0,
)


def _settings_with(db: Database, store_id: int, **keys: Any) -> Callable[[Connection], Any]:
    """Another writer's change: `keys` added to the store's settings JSON."""
    with db.session() as session:
        row = session.get(Store, store_id)
        assert row is not None
        current = dict(row.settings)
    return lambda other: other.execute(
        update(Store).where(Store.id == store_id).values(settings={**current, **keys})
    )


def test_settings_saved_while_another_writer_saves_an_email_template_keep_both(
    db: Database, store: StoreRecord
) -> None:
    errors = while_another_session_writes(
        db,
        _settings_with(
            db,
            store.id,
            email_templates={"split": {"subject": TEMPLATE.subject, "body": TEMPLATE.body}},
        ),
        lambda: save_store_settings(db, store.id, FORM),
    )

    assert errors == []
    assert store_mail(db, store.id).templates == {"split": TEMPLATE}
    assert alert_email(db, store.id) == "owner@shop.test"


def test_an_email_template_saved_while_another_writer_saves_settings_keeps_both(
    db: Database, store: StoreRecord
) -> None:
    errors = while_another_session_writes(
        db,
        _settings_with(db, store.id, alert_email="owner@shop.test"),
        lambda: save_email_template(db, store.id, "split", TEMPLATE),
    )

    assert errors == []
    assert store_mail(db, store.id).templates == {"split": TEMPLATE}
    assert alert_email(db, store.id) == "owner@shop.test"


def test_core_settings_updated_while_another_writer_saves_an_email_template_keep_both(
    db: Database, stores: StoreRepository, store: StoreRecord
) -> None:
    errors = while_another_session_writes(
        db,
        _settings_with(
            db,
            store.id,
            email_templates={"split": {"subject": TEMPLATE.subject, "body": TEMPLATE.body}},
        ),
        lambda: stores.update_settings(store.id, FORM.settings),
    )

    assert errors == []
    assert store_mail(db, store.id).templates == {"split": TEMPLATE}
    stored = stores.get(store.id)
    assert stored is not None and stored.settings == FORM.settings


def test_a_backorder_order_recorded_by_another_writer_meanwhile_is_not_overwritten(
    db: Database, store: StoreRecord
) -> None:
    ledger = SqlSplitLedger(db)
    ledger.start(store.id, "1042", "split:1042", {"lines": []})
    ledger.advance(store.id, "split:1042", SplitState.BACKORDER_CREATED)
    where = (Split.store_id == store.id, Split.split_key == "split:1042")

    errors = while_another_session_writes(
        db,
        lambda other: other.execute(update(Split).where(*where).values(backorder_order_id="2001")),
        lambda: ledger.advance(
            store.id, "split:1042", SplitState.BACKORDER_CREATED, backorder_order_id="2002"
        ),
    )

    assert [type(error) for error in errors] == [InvalidTransition]
    record = ledger.get(store.id, "split:1042")
    assert record is not None and record.backorder_order_id == "2001"


def test_webhooks_are_recorded_while_a_settings_write_holds_the_store_row(
    db: Database, store: StoreRecord
) -> None:
    # The settings lock conflicts with writers of the row only, not with the foreign-key check
    # of an event inserted for the store (FOR NO KEY UPDATE, not FOR UPDATE). The store's
    # `last_event_at` is written by the first event of a minute: this one is the second.
    events = InboxRepository(db)
    at = dt.datetime.now(dt.UTC)
    events.receive(store.id, "order.created", "6", "2026-03-01T10:00:00", at=at)
    received: list[int | None] = []
    with db.session(write=True) as session:
        assert locked_store(session, store.id) is not None
        webhook = threading.Thread(
            target=lambda: received.append(
                events.receive(store.id, "order.created", "7", "2026-03-01T10:00:00", at=at)
            )
        )
        webhook.start()
        wait_for(
            lambda: not webhook.is_alive() or postgres.lock_waiters(db.url) > 0,
            timeout=20,
            what="the webhook to finish or wait",
        )
        waited = webhook.is_alive()
    webhook.join(timeout=20)
    assert not waited
    assert len(received) == 1 and isinstance(received[0], int)
