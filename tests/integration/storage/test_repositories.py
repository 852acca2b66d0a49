from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.models import InboxEvent, Split, Store
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.statements import InvalidTransition, UnknownRecord
from plugin.adapters.sql.stores import (
    StoreChanged,
    StoreCredentials,
    StoreRecord,
    StoreRepository,
)
from plugin.adapters.vault import DecryptionFailed, Vault
from plugin.core.model import (
    Address,
    Customer,
    CustomerPolicy,
    DeliveryCondition,
    Line,
    Order,
    OversoldAction,
    PaymentState,
    Policies,
    ProductPolicy,
    ProductRef,
    Status,
    StoreSettings,
)
from plugin.ports import SplitState
from plugin.usecases.connecting import MAX_STORE_NAME_LENGTH, MAX_STORE_URL_LENGTH


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- stores -----------------------------------------------------------------------------------


def test_store_secrets_are_encrypted_at_rest_and_decrypted_on_read(
    db: Database, stores: StoreRepository, store: StoreRecord
) -> None:
    with db.session() as session:
        row = session.get(Store, store.id)
        assert row is not None
        stored = (row.consumer_key_enc, row.consumer_secret_enc, row.webhook_secret_enc)
    assert all(
        s not in blob for s, blob in zip(("ck_test", "cs_test", "whsec-test"), stored, strict=True)
    )
    assert stores.credentials(store.id) == StoreCredentials(
        "http://127.0.0.1:8001", "ck_test", "cs_test", "whsec-test"
    )
    assert "cs_test" not in repr(stores.credentials(store.id))


def test_the_longest_store_url_and_name_connect_allows_are_stored(
    stores: StoreRepository,
) -> None:
    # plugin/usecases/connecting.py refuses longer URLs and cuts longer names: PostgreSQL enforces
    # the column lengths (SQLite does not).
    base_url = "https://shop.example.com/" + "a" * (MAX_STORE_URL_LENGTH - 25)
    created = stores.create(
        name="n" * MAX_STORE_NAME_LENGTH,
        base_url=base_url,
        consumer_key="ck",
        consumer_secret="cs",
        webhook_secret="wh",
    )
    stored = stores.get(created.id)
    assert stored is not None
    assert (stored.name, stored.base_url) == ("n" * 200, base_url)
    assert len(base_url) == 500


def test_credentials_under_another_secret_key_fail_clearly(
    db: Database, store: StoreRecord
) -> None:
    other = StoreRepository(db, Vault("a-completely-different-secret-key"))
    with pytest.raises(DecryptionFailed):
        other.credentials(store.id)


def test_store_updates_and_event_time(stores: StoreRepository, store: StoreRecord) -> None:
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    stores.mark_event_received(store.id, at)
    stores.update(store.id, webhook_ids=[11, 12], api_rate_limit=2.5)
    stores.set_status(store.id, "disconnected")
    settings = StoreSettings(
        oversold_action=OversoldAction.HOLD, additional_shipping=Decimal("4.50")
    )
    stores.update_settings(store.id, settings)
    stores.update_credentials(store.id, webhook_secret="rotated")
    got = stores.get(store.id)
    assert got is not None
    assert (got.last_event_at, got.webhook_ids, got.api_rate_limit, got.status) == (
        at,
        (11, 12),
        2.5,
        "disconnected",
    )
    assert got.settings == settings
    assert got.created_at.tzinfo == dt.UTC
    assert stores.credentials(store.id).webhook_secret == "rotated"
    assert [s.id for s in stores.list(status="connected")] == []
    with pytest.raises(UnknownRecord):
        stores.mark_event_received(store.id + 100)


def test_alerts_add_list_resolve(stores: StoreRepository, store: StoreRecord) -> None:
    first = stores.add_alert(store.id, "oversold", "Line 3 oversold", order_id="42")
    second = stores.add_alert(store.id, "auth", "Keys rejected")
    assert [a.id for a in stores.list_alerts(store.id)] == [second, first]
    stores.resolve_alert(first)
    assert [a.id for a in stores.list_alerts(store.id)] == [second]
    assert [a.id for a in stores.list_alerts(store.id, include_resolved=True)] == [second, first]


# --- inbox ------------------------------------------------------------------------------------


def test_inbox_dedupes_on_resource_modified_time_and_fingerprint(
    db: Database, store: StoreRecord
) -> None:
    inbox = InboxRepository(db)
    moment = "2026-03-01T10:00:00"
    first = inbox.add(store.id, "order.updated", "42", moment, "webhook", fingerprint="a1")
    # The same moment spelled with an offset, from reconciliation: still the same event.
    again = inbox.add(
        store.id, "order.updated", "42", "2026-03-01T10:00:00+00:00", "reconcile", fingerprint="a1"
    )
    as_datetime = inbox.add(
        store.id,
        "order.updated",
        "42",
        dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "reconcile",
        fingerprint="a1",
    )
    # The same state under the other order topic: one event (a job does the same for both).
    other_topic = inbox.add(store.id, "order.created", "42", moment, "webhook", fingerprint="a1")
    later = inbox.add(
        store.id, "order.updated", "42", "2026-03-01T10:00:01", "webhook", fingerprint="a1"
    )
    # Saved again within the same second, with other content: a new event.
    same_second = inbox.add(store.id, "order.updated", "42", moment, "webhook", fingerprint="b2")
    # The product with the same id and moment is another resource.
    product = inbox.add(store.id, "product.updated", "42", moment, "webhook", fingerprint="a1")
    assert isinstance(first, int)
    assert (again, as_datetime, other_topic) == (None, None, None)
    assert later is not None and same_second is not None and product is not None
    assert len({first, later, same_second, product}) == 4
    assert _count(db, InboxEvent) == 4
    events = InboxRepository(db)
    assert [(e.topic, e.dedupe_key) for e in reversed(events.list(store.id))] == [
        ("order.updated", "order:42:2026-03-01T10:00:00:a1"),
        ("order.updated", "order:42:2026-03-01T10:00:01:a1"),
        ("order.updated", "order:42:2026-03-01T10:00:00:b2"),
        ("product.updated", "product:42:2026-03-01T10:00:00:a1"),
    ]
    event = events.get(first)
    assert event is not None
    assert (event.status, event.source, event.modified_gmt) == ("pending", "webhook", moment)
    # The webhook's statement (a driver cursor) keys the same way.
    assert events.receive(store.id, "order.created", "42", moment, fingerprint="b2") is None
    assert events.receive(store.id, "order.created", "42", moment, fingerprint="c3") is not None
    assert _count(db, InboxEvent) == 5


def test_rows_recorded_before_fingerprints_keep_working(db: Database, store: StoreRecord) -> None:
    # A row from before fingerprints: its key is `topic:id:moment`.
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO inbox_events (store_id, topic, resource_id, dedupe_key, modified_gmt,"
                " source, status, attempts, received_at) VALUES (:store_id, 'order.created', '42',"
                " 'order.created:42:2026-03-01T10:00:00', '2026-03-01T10:00:00', 'webhook',"
                " 'pending', 0, '2026-03-01 10:00:01.000000')"
            ),
            {"store_id": store.id},
        )
    events = InboxRepository(db)
    [old_id] = events.pending_ids()
    old = events.get(old_id)
    assert old is not None
    assert (old.topic, old.resource_id, old.status) == ("order.created", "42", "pending")
    # It still moves through its statuses like any event.
    assert events.mark_enqueued(old_id) is True
    assert events.mark_done(old_id) is True
    # A delivery of that moment now carries a fingerprint: the old row cannot tell whether it
    # held the same content, so the delivery is a new event (one job more, never a lost one).
    new_id = events.receive(
        store.id, "order.created", "42", "2026-03-01T10:00:00", fingerprint="a1"
    )
    assert new_id is not None and new_id != old_id
    assert _count(db, InboxEvent) == 2


def test_the_webhooks_insert_writes_what_the_orm_writes(db: Database, store: StoreRecord) -> None:
    # `receive` runs on a driver cursor; its row must read and compare like every other row.
    at = dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=dt.UTC)
    events = InboxRepository(db)
    by_webhook = events.receive(store.id, "order.created", "7", "2026-03-01T09:00:00", at=at)
    by_orm = InboxRepository(db).add(
        store.id, "order.created", "8", "2026-03-01T09:00:00", "reconcile"
    )
    assert isinstance(by_webhook, int) and isinstance(by_orm, int)
    with db.engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT received_at FROM inbox_events ORDER BY id"
        ).scalars()
        texts = list(stored)
    if db.is_sqlite:
        assert texts[0] == "2026-03-01 10:00:00.000000"
        assert len(texts[1]) == len(texts[0])  # the same spelling (SQLite compares them as text)
    else:  # timestamptz: the driver reads it in the server's zone (not UTC here), same instant
        assert texts[0] == at and texts[0].utcoffset() != dt.timedelta(0)
        assert texts[1].tzinfo is not None
    event = events.get(by_webhook)
    assert event is not None and event.received_at == at
    assert events.receive(store.id, "order.created", "7", "2026-03-01T09:00:00", at=at) is None


def test_inbox_concurrent_duplicates_insert_exactly_one_row(
    db: Database, store: StoreRecord
) -> None:
    inbox = InboxRepository(db)
    results: list[int | None] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(
                inbox.add(store.id, "order.created", "7", "2026-03-01T10:00:00", "webhook")
            )
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    inserted = [r for r in results if r is not None]
    assert (len(results), len(inserted), results.count(None)) == (8, 1, 7)
    assert _count(db, InboxEvent) == 1


def test_receiving_records_the_stores_last_event_to_the_minute(
    db: Database, stores: StoreRepository, store: StoreRecord
) -> None:
    def at(clock: str) -> dt.datetime:
        return dt.datetime.fromisoformat(f"2026-03-01T{clock}+00:00")

    def last_event() -> dt.datetime | None:
        got = stores.get(store.id)
        assert got is not None
        return got.last_event_at

    web, other_process = InboxRepository(db), InboxRepository(db)
    web.receive(store.id, "order.created", "1", "2026-03-01T10:00:00", at=at("10:00:05"))
    assert last_event() == at("10:00:05")
    web.receive(store.id, "order.created", "2", "2026-03-01T10:00:00", at=at("10:00:40"))
    other_process.receive(store.id, "order.created", "3", "2026-03-01T10:00:00", at=at("10:00:50"))
    assert last_event() == at("10:00:05")  # same minute: the row is not written again
    other_process.receive(store.id, "order.created", "4", "2026-03-01T10:00:00", at=at("10:01:02"))
    assert last_event() == at("10:01:02")
    # A late commit from the minute before (from a process that has not written it yet) never
    # moves it back.
    late = InboxRepository(db)
    late.receive(store.id, "order.created", "5", "2026-03-01T10:00:00", at=at("10:00:59"))
    assert last_event() == at("10:01:02")
    assert _count(db, InboxEvent) == 5


def test_an_event_checked_with_the_stores_cached_secret_is_recorded_in_one_go(
    db: Database, stores: StoreRepository, store: StoreRecord
) -> None:
    """The webhook's cached path: `receive(sealed_secret=...)` checks in its own transaction
    that the store is still connected with the secret the signature was checked with. It
    records the event when so (one attempt, no second fresh pass), and nothing otherwise."""
    inbox = InboxRepository(db)
    target = stores.webhook_target(store.id)
    assert target is not None and target.connected
    event_id = inbox.receive(
        store.id, "order.created", "1", "2026-03-01T10:00:00", sealed_secret=target.sealed_secret
    )
    assert event_id is not None
    assert [e.id for e in inbox.list(store.id)] == [event_id]

    stores.update_credentials(store.id, webhook_secret="a-new-secret")
    with pytest.raises(StoreChanged):
        inbox.receive(
            store.id,
            "order.created",
            "2",
            "2026-03-01T10:00:00",
            sealed_secret=target.sealed_secret,
        )
    renewed = stores.webhook_target(store.id)
    assert renewed is not None
    stores.set_status(store.id, "disconnected")
    with pytest.raises(StoreChanged):
        inbox.receive(
            store.id,
            "order.created",
            "3",
            "2026-03-01T10:00:00",
            sealed_secret=renewed.sealed_secret,
        )
    assert [e.id for e in inbox.list(store.id)] == [event_id]


def test_inbox_status_moves(db: Database, store: StoreRecord) -> None:
    inbox, events = InboxRepository(db), InboxRepository(db)
    event_id = inbox.add(store.id, "order.created", "1", "2026-03-01T10:00:00", "webhook")
    assert event_id is not None
    assert events.pending_ids() == [event_id]
    assert events.pending_ids(older_than_s=60) == []
    assert events.mark_enqueued(event_id) is True
    assert events.mark_enqueued(event_id) is False
    events.mark_started(event_id)
    assert events.mark_done(event_id) is True
    assert events.mark_failed(event_id, "late") is False
    got = events.get(event_id)
    assert got is not None
    assert (got.status, got.attempts, got.error) == ("done", 1, None)
    assert got.enqueued_at is not None and got.finished_at is not None


def test_enqueued_older_than_lists_only_unfinished_enqueued_events(
    db: Database, store: StoreRecord
) -> None:
    inbox, events = InboxRepository(db), InboxRepository(db)
    ids = [
        inbox.add(store.id, "order.created", str(n), "2026-03-01T10:00:00", "webhook")
        for n in range(4)
    ]
    enqueued, finished, pending, later = (i for i in ids if i is not None)
    for event_id in (enqueued, finished, later):
        assert events.mark_enqueued(event_id)
    assert events.mark_done(finished)
    now = dt.datetime.now(dt.UTC)

    older = events.enqueued_older_than(0, now=now + dt.timedelta(seconds=1))
    assert [e.id for e in older] == [enqueued, later]
    assert events.enqueued_older_than(0, now=now + dt.timedelta(seconds=1), limit=1)[0].id == (
        enqueued
    )
    assert events.enqueued_older_than(60, now=now) == []
    assert events.get(pending) is not None


def test_inbox_rejects_unparseable_modified_time(db: Database, store: StoreRecord) -> None:
    with pytest.raises(ValueError):
        InboxRepository(db).add(store.id, "order.created", "1", "yesterday", "webhook")
    assert _count(db, InboxEvent) == 0


# --- splits -----------------------------------------------------------------------------------


def test_split_start_is_idempotent(db: Database, store: StoreRecord) -> None:
    ledger = SqlSplitLedger(db)
    first = ledger.start(store.id, "42", "key-1", {"order_id": "42", "amount": "1.10"})
    again = ledger.start(store.id, "42", "key-1", {"order_id": "different"})
    assert first == again
    assert (first.state, first.plan, first.create_attempted) == (
        SplitState.PLANNED,
        {"order_id": "42", "amount": "1.10"},
        False,
    )
    assert _count(db, Split) == 1


def test_split_moves_forward_only(db: Database, store: StoreRecord) -> None:
    ledger = SqlSplitLedger(db)
    ledger.start(store.id, "42", "key-1", {})
    ledger.mark_create_attempted(store.id, "key-1")
    ledger.advance(store.id, "key-1", SplitState.BACKORDER_CREATED, backorder_order_id="43")
    ledger.advance(store.id, "key-1", SplitState.BACKORDER_CREATED, backorder_order_id="43")
    with pytest.raises(InvalidTransition):
        ledger.advance(store.id, "key-1", SplitState.BACKORDER_CREATED, backorder_order_id="99")
    with pytest.raises(InvalidTransition):
        ledger.advance(store.id, "key-1", SplitState.PLANNED)
    ledger.advance(store.id, "key-1", SplitState.ORIGINAL_UPDATED)
    ledger.advance(store.id, "key-1", SplitState.DONE)
    with pytest.raises(InvalidTransition):
        ledger.advance(store.id, "key-1", SplitState.FAILED, error="late")
    record = ledger.get(store.id, "key-1")
    assert record is not None
    assert (record.state, record.backorder_order_id, record.create_attempted, record.error) == (
        SplitState.DONE,
        "43",
        True,
        None,
    )
    assert [r.split_key for r in ledger.for_order(store.id, "43")] == ["key-1"]
    assert [r.split_key for r in ledger.for_order(store.id, "42")] == ["key-1"]
    assert ledger.for_order(store.id, "44") == []
    with pytest.raises(UnknownRecord):
        ledger.advance(store.id, "missing", SplitState.DONE)


def test_split_failure_is_final(db: Database, store: StoreRecord) -> None:
    ledger = SqlSplitLedger(db)
    ledger.start(store.id, "42", "key-2", {})
    ledger.advance(store.id, "key-2", SplitState.FAILED, error="validation_failed")
    with pytest.raises(InvalidTransition):
        ledger.advance(store.id, "key-2", SplitState.DONE)
    record = ledger.get(store.id, "key-2")
    assert record is not None
    assert (record.state, record.error) == (SplitState.FAILED, "validation_failed")


def test_lineage_walks_resplits_back_to_the_first_split(db: Database, store: StoreRecord) -> None:
    ledger = SqlSplitLedger(db)
    ledger.start(store.id, "112", "112:1", {})
    ledger.advance(store.id, "112:1", SplitState.DONE, backorder_order_id="113")
    ledger.start(store.id, "113", "resplit:113", {})
    ledger.advance(store.id, "resplit:113", SplitState.DONE, backorder_order_id="114")
    ledger.start(store.id, "114", "resplit:114", {})
    ledger.advance(store.id, "resplit:114", SplitState.DONE, backorder_order_id="115")

    def keys(order_id: str) -> list[str]:
        return [r.split_key for r in ledger.lineage(store.id, order_id)]

    assert keys("115") == ["112:1", "resplit:113", "resplit:114"]
    assert keys("114") == ["112:1", "resplit:113"]
    assert keys("113") == ["112:1"]
    assert keys("112") == []  # an original: no split made it
    assert ledger.lineage(store.id + 1, "115") == []  # another store's orders


# --- policies ---------------------------------------------------------------------------------


def _order(customer_id: str | None) -> Order:
    def line(line_id: str, product: str, variant: str | None) -> Line:
        one = Decimal("1.00")
        return Line(line_id, product, variant, "", "", 1, one, one, Decimal(0), one, Decimal(0))

    return Order(
        id="42",
        number="42",
        status=Status.NEW,
        currency="USD",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        customer=Customer(customer_id),
        payment_state=PaymentState.UNPAID,
        payment_method="bacs",
        billing=Address(),
        shipping=Address(),
        lines=(line("1", "10", None), line("2", "20", "21")),
    )


def test_policies_for_builds_policies_from_rows_and_settings(
    db: Database, stores: StoreRepository, store: StoreRecord
) -> None:
    policies = SqlPolicyStore(db)
    settings = StoreSettings(
        eligible_statuses=frozenset({Status.NEW}),
        default_delivery=DeliveryCondition.LINES_COMPLETE,
        additional_shipping=Decimal("2.00"),
        numbering_pattern="{number}-BO{seq}",
    )
    stores.update_settings(store.id, settings)
    whole = ProductPolicy(ProductRef("10"), allow_backorder=True, cap=5, message="Soon")
    variant = ProductPolicy(
        ProductRef("20", "21"), allow_backorder=False, expected_date=dt.date(2026, 5, 1)
    )
    other_variant = ProductPolicy(ProductRef("20", "22"), cap=1)
    unrelated = ProductPolicy(ProductRef("30"), cap=9)
    for policy in (whole, variant, other_variant, unrelated):
        policies.set_product_policy(store.id, policy)
    policies.set_product_policy(
        store.id, ProductPolicy(ProductRef("10"), allow_backorder=True, cap=5, message="Soon")
    )
    customer = CustomerPolicy("5", DeliveryCondition.WHOLE_ORDER, priority=3)
    policies.set_customer_policy(store.id, customer)
    policies.set_customer_policy(store.id, CustomerPolicy("6", None, priority=1))

    assert policies.policies_for(store.id, _order("5")) == Policies(
        settings=settings, products=(whole, variant), customer=customer
    )
    assert policies.policies_for(store.id, _order(None)) == Policies(
        settings=settings, products=(whole, variant), customer=None
    )
    assert len(policies.product_policies(store.id)) == 4
    assert [c.customer_id for c in policies.customer_policies(store.id)] == ["5", "6"]


def test_policies_for_unknown_store(db: Database) -> None:
    with pytest.raises(UnknownRecord):
        SqlPolicyStore(db).policies_for(999, _order(None))


# --- audit ------------------------------------------------------------------------------------


def test_audit_log_records_json_safe_data(db: Database, store: StoreRecord) -> None:
    audit = SqlAuditLog(db)
    audit.record(store.id, "42", "decision", "Split 1 unit", moved=Decimal("9.99"), lines=("1",))
    audit.record(store.id, "42", "call", "POST /orders")
    audit.record(store.id, "43", "info", "other order")
    entries = audit.for_order(store.id, "42")
    assert [(e.kind, e.message, dict(e.data)) for e in entries] == [
        ("decision", "Split 1 unit", {"moved": "9.99", "lines": ["1"]}),
        ("call", "POST /orders", {}),
    ]
    with pytest.raises(ValueError):
        audit.record(store.id, "42", "gossip", "no")
    assert len(audit.for_order(store.id, "42")) == 2
