"""Splitting sees the free units allocation sees (issue 13, bug 1): units released to an unpaid
order still `pending` are promised, though WooCommerce gave them back to the stock figure.

One fake store (`FakeReleaseStore`, WooCommerce's stock rules) serves both use cases: stock
arrives and `allocate_product` releases an unpaid backorder order, a customer places a new
order, `handle_order_event` splits it, the first customer pays.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence

from plugin.core.model import CustomerPolicy, Outcome, ProductRef
from plugin.ports import ReleaseState
from plugin.usecases.releasing import allocate_product, release_key
from plugin.usecases.splitting import EventResult, handle_order_event
from tests.fakes import (
    FakeAudit,
    FakeCustomerPolicies,
    FakeLedger,
    FakeReleaseLedger,
    FakeReleaseStore,
)

STORE = 1
WIDGET = ProductRef("77")
MUG = ProductRef("88")
RED = ProductRef("30", "31")
BLUE = ProductRef("30", "32")


class ProductLocks:
    """Per-product locks shared by the two use cases, like the worker's Redis locks. A job
    finding a lock taken sets `waited` and calls `on_wait` before it waits for it."""

    def __init__(self) -> None:
        self.locks: dict[str, threading.Lock] = {}
        self.waited = False
        self.on_wait: Callable[[], object] | None = None
        self.taken: list[tuple[str, ...]] = []

    @contextlib.contextmanager
    def hold(self, ids: Sequence[str]) -> Iterator[None]:
        names = sorted(set(ids))
        held = []
        try:
            for name in names:
                lock = self.locks.setdefault(name, threading.Lock())
                if not lock.acquire(blocking=False):
                    self.waited = True
                    if self.on_wait is not None:
                        self.on_wait()
                    assert lock.acquire(timeout=10), f"lock {name} never freed"
                held.append(lock)
            self.taken.append(tuple(names))
            yield
        finally:
            for lock in reversed(held):
                lock.release()


def lock_ids(refs: Sequence[ProductRef]) -> list[str]:
    return [i for ref in refs for i in (ref.product_id, ref.variant_id) if i]


class World:
    """Widgets (77) out of stock, mugs (88) plenty; the customers' orders and the plugin."""

    def __init__(self) -> None:
        self.store = FakeReleaseStore()
        self.splits = FakeLedger()
        self.releases = FakeReleaseLedger(split_ledger=self.splits)
        self.audit = FakeAudit()
        self.policies = FakeCustomerPolicies({"1": CustomerPolicy("1", priority=0)})
        self.locks = ProductLocks()
        self.store.stock[MUG] = 50

    def backorder(
        self, order_id: str, units: int, ref: ProductRef = WIDGET, *, minute: int = 0
    ) -> None:
        """An unpaid customer's backorder order for `units` of `ref`, on-hold."""
        self.store.add_backorder(
            order_id, "1", [(f"l{order_id}", ref, units)], created_minute=minute
        )
        self.releases.splits.append((order_id, (ref.product_id,)))

    def allocate(self, product_id: str = "77") -> tuple[str, ...]:
        result = allocate_product(
            STORE,
            product_id,
            platform=self.store,
            releases=self.releases,
            splits=self.splits,
            policies=self.policies,
            audit=self.audit,
            lock=lambda: self.locks.hold([product_id]),
        )
        return result.released

    def place(self, order_id: str, lines: list[tuple[ProductRef, int]], *, paid: bool = True):  # type: ignore[no-untyped-def]
        """A new order (its lines numbered 1, 2, ...), stock taken on placement."""
        items = [(str(n), ref, units) for n, (ref, units) in enumerate(lines, start=1)]
        return self.store.place_order(order_id, items, paid=paid)

    def split(self, order_id: str) -> EventResult:
        return handle_order_event(
            STORE,
            order_id,
            platform=self.store,
            ledger=self.splits,
            releases=self.releases,
            policies=self.policies,
            audit=self.audit,
            stock_lock=lambda refs: self.locks.hold(lock_ids(refs)),
        )

    def kept(self, order_id: str) -> list[tuple[ProductRef, int]]:
        return [(line.ref, line.quantity) for line in self.store.orders[order_id].lines]

    def backordered(self, original_id: str) -> list[tuple[ProductRef, int]]:
        return [
            (line.ref, line.quantity)
            for order in self.store.orders.values()
            if order.links.parent_id == original_id
            for line in order.lines
        ]

    def explained(self, ref: ProductRef = WIDGET) -> bool:
        """The figure is not below what open backorder orders explain: no unit promised twice."""
        return self.store.stock[ref] >= -self.store.open_backorder_units(ref)


def released_unpaid(world: World, units: int = 2) -> None:
    """Backorder order 502 (unpaid) waits for `units` widgets; they arrive and it is released:
    `pending`, and WooCommerce gives the units back to the figure."""
    world.backorder("502", units)
    world.store.restock("77", units)
    assert world.allocate() == ("502",)
    assert world.store.wc_status["502"] == "pending"
    assert world.store.stock[WIDGET] == units  # looks free; promised to 502


def test_units_released_to_an_unpaid_order_are_not_shipped_to_a_new_order() -> None:
    world = World()
    released_unpaid(world)
    world.place("1050", [(WIDGET, 2), (MUG, 1)])
    assert world.store.stock[WIDGET] == 0  # the new order took the 2 the figure showed

    result = world.split("1050")

    assert result.status == "split"
    assert world.kept("1050") == [(MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 2)]
    assert world.store.stock[WIDGET] == 0  # the split moves units, it does not change the figure
    decision = next(e for e in world.audit.entries if e.kind == "decision" and e.order_id == "1050")
    assert decision.data["held"] == [{"product_id": "77", "variant_id": None, "units": 2}]
    [(order_id, note)] = [n for n in world.store.notes if n[0] == "1050"]
    assert "- 2 of 2 units of line 1: 'Product 77' (SKU SKU-77): 2 of 2 units are out of " in note
    assert "(2 units in stock are promised to released backorder orders awaiting payment)" in note
    # The first customer pays: stock taken again. The figure is exactly the new order's
    # backorder, which the next arrival releases; nothing went out twice.
    world.store.pay("502")
    assert world.store.stock[WIDGET] == -2
    assert world.store.open_backorder_units(WIDGET) == 2
    assert world.explained()


def test_a_paid_release_no_longer_holds_its_units_and_is_settled() -> None:
    world = World()
    released_unpaid(world)
    world.store.pay("502")  # stock taken again: 0
    world.store.restock("77", 2)  # two more arrive
    world.place("1050", [(WIDGET, 2), (MUG, 1)])

    result = world.split("1050")

    assert result.status == "no_change"  # both widgets are really free
    assert world.kept("1050") == [(WIDGET, 2), (MUG, 1)]
    assert world.backordered("1050") == []
    record = world.releases.records[(STORE, release_key("502"))]
    assert record.state == ReleaseState.SETTLED  # type: ignore[attr-defined]
    assert world.store.calls.count("get_orders") == 2  # allocation's read, then the split's
    # Settled: the next split of the product reads no released order.
    world.store.restock("77", 1)
    world.place("1051", [(WIDGET, 1)])
    assert world.split("1051").status == "no_change"
    assert world.store.calls.count("get_orders") == 2
    assert world.store.stock[WIDGET] == 0 and world.explained()


def test_a_cancelled_release_gives_its_units_to_the_next_order() -> None:
    world = World()
    released_unpaid(world)
    world.store.cancel("502")  # pending: nothing was reduced, the figure stays 2

    world.place("1050", [(WIDGET, 2)])
    result = world.split("1050")

    assert result.status == "no_change"
    assert world.kept("1050") == [(WIDGET, 2)]
    assert world.backordered("1050") == []
    record = world.releases.records[(STORE, release_key("502"))]
    assert record.state == ReleaseState.SETTLED  # type: ignore[attr-defined]
    assert world.store.stock[WIDGET] == 0 and world.explained()


def test_several_pending_orders_hold_their_units_together() -> None:
    world = World()
    world.backorder("502", 2, minute=1)
    world.backorder("504", 3, minute=2)
    world.store.restock("77", 7)  # -5 + 7: both are released, 2 really free
    assert world.allocate() == ("502", "504")
    assert world.store.stock[WIDGET] == 7  # 5 given back by the two pending orders
    world.place("1050", [(WIDGET, 6), (MUG, 1)])

    result = world.split("1050")

    assert result.status == "split"
    assert world.kept("1050") == [(WIDGET, 2), (MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 4)]
    assert world.store.calls.count("get_orders") == 2  # both pending orders in one read
    world.store.pay("502")
    world.store.pay("504")
    assert world.store.stock[WIDGET] == -4 == -world.store.open_backorder_units(WIDGET)


def test_a_variation_holds_only_its_own_units() -> None:
    world = World()
    world.backorder("502", 2, RED)
    world.store.restock(RED, 2)
    world.store.restock(BLUE, 3)
    assert world.allocate("30") == ("502",)  # the parent's allocation covers its variations
    world.place("1050", [(RED, 2), (BLUE, 1)])

    result = world.split("1050")

    assert result.status == "split"
    assert world.kept("1050") == [(BLUE, 1)]
    assert world.backordered("1050") == [(RED, 2)]
    assert world.locks.taken[-1] == ("30", "31", "32")  # product and variation ids
    world.store.pay("502")
    assert world.store.stock[RED] == -2 and world.explained(RED)
    assert world.store.stock[BLUE] == 2


def test_a_product_no_longer_counted_is_never_short() -> None:
    world = World()
    released_unpaid(world)
    del world.store.stock[WIDGET]  # the merchant stopped managing the widget's stock

    world.place("1050", [(WIDGET, 3), (MUG, 1)])
    result = world.split("1050")

    assert result.status == "no_change"
    assert world.kept("1050") == [(WIDGET, 3), (MUG, 1)]
    assert world.backordered("1050") == []


def test_an_order_released_itself_is_not_held_against_its_own_units() -> None:
    """An order waiting for payment after a release (its meta lost, so it reads as a new
    order) sees its own released units as its own, not as promised to someone else."""
    world = World()
    world.store.stock[WIDGET] = 2
    world.place("1060", [(WIDGET, 2)], paid=False)
    world.store.release_order("1060", "pending", release_key("1060"))  # 2 given back
    world.releases.start(
        STORE, release_key("1060"), "1060", "pending",
        [{"line_id": "1", "product_id": "77", "variant_id": None, "units": 2}],
    )  # fmt: skip
    world.releases.advance(STORE, release_key("1060"), ReleaseState.DONE)
    assert world.store.stock[WIDGET] == 2

    result = world.split("1060")

    assert result.status == "no_change"
    assert world.kept("1060") == [(WIDGET, 2)]
    assert "get_orders" not in world.store.calls and "set_status" not in world.store.calls


def test_without_a_released_order_the_split_reads_nothing_more() -> None:
    world = World()
    world.store.stock[WIDGET] = 1
    world.place("1050", [(WIDGET, 3), (MUG, 1)])

    assert world.split("1050").status == "split"

    assert world.store.calls == ["get_order", "get_stock", "write_split", "add_note"]
    assert world.backordered("1050") == [(WIDGET, 2)]


def test_the_free_units_are_read_under_the_allocation_locks_holds_first() -> None:
    world = World()
    released_unpaid(world)
    world.place("1050", [(WIDGET, 2), (MUG, 1)])
    seen: list[tuple[str, bool]] = []
    world.store.before_stock = lambda: seen.append(("stock", world.locks.locks["77"].locked()))
    calls_before = len(world.store.calls)

    world.split("1050")

    assert world.locks.taken[-1] == ("77", "88")
    assert seen == [("stock", True)]
    assert world.store.calls[calls_before:] == [
        "get_order", "get_orders", "get_stock", "write_split", "add_note",
    ]  # fmt: skip
    assert not world.locks.locks["77"].locked() and not world.locks.locks["88"].locked()


def test_an_allocation_at_the_same_time_waits_and_the_split_sees_one_figure() -> None:
    """502 (2, oldest) and 503 (1) wait; 4 widgets arrive; a new order takes 2 of the figure.
    An allocation job starts while the new order's free units are read, and releases 502
    before the split is written. Under the product lock the split sees the figure before the
    release: it ships 1 and leaves 1 to 503's turn. Reading the holds before the release and
    the figure after it, it would ship 2 and overtake 503."""
    world = World()
    world.backorder("502", 2, minute=1)
    world.backorder("503", 1, minute=2)
    world.store.restock("77", 4)  # -3 + 4
    world.place("1050", [(WIDGET, 2), (MUG, 1)])  # figure -1
    allocation: list[tuple[str, ...]] = []
    progressed = threading.Event()

    def allocate() -> None:
        allocation.append(world.allocate())
        progressed.set()

    job = threading.Thread(target=allocate)

    def start_allocation() -> None:
        world.store.before_stock = None
        job.start()
        # Until it has run, or waits for a lock the split holds.
        assert progressed.wait(timeout=10), "the allocation job neither ran nor waited"

    world.locks.on_wait = progressed.set
    world.store.before_stock = start_allocation
    world.store.before_write = lambda: job.join(timeout=10)  # it runs once the reads are done

    result = world.split("1050")

    assert not job.is_alive() and allocation == [("502",)]
    assert world.locks.waited  # the job waited for the split's read
    assert result.status == "split"
    assert world.kept("1050") == [(WIDGET, 1), (MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 1)]
    world.store.before_write = None
    assert world.allocate() == ("503",)  # 503 is served before the new order's backorder
    world.store.pay("502")
    world.store.pay("503")
    assert world.store.stock[WIDGET] == -1 == -world.store.open_backorder_units(WIDGET)


def test_a_customer_paying_between_the_reads_never_gets_units_shipped_twice() -> None:
    """Nothing locks a customer out of paying. The holds are read before the figure, so a
    payment after the holds were read counts the units twice (held, and taken again): they
    go on backorder rather than to two customers."""
    world = World()
    released_unpaid(world)
    world.place("1050", [(WIDGET, 2), (MUG, 1)])
    world.store.after_stock = lambda: world.store.pay("502")

    result = world.split("1050")

    assert result.status == "split"
    assert world.kept("1050") == [(MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 2)]
    assert world.store.stock[WIDGET] == -2 and world.explained()


def test_the_whole_order_outcome_is_unchanged_when_nothing_is_held() -> None:
    world = World()
    world.store.stock[WIDGET] = 0
    world.place("1050", [(WIDGET, 2)])

    result = world.split("1050")

    assert result.status == "hold"
    assert world.store.orders["1050"].status.value == "on_hold"
    assert world.backordered("1050") == []
    decision = next(e for e in world.audit.entries if e.kind == "decision" and e.order_id == "1050")
    assert decision.data["outcome"] == Outcome.HOLD.value and decision.data["held"] == []
