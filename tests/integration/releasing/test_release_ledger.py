"""SqlReleaseLedger (SQLite and PostgreSQL): waiting orders from the split ledger, one release
per key."""

from __future__ import annotations

import threading

from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductRef
from plugin.ports import CancelState, ReleaseRecord, ReleaseState


def _plan(product_id: str, variant_id: str | None, backorder: int) -> dict[str, object]:
    ref = {"product_id": product_id, "variant_id": variant_id}
    return {"lines": [{"line_id": "1", "ref": ref, "backorder": backorder}]}


def test_waiting_orders_products_and_exactly_one_release(db: Database, store: StoreRecord) -> None:
    splits = SqlSplitLedger(db)
    for key, original, backorder, plan, state in (
        ("a", "1", "11", _plan("7", None, 2), "done"),
        ("b", "2", "12", _plan("8", "81", 1), "done"),
        ("c", "3", None, _plan("7", None, 1), "planned"),  # not finished: nothing waits yet
        ("d", "4", "14", _plan("7", None, 0), "done"),  # moved nothing of 7
    ):
        splits.start(store.id, original, key, plan)
        if state == "done":
            splits.advance(store.id, key, "done", backorder_order_id=backorder)
    ledger = SqlReleaseLedger(db)

    assert ledger.backorder_orders_for(store.id, ProductRef("7")) == ["11"]
    assert ledger.backorder_orders_for(store.id, ProductRef("81")) == ["12"]
    assert ledger.backorder_orders_for(store.id, ProductRef("8")) == ["12"]
    assert ledger.waiting_products(store.id) == ["7", "81"]
    # Allocation runs per product: a variation the splits moved names its parent.
    assert [ledger.parent_product(store.id, i) for i in ("81", "8", "7", "99")] == [
        "8", "8", "7", "99",
    ]  # fmt: skip

    first = ledger.start(store.id, "release:11", "11", "pending", [{"line_id": "1", "units": 2}])
    again = ledger.start(store.id, "release:11", "11", "processing", [])
    assert (first, again.target_status, again.state) == (again, "pending", ReleaseState.PLANNED)
    # Begun, not finished (its job died or gave up): the product is still looked at by the
    # reconciliation's allocation jobs, which finish the release first.
    assert ledger.waiting_products(store.id) == ["7", "81"]
    ledger.advance(store.id, "release:11", ReleaseState.STATUS_SET)
    assert ledger.waiting_products(store.id) == ["7", "81"]
    ledger.advance(store.id, "release:11", ReleaseState.DONE, payment_url="http://pay/11")
    assert ledger.for_order(store.id, "11")[0].payment_url == "http://pay/11"
    assert [r.order_id for r in ledger.released_to_pay(store.id)] == ["11"]
    assert ledger.waiting_products(store.id) == ["81"]
    ledger.set_bump(store.id, "12", 3)
    ledger.set_bump(store.id, "12", 5)
    assert ledger.bumps(store.id) == {"12": 5}


def test_cancelled_lines_wait_for_nothing(db: Database, store: StoreRecord) -> None:
    splits = SqlSplitLedger(db)
    lines = [
        {"line_id": "1", "ref": {"product_id": "7", "variant_id": None}, "backorder": 2},
        {"line_id": "2", "ref": {"product_id": "8", "variant_id": "81"}, "backorder": 1},
    ]
    splits.start(store.id, "1", "a", {"lines": lines})
    splits.advance(store.id, "a", "done", backorder_order_id="11")
    splits.start(store.id, "3", "b", {"lines": [lines[1]]})
    splits.advance(store.id, "b", "done", backorder_order_id="13")
    ledger = SqlReleaseLedger(db)
    cancellations = SqlCancellationLedger(db)

    def cancel(order_id: str, line_id: str, product_id: str) -> str:
        key = f"cancel:{order_id}:{line_id}"
        cancellations.request(
            store.id, key, backorder_order_id=order_id, original_order_id="1", line_id=line_id,
            product_id=product_id, variant_id=None, quantity=1, reason="r", requested_by="m@x",
        )  # fmt: skip
        return key

    def waiting() -> tuple[list[str], list[str], list[str]]:
        return (
            ledger.waiting_products(store.id),
            ledger.backorder_orders_for(store.id, ProductRef("7")),
            ledger.backorder_orders_for(store.id, ProductRef("81")),
        )

    line_7 = cancel("11", "1", "7")
    # Requested, not yet in the store: the line still waits (its order is held back from
    # releases until the cancellation is carried out).
    assert waiting() == (["7", "81"], [], ["13"])
    cancellations.mark_write_attempted(store.id, line_7, {"cancels_order": False})
    cancellations.fail(store.id, line_7, "timed out")  # the write may or may not have happened
    assert waiting() == (["7", "81"], ["11"], ["11", "13"])
    cancellations.advance(store.id, line_7, CancelState.WRITTEN)  # retried: the store has it
    assert waiting() == (["81"], [], ["11", "13"])
    cancellations.advance(store.id, line_7, CancelState.DONE)
    assert waiting() == (["81"], [], ["11", "13"])
    # 81 still waits on 13 after 11's line of it is cancelled too; not on 11.
    line_81 = cancel("11", "2", "8")
    cancellations.advance(store.id, line_81, CancelState.DONE)
    assert waiting() == (["81"], [], ["13"])


def test_two_jobs_starting_one_release_at_once_share_one_record(
    db: Database, store: StoreRecord
) -> None:
    # Two allocation jobs (threads here, each its own connection) that picked the same order.
    ledger = SqlReleaseLedger(db)
    barrier = threading.Barrier(6)
    started: list[ReleaseRecord] = []
    errors: list[BaseException] = []

    def start(target: str) -> None:
        try:
            barrier.wait(timeout=10)
            started.append(ledger.start(store.id, "release:11", "11", target, []))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=start, args=(("pending", "processing")[n % 2],)) for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(started) == 6 and len(set(started)) == 1
    assert ledger.for_order(store.id, "11") == started[:1]
