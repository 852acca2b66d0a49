"""A backorder order that arriving stock covers in part is split again (-002) and released with
what is in stock, exactly once (plugin/usecases/releasing.py, plugin/usecases/resplitting.py), over
the fakes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from plugin.core.model import CustomerPolicy, DeliveryCondition, ProductRef, StoreSettings
from plugin.errors import PermanentError, TransientError
from plugin.ports import ReleaseState, SplitState
from plugin.usecases.releasing import AllocationResult, allocate_product, release_key
from tests.fakes import (
    Crash,
    FakeAudit,
    FakeCustomerPolicies,
    FakeLedger,
    FakeReleaseLedger,
    FakeReleaseStore,
)

P = ProductRef("77")
Q = ProductRef("88")
PAY = "http://store.test/checkout/order-pay/{}/?pay_for_order=true"


class World:
    """Customer 2 (priority 10, unpaid) and customer 3 (priority 5, paid) each wait for 2 units
    of product 77; customer 1 (priority 0, paid) waits for 2 too. The store tells customers in
    an order note (`customer_note_on_split`, off by default) unless `customer_note` is False."""

    def __init__(self, *, customer_note: bool = True) -> None:
        self.store = FakeReleaseStore()
        self.splits = FakeLedger()
        self.ledger = FakeReleaseLedger(split_ledger=self.splits)
        self.audit = FakeAudit()
        self.policies = FakeCustomerPolicies(
            {
                "1": CustomerPolicy("1", priority=0),
                "2": CustomerPolicy("2", priority=10),
                "3": CustomerPolicy("3", priority=5),
            },
            settings=StoreSettings(customer_note_on_split=customer_note),
        )
        self.released: list[tuple[int, str, str | None]] = []
        self.add("501", "1", [("l1", "77", 2)], minute=1, paid=True)
        self.add("502", "2", [("l2", "77", 2)], minute=2, paid=False)
        self.add("503", "3", [("l3", "77", 2)], minute=3, paid=True)

    def add(self, order_id, customer, lines, *, minute, paid, products=("77",)):  # type: ignore[no-untyped-def]
        self.store.add_backorder(order_id, customer, lines, created_minute=minute, paid=paid)
        self.ledger.splits.append((order_id, tuple(products)))

    def run(self, product: str = "77", **kwargs: Any) -> AllocationResult:
        return allocate_product(
            1,
            product,
            platform=self.store,
            releases=self.ledger,
            splits=self.splits,
            policies=self.policies,
            audit=self.audit,
            on_released=lambda *a: self.released.append(a),
            **kwargs,
        )

    def quantities(self, order_id: str) -> list[tuple[str, int]]:
        return [(line.product_id, line.quantity) for line in self.store.orders[order_id].lines]


def test_partial_release_splits_the_rest_to_002_and_releases_what_is_in_stock() -> None:
    world = World()
    world.store.restock("77", 3)  # -6 → -3: 502 gets 2, 503 gets 1 of its 2

    result = world.run()

    assert result.released == ("502", "503")
    assert result.waiting == ("501",)
    assert result.split_again == (("503", "900"),)
    assert world.quantities("503") == [("77", 1)]
    assert world.quantities("900") == [("77", 1)]
    assert world.store.numbers["900"] == "1503-002"
    assert world.store.split_keys["900"] == "resplit:503"
    assert world.store.orders["900"].links.parent_id == "1503"  # a sibling of 503
    assert world.store.wc_status["900"] == "on-hold"
    assert world.store.transitions == [
        ("502", "on-hold", "pending"),
        ("503", "on-hold", "processing"),  # paid from the original: processing
    ]
    record = world.splits.get(1, "resplit:503")
    assert record is not None
    assert (record.original_order_id, record.backorder_order_id, record.state) == (
        "503", "900", SplitState.DONE,
    )  # fmt: skip
    assert world.ledger.records[(1, release_key("503"))].lines == (  # type: ignore[attr-defined]
        {"line_id": "l3", "product_id": "77", "variant_id": None, "units": 1},
    )
    # -3, then 502 went pending (+2 given back); the re-split took 1 for 900 and gave 1 back
    # from 503: the figure is -1 = 3 units waiting (501: 2, 900: 1) less 502's 2 held.
    assert world.store.stock[P] == -1
    assert [n[0] for n in world.store.notes] == ["502", "503", "503", "503"]
    assert "backorder order 1503-002 (id 900) holds the rest" in world.store.notes[1][1]
    assert world.store.notes[2][1].startswith("Part of your backorder is in stock")
    assert world.store.calls.count("get_orders") == 1  # the 3 open orders in one read
    assert world.store.calls.count("get_order") == 1  # 503's original
    assert world.released == [(1, "502", PAY.format("502")), (1, "503", None)]


def test_without_the_customer_note_setting_a_resplit_writes_one_note() -> None:
    world = World(customer_note=False)
    world.store.restock("77", 3)

    result = world.run()

    assert result.split_again == (("503", "900"),)
    assert [n[0] for n in world.store.notes] == ["502", "503", "503"]
    assert "backorder order 1503-002 (id 900) holds the rest" in world.store.notes[1][1]
    assert not any(n[1].startswith("Part of your backorder") for n in world.store.notes)
    assert world.store.calls.count("add_note") == 3


def test_the_new_order_waits_in_the_place_of_the_one_it_came_from_and_is_released_later() -> None:
    world = World()
    world.store.restock("77", 3)
    world.run()

    nothing = world.run()
    assert (nothing.released, nothing.available) == ((), {P: 0})  # every unit counted once

    world.store.restock("77", 1)
    result = world.run()

    assert result.released == ("900",)
    assert result.split_again == ()
    assert world.store.wc_status["900"] == "processing"  # paid like 503
    decision = next(
        e for e in reversed(world.audit.entries) if e.order_id == "900" and e.kind == "decision"
    )
    # Ranked by when 503's units started waiting, not by when 900 was made (2026-11-02).
    assert "created 2026-11-01 09:03 UTC" in decision.message
    assert len(world.splits.records) == 1


def test_running_twice_splits_once() -> None:
    world = World()
    world.store.restock("77", 3)

    first = world.run()
    second = world.run()

    assert first.split_again == (("503", "900"),)
    assert (second.released, second.split_again) == ((), ())
    assert sorted(world.store.orders) == ["501", "502", "503", "900"]
    assert len(world.store.transitions) == 2


@pytest.mark.parametrize("step", ["write_resplit", "add_note", "release_order"])
def test_a_crash_at_each_step_finishes_the_resplit_and_release_once(step: str) -> None:
    world = World()
    world.store.restock("77", 1)  # 502 (priority 10, unpaid) gets 1 of its 2
    world.store.crash_after = step

    with pytest.raises(Crash):
        world.run()
    resumed = world.run()

    assert resumed.resumed == ("502",)
    assert sorted(world.store.orders) == ["501", "502", "503", "900"]  # one new order
    assert world.quantities("502") == [("77", 1)] and world.quantities("900") == [("77", 1)]
    assert world.splits.records[(1, "resplit:502")].state == SplitState.DONE
    assert world.ledger.records[(1, release_key("502"))].state == ReleaseState.DONE  # type: ignore[attr-defined]
    assert world.store.transitions == [("502", "on-hold", "pending")]
    resplit_notes = [n for n in world.store.notes if "split this backorder order again" in n[1]]
    # Only a crash right after a note repeats that note; nothing else is written twice.
    assert len(resplit_notes) == (2 if step == "add_note" else 1)
    customer_notes = [n for n in world.store.notes if n[1].startswith("Part of your backorder")]
    assert len(customer_notes) == 1
    assert world.released == [(1, "502", PAY.format("502"))]
    # -6, 1 arrived: -5; the re-split changed nothing; pending gave 502's 1 back: -4.
    assert world.store.stock[P] == -4


def test_a_transient_error_on_the_write_leaves_the_resplit_planned_for_the_next_run() -> None:
    world = World()
    world.store.restock("77", 3)
    world.store.fail_at["write_resplit"] = TransientError("503 from store", reason="http_503")

    with pytest.raises(TransientError):
        world.run()
    record = world.splits.get(1, "resplit:503")
    assert record is not None and record.state == SplitState.PLANNED and record.create_attempted
    assert sorted(world.store.orders) == ["501", "502", "503"]

    resumed = world.run()

    assert resumed.resumed == ("503",)
    assert resumed.split_again == (("503", "900"),)
    assert world.quantities("503") == [("77", 1)] and world.quantities("900") == [("77", 1)]
    assert world.store.calls.count("find_backorder_order") == 1  # looked before creating


def test_a_permanent_error_fails_the_resplit_and_the_order_waits_untouched() -> None:
    world = World()
    world.store.restock("77", 3)
    world.store.fail_at["write_resplit"] = PermanentError("400 from store", reason="http_400")

    with pytest.raises(PermanentError):
        world.run()
    record = world.splits.get(1, "resplit:503")
    assert record is not None and record.state == SplitState.FAILED
    assert "Could not split backorder order 503 again" in (record.error or "")
    assert any(e.order_id == "503" and e.kind == "error" for e in world.audit.entries)

    again = world.run()

    assert again.released == () and "503" in again.waiting
    assert world.quantities("503") == [("77", 2)]
    assert sorted(world.store.orders) == ["501", "502", "503"]
    assert [t[0] for t in world.store.transitions] == ["502"]  # released before the failure


def test_whole_order_delivery_never_splits_again() -> None:
    world = World()
    for customer, priority in (("1", 0), ("2", 10), ("3", 5)):
        world.policies.customers[customer] = CustomerPolicy(
            customer, priority=priority, delivery_condition=DeliveryCondition.WHOLE_ORDER
        )
    world.store.restock("77", 3)  # 502 gets its 2; the third unit covers no whole order

    result = world.run()

    assert (result.released, result.split_again) == (("502",), ())
    assert world.quantities("503") == [("77", 2)] and world.quantities("501") == [("77", 2)]
    assert world.store.wc_status["503"] == "on-hold" and world.store.wc_status["501"] == "on-hold"
    assert world.splits.records == {}
    assert sorted(world.store.orders) == ["501", "502", "503"]


def test_lines_complete_ships_the_whole_line_in_stock_and_moves_the_other_line() -> None:
    world = World()
    world.policies.customers["4"] = CustomerPolicy(
        "4", priority=20, delivery_condition=DeliveryCondition.LINES_COMPLETE
    )
    world.add("504", "4", [("a", "77", 2), ("b", "88", 3)], minute=0, paid=False,
              products=("77", "88"))  # fmt: skip
    world.store.restock("77", 2)
    world.store.restock("88", 2)  # 2 of 3: not the whole line

    result = world.run()

    assert result.split_again == (("504", "900"),)
    assert world.quantities("504") == [("77", 2)]
    assert world.quantities("900") == [("88", 3)]
    assert world.store.wc_status["504"] == "pending"  # unpaid: pays on release
    assert world.store.stock[Q] == -1  # 88's figure unchanged by the re-split: 3 wait, 2 came


def test_two_jobs_for_two_products_of_one_order_split_it_once_under_its_lock() -> None:
    world = World()
    world.add("504", "4", [("a", "77", 2), ("b", "88", 2)], minute=0, paid=True,
              products=("77", "88"))  # fmt: skip
    world.policies.customers["4"] = CustomerPolicy("4", priority=99)
    world.store.restock("77", 2)  # 504's 77 line is covered; nothing of 88 came
    locks: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def order_lock(order_id: str) -> AbstractContextManager[object]:
        with guard:
            return locks.setdefault(order_id, threading.Lock())

    start = threading.Barrier(2)
    results: list[AllocationResult] = []
    errors: list[BaseException] = []

    def job(product: str) -> None:
        start.wait()
        try:
            results.append(world.run(product, order_lock=order_lock))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(p,)) for p in ("77", "88")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert sorted(world.store.orders) == ["501", "502", "503", "504", "900"]
    assert world.quantities("504") == [("77", 2)] and world.quantities("900") == [("88", 2)]
    assert [t for t in world.store.transitions if t[0] == "504"] == [
        ("504", "on-hold", "processing")
    ]
    assert sum(len(r.split_again) for r in results) == 1
    assert len([n for n in world.store.notes if "split this backorder order again" in n[1]]) == 1


def test_an_order_another_job_is_changing_waits_for_this_run_without_a_write() -> None:
    world = World()
    world.store.restock("77", 3)

    @contextlib.contextmanager
    def busy(order_id: str) -> Iterator[None]:
        raise TransientError(f"order {order_id} is being processed by another job", reason="busy")
        yield

    result = world.run(order_lock=busy)

    assert (result.released, result.split_again) == (("502",), ())
    assert "503" in result.waiting
    assert world.quantities("503") == [("77", 2)]
    assert world.splits.records == {}
    assert sorted(world.store.orders) == ["501", "502", "503"]
    assert any(
        e.order_id == "503" and "being changed by another job" in e.message
        for e in world.audit.entries
    )
    # The next run, with the order free again, splits it.
    assert world.run().split_again == (("503", "900"),)


def test_a_backorder_order_its_platform_cannot_release_in_part_waits_whole() -> None:
    """Shopify's linked backorder orders cannot be split again (`Links.releases_in_part`
    False): the re-split was tried and failed, leaving a failed `1503-002` on the order page.
    Such an order now waits until all its units are in, then is released whole."""
    import dataclasses

    world = World()
    order = world.store.orders["503"]
    world.store.orders["503"] = dataclasses.replace(
        order, links=dataclasses.replace(order.links, releases_in_part=False)
    )
    world.store.restock("77", 3)  # -6 → -3: 502 gets 2, 503 would get 1 of its 2

    result = world.run()

    # 503 takes nothing and does not block 501 (lowest priority), which ships what is left.
    assert (result.released, result.split_again) == (("502", "501"), (("501", "900"),))
    assert result.waiting == ("503",)
    assert world.splits.get(1, "resplit:503") is None
    assert world.quantities("503") == [("77", 2)]
    [decision] = [e for e in world.audit.entries if e.order_id == "503" and e.kind == "decision"]
    assert decision.message.startswith(
        "Order 503 gets nothing yet: it ships as a whole and not all of it is available"
    )

    world.store.restock("77", 2)
    assert world.run().released == ("503",)
    assert world.quantities("503") == [("77", 2)]
