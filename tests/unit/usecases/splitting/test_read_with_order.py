"""The stock of the products a delivery named, read with the order (issue 17, "Cost per split").

A split is three round trips at best (read, batch write, note); reading the order and then its
products' stock made the read two. When the event's delivery named the order's products, the
split reads their stock at the same time as the order, the same way as before (under their
allocation locks, the held units first), and afterwards only what the fresh order adds.

One fake store with WooCommerce's stock rules (`FakeReleaseStore`): its `read_order_and_products`
records `get_order` and `read_products`, a later `get_stock` only when something is left to read.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugin.core.model import ProductRef
from plugin.usecases.splitting import EventResult, handle_order_event
from tests.unit.usecases.splitting.test_held_stock import (
    MUG,
    STORE,
    WIDGET,
    World,
    lock_ids,
    released_unpaid,
)

PARENT = ProductRef("30")
RED = ProductRef("30", "31")
BLUE = ProductRef("30", "32")


def split(world: World, order_id: str, named: Sequence[ProductRef]) -> EventResult:
    """`World.split` for an event whose delivery named `named`."""
    return handle_order_event(
        STORE,
        order_id,
        platform=world.store,
        ledger=world.splits,
        releases=world.releases,
        policies=world.policies,
        audit=world.audit,
        stock_lock=lambda refs: world.locks.hold(lock_ids(refs)),
        named_products=named,
    )


def test_a_delivery_naming_the_products_reads_their_stock_with_the_order() -> None:
    world = World()
    world.store.stock[WIDGET] = 1
    world.place("1050", [(WIDGET, 3), (MUG, 1)])

    result = split(world, "1050", [WIDGET, MUG])

    assert result.status == "split"
    # The two reads the WooCommerce adapter sends at once, and nothing read after the order.
    assert world.store.calls == ["get_order", "read_products", "write_split", "add_note"]
    assert world.locks.taken == [("77", "88")]
    assert world.kept("1050") == [(WIDGET, 1), (MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 2)]


def test_a_stale_delivery_still_reads_the_product_the_order_gained_before_planning() -> None:
    """The delivery named the mug only (the order was edited since): the widget the fresh
    order holds is read, alone and under its own lock, before the plan is made."""
    world = World()
    world.store.stock[WIDGET] = 1
    world.place("1050", [(WIDGET, 3), (MUG, 1)])
    reads: list[list[ProductRef]] = []
    read_figures = world.store._read_figures

    def recorded(refs, step):  # type: ignore[no-untyped-def]
        reads.append(sorted(refs, key=lambda ref: ref.product_id))
        return read_figures(refs, step)

    world.store._read_figures = recorded  # type: ignore[method-assign]

    result = split(world, "1050", [MUG])

    assert result.status == "split"
    assert world.store.calls == [
        "get_order", "read_products", "get_stock", "write_split", "add_note",
    ]  # fmt: skip
    assert reads == [[MUG], [WIDGET]]  # the mug with the order, then only what it added
    assert world.locks.taken == [("88",), ("77",)]
    assert world.kept("1050") == [(WIDGET, 1), (MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 2)]


def test_a_delivery_naming_a_product_the_order_no_longer_has_plans_on_the_fresh_order() -> None:
    world = World()
    world.store.stock[WIDGET] = 0
    world.place("1050", [(MUG, 2)])

    result = split(world, "1050", [WIDGET, MUG])

    assert result.status == "no_change"
    assert world.store.calls == ["get_order", "read_products"]
    assert world.kept("1050") == [(MUG, 2)]
    assert world.backordered("1050") == []
    assert world.store.stock == {WIDGET: 0, MUG: 48}  # nothing written


def test_an_order_with_a_split_recorded_reads_nothing() -> None:
    """Our own writes come back as order webhooks naming the products: the split is in the
    ledger, finished, so nothing is read (the order was, until 2026-12-05)."""
    world = World()
    world.store.stock[WIDGET] = 1
    world.place("1050", [(WIDGET, 3), (MUG, 1)])
    assert split(world, "1050", [WIDGET, MUG]).status == "split"
    calls_before = len(world.store.calls)

    again = split(world, "1050", [WIDGET, MUG])

    assert (again.status, again.detail) == ("ignored", "done")
    assert world.store.calls[calls_before:] == []
    assert world.locks.taken == [("77", "88")]  # no lock taken for it


def test_the_holds_are_read_first_and_under_the_locks_of_the_named_products() -> None:
    world = World()
    released_unpaid(world)
    world.place("1050", [(WIDGET, 2), (MUG, 1)])
    seen: list[tuple[str, bool, bool]] = []
    world.store.before_stock = lambda: seen.append(
        ("stock", world.locks.locks["77"].locked(), world.locks.locks["88"].locked())
    )
    calls_before = len(world.store.calls)

    result = split(world, "1050", [WIDGET, MUG])

    assert result.status == "split"
    assert seen == [("stock", True, True)]
    assert world.store.calls[calls_before:] == [
        "get_orders", "get_order", "read_products", "write_split", "add_note",
    ]  # fmt: skip
    # 502's two released units are promised: the new order's widgets wait.
    assert world.kept("1050") == [(MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 2)]
    assert not world.locks.locks["77"].locked() and not world.locks.locks["88"].locked()


def test_a_customer_paying_between_the_reads_never_gets_units_shipped_twice() -> None:
    world = World()
    released_unpaid(world)
    world.place("1050", [(WIDGET, 2), (MUG, 1)])
    world.store.after_stock = lambda: world.store.pay("502")

    result = split(world, "1050", [WIDGET, MUG])

    assert result.status == "split"
    assert world.kept("1050") == [(MUG, 1)]
    assert world.backordered("1050") == [(WIDGET, 2)]
    assert world.store.stock[WIDGET] == -2 and world.explained()


def test_variations_of_one_figure_are_read_again_together_when_the_order_adds_one() -> None:
    """Red and blue draw on product 30's figure. The delivery named red only; between the read
    with the order and the read of blue a shopper takes a unit. Red is read again with blue, so
    the plan sees one figure (1 unit for the order's 2), not red's 2 and blue's 1."""
    world = World()
    world.store.pools.update({RED: PARENT, BLUE: PARENT})
    world.store.stock[PARENT] = 2
    world.place("701", [(RED, 1), (BLUE, 1)])  # figure 0; seen from the order: 2
    reads: list[list[ProductRef]] = []
    read_figures = world.store._read_figures

    def recorded(refs, step):  # type: ignore[no-untyped-def]
        refs = list(refs)
        reads.append(refs)
        if len(reads) == 1:
            world.store.place_order("702", [("1", BLUE, 1)], paid=True)  # figure -1
        return read_figures(refs, step)

    world.store._read_figures = recorded  # type: ignore[method-assign]

    result = split(world, "701", [RED])

    assert result.status == "split"
    assert sum(units for _, units in world.kept("701")) == 1
    assert sum(units for _, units in world.backordered("701")) == 1
    assert world.explained(PARENT)
    assert reads == [[RED], [RED, BLUE]]
    assert world.locks.taken == [("30", "31"), ("30", "31", "32")]
