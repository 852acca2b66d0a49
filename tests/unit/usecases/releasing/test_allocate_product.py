"""Releasing backorder orders when stock arrives (plugin/usecases/releasing.py), over the fakes."""

from __future__ import annotations

import threading

import pytest

from plugin.core.model import CustomerPolicy, DeliveryCondition, ProductRef
from plugin.errors import TransientError
from plugin.ports import ReleaseState
from plugin.usecases.releasing import allocate_product, release_key
from tests.fakes import (
    Crash,
    FakeAudit,
    FakeCustomerPolicies,
    FakeLedger,
    FakeReleaseLedger,
    FakeReleaseStore,
)

P = ProductRef("77")
PAY = "http://store.test/checkout/order-pay/{}/?pay_for_order=true"


class World:
    """Three customers (priority 0, 10, 5) each waiting for 2 units of product 77."""

    def __init__(self) -> None:
        self.store = FakeReleaseStore()
        self.splits = FakeLedger()
        self.ledger = FakeReleaseLedger(split_ledger=self.splits)
        self.audit = FakeAudit()
        self.policies = FakeCustomerPolicies(
            {
                "1": CustomerPolicy("1", priority=0),
                "2": CustomerPolicy("2", priority=10),
                "3": CustomerPolicy("3", priority=5),
            }
        )
        self.released: list[tuple[int, str, str | None]] = []
        self.arrived: list[tuple[int, str, int]] = []
        self.add("501", "1", [("l1", "77", 2)], minute=1, paid=True)  # oldest, lowest priority
        self.add("502", "2", [("l2", "77", 2)], minute=2, paid=False)
        self.add("503", "3", [("l3", "77", 2)], minute=3, paid=True)

    def add(self, order_id, customer, lines, *, minute, paid, products=("77",)):  # type: ignore[no-untyped-def]
        self.store.add_backorder(order_id, customer, lines, created_minute=minute, paid=paid)
        self.ledger.splits.append((order_id, tuple(products)))

    def run(self, **kwargs):  # type: ignore[no-untyped-def]
        return allocate_product(
            1,
            "77",
            platform=self.store,
            releases=self.ledger,
            splits=self.splits,
            policies=self.policies,
            audit=self.audit,
            on_released=lambda *a: self.released.append(a),
            on_stock_arrived=lambda *a: self.arrived.append(a),
            **kwargs,
        )


def test_arriving_stock_releases_by_priority_paid_to_processing_unpaid_to_pending() -> None:
    world = World()
    assert world.store.stock[P] == -6  # three on-hold backorder orders took 6 units
    world.store.restock("77", 4)

    result = world.run()

    assert result.released == ("502", "503")
    assert result.waiting == ("501",)
    assert result.available == {P: 4}
    assert [r.order_id for r in result.ranking] == ["502", "503", "501"]
    assert world.store.transitions == [
        ("502", "on-hold", "pending"),
        ("503", "on-hold", "processing"),
    ]
    assert world.store.wc_status["501"] == "on-hold"
    assert world.released == [(1, "502", PAY.format("502")), (1, "503", None)]
    assert world.arrived == [(1, "77", 4)]
    # pending gave 502's units back to the store's figure; 503's stay reduced.
    assert world.store.stock[P] == 0
    assert world.ledger.records[(1, release_key("502"))].state == ReleaseState.DONE
    assert [n[0] for n in world.store.notes] == ["502", "503"]
    assert PAY.format("502") in world.store.notes[0][1]
    decisions = [(e.order_id, e.data["rank"]) for e in world.audit.entries if e.kind == "decision"]
    assert decisions == [("502", 1), ("503", 2), ("501", 3)]
    served_third = next(e for e in world.audit.entries if e.order_id == "501")
    assert "served 3rd of 3" in served_third.message


def test_units_given_back_by_a_pending_release_are_not_handed_out_again() -> None:
    world = World()
    world.store.restock("77", 4)
    world.run()
    assert world.store.stock[P] == 0  # looks like nothing is owed, but 502's 2 units are held

    again = world.run()

    assert again.released == ()
    assert again.available == {P: 0}
    assert world.store.wc_status["501"] == "on-hold"
    world.store.pay("502")  # stock reduced again: -2
    assert world.run().released == ()
    assert world.ledger.records[(1, release_key("502"))].state == ReleaseState.SETTLED
    world.store.restock("77", 2)
    assert world.run().released == ("501",)
    assert world.store.stock[P] == -2 + 2  # 501 was paid: processing changes nothing
    assert len(world.store.transitions) == 4


def test_a_pending_release_whose_order_was_deleted_holds_nothing_back() -> None:
    world = World()
    world.store.restock("77", 4)
    world.run()  # 502 (unpaid) pending, its 2 units held back; 503 processing
    # The merchant deletes 502 in the store: reading it is a 404 from now on.
    world.store.delete_order("502")

    again = world.run()

    assert world.ledger.records[(1, release_key("502"))].state == ReleaseState.GONE
    assert again.available == {P: 2}  # 502's units are free: nobody will pay for them
    assert again.released == ("501",)
    assert world.run().released == ()


def test_nothing_arrived_releases_nothing_and_tells_nobody() -> None:
    world = World()

    result = world.run()

    assert (result.released, result.available) == ((), {P: 0})
    assert world.store.transitions == [] and world.released == [] and world.arrived == []
    assert world.store.notes == []


def test_whole_order_waits_without_blocking_a_later_order() -> None:
    world = World()
    # Customer 2 (priority 10) also waits for a whole order of 77 and 88; 88 has not arrived.
    world.policies.customers["2"] = CustomerPolicy(
        "2", priority=10, delivery_condition=DeliveryCondition.WHOLE_ORDER
    )
    world.store.orders.pop("502")
    world.ledger.splits = [s for s in world.ledger.splits if s[0] != "502"]
    world.store.stock[P] += 2
    world.add(
        "504", "2", [("a", "77", 2), ("b", "88", 1)], minute=0, paid=True, products=("77", "88")
    )
    world.store.restock("77", 2)

    result = world.run()

    assert result.released == ("503",)
    assert result.waiting == ("504", "501")
    assert world.store.wc_status["504"] == "on-hold"
    reason = next(e for e in world.audit.entries if e.order_id == "504" and e.kind == "decision")
    assert reason.data["reason"] == "release_none"
    assert "ships as a whole" in reason.message


def test_lines_complete_customer_waits_for_the_whole_line() -> None:
    world = World()
    world.policies.customers["2"] = CustomerPolicy(
        "2", priority=10, delivery_condition=DeliveryCondition.LINES_COMPLETE
    )
    world.store.restock("77", 1)

    result = world.run()

    # 502 needs its whole line of 2; the single unit goes on to 503 (ship what is available),
    # which is split again to ship it.
    assert [(r.order_id, r.allocated) for r in result.ranking] == [
        ("502", 0),
        ("503", 1),
        ("501", 0),
    ]
    assert result.released == ("503",)
    assert result.split_again == (("503", "900"),)
    assert world.store.wc_status["502"] == "on-hold"


def test_priority_bump_moves_a_backorder_up() -> None:
    world = World()
    world.store.restock("77", 2)

    result = world.run(priority_bumps={"501": 100})

    assert result.released == ("501",)
    assert world.store.transitions == [("501", "on-hold", "processing")]


def test_running_twice_releases_once() -> None:
    world = World()
    world.store.restock("77", 6)

    first = world.run()
    second = world.run()

    assert first.released == ("502", "503", "501")
    assert second.released == ()
    assert len(world.store.transitions) == 3
    assert len(world.store.notes) == 3
    assert len(world.released) == 3


@pytest.mark.parametrize("step", ["release_order", "add_note"])
def test_crash_at_each_step_finishes_the_release_once(step: str) -> None:
    world = World()
    world.store.restock("77", 2)
    world.store.crash_after = step

    with pytest.raises(Crash):
        world.run()
    resumed = world.run()

    assert resumed.resumed == ("502",)
    assert world.store.transitions == [("502", "on-hold", "pending")]
    assert world.ledger.records[(1, release_key("502"))].state == ReleaseState.DONE
    # A crash right after the note repeats the note (the only repeated effect); the status
    # write is never repeated, and nothing else was released with 502's units.
    assert [n[0] for n in world.store.notes] == ["502"] * (2 if step == "add_note" else 1)
    assert world.store.wc_status["503"] == "on-hold" and world.store.wc_status["501"] == "on-hold"
    assert world.released == [(1, "502", PAY.format("502"))]  # the hook runs after the note


def test_crash_in_the_release_hook_calls_it_again_then_finishes() -> None:
    world = World()
    world.store.restock("77", 2)
    calls: list[str] = []

    def hook(store_id: int, order_id: str, url: str | None) -> None:
        calls.append(order_id)
        if len(calls) == 1:
            raise Crash("hook")

    with pytest.raises(Crash):
        allocate_product(
            1, "77", platform=world.store, releases=world.ledger, splits=world.splits,
            policies=world.policies, audit=world.audit, on_released=hook,
        )  # fmt: skip
    allocate_product(
        1, "77", platform=world.store, releases=world.ledger, splits=world.splits,
        policies=world.policies, audit=world.audit, on_released=hook,
    )  # fmt: skip

    assert calls == ["502", "502"]  # at least once
    assert world.store.transitions == [("502", "on-hold", "pending")]


def test_transient_error_on_the_status_write_leaves_a_planned_release_to_resume() -> None:
    world = World()
    world.store.restock("77", 2)
    world.store.fail_at["release_order"] = TransientError("503 from store", reason="http_503")

    with pytest.raises(TransientError):
        world.run()
    assert world.ledger.records[(1, release_key("502"))].state == ReleaseState.PLANNED
    assert world.store.transitions == []
    world.store.restock("77", 2)  # more arrives meanwhile: the planned release goes first
    result = world.run()

    assert result.resumed == ("502",)
    assert result.released == ("503",)
    assert world.store.transitions == [
        ("502", "on-hold", "pending"),
        ("503", "on-hold", "processing"),
    ]


def test_two_jobs_at_once_under_the_lock_allocate_each_unit_once() -> None:
    world = World()
    world.store.restock("77", 4)
    lock = threading.Lock()
    start = threading.Barrier(2)
    results = []

    def job() -> None:
        start.wait()
        results.append(world.run(lock=lambda: lock))

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(r.released for r in results) == [(), ("502", "503")]
    assert world.store.transitions == [
        ("502", "on-hold", "pending"),
        ("503", "on-hold", "processing"),
    ]
    assert world.store.wc_status["501"] == "on-hold"


def test_the_release_note_and_audit_say_how_the_order_goes_on_in_no_platform_s_words() -> None:
    """They said "status set to pending" / "store status processing": WooCommerce's status
    names, which a Shopify merchant never sees (ReleaseAs keeps them only as stored values)."""
    world = World()
    world.store.restock("77", 4)

    world.run()

    notes = dict(world.store.notes)
    assert notes["502"] == (
        f"Backorders released this order (key {release_key('502')}): all 2 units are in "
        "stock (Backorder Approved); the customer pays before it ships. The customer pays on "
        f"release: {PAY.format('502')}"
    )
    assert notes["503"] == (
        f"Backorders released this order (key {release_key('503')}): all 2 units are in "
        "stock (Backorder Approved); it is paid and ships now."
    )
    released = [(e.order_id, e.message) for e in world.audit.entries if e.kind == "info"]
    assert released == [
        ("502", "Released: Backorder Approved; the customer pays before it ships."),
        ("503", "Released: Backorder Approved; it is paid and ships now."),
    ]
