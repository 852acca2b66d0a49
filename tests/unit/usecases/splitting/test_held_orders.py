"""Orders that wait whole for stock (issue 13, bug 2): a whole-order customer with a short line,
or an order with nothing in stock, is put On Hold and recorded (`hold:<order id>`); when stock
arrives, allocation serves it in its priority and age place like a backorder order: released
once (paid: processing; unpaid: pending with the payment link), or, when its delivery
condition lets part of it ship, split with what arrived and the rest moved to `<n>-001`.

One fake store (`FakeReleaseStore`, WooCommerce's stock rules) serves both use cases.
"""

from __future__ import annotations

import contextlib

from plugin.core.model import CustomerPolicy, DeliveryCondition, Status
from plugin.core.split import hold_key, resplit_key
from plugin.ports import ReleaseState, SplitState
from plugin.usecases.releasing import release_key
from tests.fakes import Crash
from tests.unit.usecases.splitting.test_held_stock import MUG, WIDGET, World

STORE = 1


def customer_wants(world: World, delivery: DeliveryCondition, priority: int = 0) -> None:
    """The customer of `World.place` orders (customer 7)."""
    world.policies.customers["7"] = CustomerPolicy("7", delivery, priority)


def held_world(*, paid: bool = True) -> World:
    """Order 801 of a whole-order customer: 2 widgets (none in stock) and a mug, put on hold."""
    world = World()
    world.store.stock[WIDGET] = 0
    customer_wants(world, DeliveryCondition.WHOLE_ORDER)
    world.place("801", [(WIDGET, 2), (MUG, 1)], paid=paid)
    result = world.split("801")
    assert (result.status, result.split_key) == ("hold", hold_key("801"))
    return world


def test_a_whole_order_that_waits_is_put_on_hold_and_recorded_once() -> None:
    world = held_world()

    record = world.splits.get(STORE, hold_key("801"))
    assert record is not None and record.state == SplitState.DONE
    assert [(lp["line_id"], lp["waiting"]) for lp in record.plan["lines"]] == [("1", 2), ("2", 0)]  # type: ignore[index]
    assert world.store.wc_status["801"] == "on-hold"
    assert [note for order_id, note in world.store.notes if order_id == "801"] == [
        "Backorders put this order On Hold:\n" + "\n".join(
            r["message"] for r in record.plan["reasons"]  # type: ignore[index]
        )
    ]  # fmt: skip
    assert world.store.stock[WIDGET] == -2  # its units wait, taken from the figure
    assert world.releases.backorder_orders_for(STORE, WIDGET) == []  # fake: see the SQL test

    # Our own status change (and any later edit) comes back as an event: nothing again, and
    # nothing read (the finished hold decides it).
    calls = len(world.store.calls)
    again = world.split("801")
    assert (again.status, again.detail) == ("ignored", "waits for stock")
    assert world.store.calls[calls:] == []
    assert len([n for n in world.store.notes if n[0] == "801"]) == 1
    assert world.store.transitions == [("801", "processing", "on-hold")]


def wait_in_allocation(world: World, order_id: str, *products: str) -> None:
    """What `SqlReleaseLedger.backorder_orders_for` reads from the hold record."""
    world.releases.splits.append((order_id, products))


def test_stock_arriving_releases_a_paid_held_order_once() -> None:
    world = held_world(paid=True)
    wait_in_allocation(world, "801", "77")
    world.store.restock("77", 2)

    assert world.allocate("77") == ("801",)
    assert world.allocate("77") == ()

    assert world.store.wc_status["801"] == "processing"  # stock stays taken: it ships
    assert world.store.transitions == [
        ("801", "processing", "on-hold"), ("801", "on-hold", "processing"),
    ]  # fmt: skip
    record = world.releases.get(STORE, release_key("801"))
    assert record is not None
    assert (record.state, record.target_status, record.payment_url) == (
        ReleaseState.DONE, "processing", None,
    )  # fmt: skip
    assert [(line["line_id"], line["units"]) for line in record.lines] == [("1", 2), ("2", 1)]
    assert world.store.stock[WIDGET] == 0 and world.explained()
    assert (
        sum("Backorders released this order" in n for o, n in world.store.notes if o == "801") == 1
    )
    assert world.split("801").status == "ignored"


def test_an_unpaid_held_order_is_released_to_pending_with_its_payment_link_and_held() -> None:
    world = held_world(paid=False)  # bank transfer: on-hold already, unpaid
    assert world.store.transitions == []  # it was on-hold: no status change, the note only
    wait_in_allocation(world, "801", "77")
    world.store.restock("77", 2)

    assert world.allocate("77") == ("801",)

    record = world.releases.get(STORE, release_key("801"))
    assert record is not None
    assert (record.target_status, record.payment_url) == (
        "pending", "http://store.test/checkout/order-pay/801/?pay_for_order=true",
    )  # fmt: skip
    assert world.store.stock[WIDGET] == 2  # given back by pending, but promised to 801
    world.place("802", [(WIDGET, 2), (MUG, 1)])
    customer_wants(world, DeliveryCondition.SHIP_AVAILABLE)
    assert world.split("802").status == "split"
    assert world.kept("802") == [(MUG, 1)]  # 801's widgets are not shipped to 802
    assert world.backordered("802") == [(WIDGET, 2)]


def test_a_held_order_waits_in_its_priority_and_age_place() -> None:
    world = World()
    world.store.stock[WIDGET] = 0
    world.backorder("700", 1, minute=0)  # an older backorder order: 1 widget
    customer_wants(world, DeliveryCondition.WHOLE_ORDER)
    world.place("801", [(WIDGET, 2)])
    assert world.split("801").status == "hold"
    wait_in_allocation(world, "801", "77")
    world.store.restock("77", 2)

    # 700 (09:00, priority 0) comes first; the held order needs both units: it waits.
    assert world.allocate("77") == ("700",)
    assert world.store.wc_status["801"] == "on-hold"
    world.store.restock("77", 1)
    assert world.allocate("77") == ("801",)
    assert world.explained()


def test_a_held_order_of_a_higher_priority_customer_is_served_first() -> None:
    world = World()
    world.store.stock[WIDGET] = 0
    world.backorder("700", 1, minute=0)
    customer_wants(world, DeliveryCondition.WHOLE_ORDER, priority=5)
    world.place("801", [(WIDGET, 2)])
    assert world.split("801").status == "hold"
    wait_in_allocation(world, "801", "77")
    world.store.restock("77", 2)

    assert world.allocate("77") == ("801",)
    assert world.store.wc_status["700"] == "on-hold"


def test_stock_covering_part_of_a_held_ship_available_order_splits_it_and_releases_it() -> None:
    world = World()
    world.store.stock[WIDGET] = 0
    customer_wants(world, DeliveryCondition.SHIP_AVAILABLE)
    world.place("801", [(WIDGET, 3)])  # nothing in stock: the whole order waits
    assert world.split("801").status == "hold"
    wait_in_allocation(world, "801", "77")
    world.store.restock("77", 2)

    assert world.allocate("77") == ("801",)

    resplit = world.splits.get(STORE, resplit_key("801"))
    assert resplit is not None and resplit.state == SplitState.DONE
    new_id = resplit.backorder_order_id
    assert new_id is not None
    assert world.kept("801") == [(WIDGET, 2)]
    new = world.store.orders[new_id]
    assert (new.links.parent_id, new.links.is_backorder_order, new.status) == (
        "801", True, Status.NEW_BACKORDER,
    )  # fmt: skip
    assert [(line.ref, line.quantity) for line in new.lines] == [(WIDGET, 1)]
    assert world.store.wc_status["801"] == "processing"  # paid: what stayed ships
    assert world.releases.get(STORE, release_key("801")).state == ReleaseState.DONE  # type: ignore[union-attr]
    assert world.store.stock[WIDGET] == -1 == -world.store.open_backorder_units(WIDGET)
    note = next(n for o, n in world.store.notes if o == "801" and "Backorders split" in n)
    assert note.startswith("Backorders split this order, which waited whole for stock,")


def test_a_whole_order_is_never_released_in_part() -> None:
    world = held_world()
    wait_in_allocation(world, "801", "77")
    world.store.restock("77", 1)

    assert world.allocate("77") == ()

    assert world.store.wc_status["801"] == "on-hold"
    assert world.splits.get(STORE, resplit_key("801")) is None
    assert world.releases.records == {}


def test_a_held_order_the_merchant_cancelled_is_not_released() -> None:
    world = held_world()
    wait_in_allocation(world, "801", "77")
    world.store.cancel("801")  # its units come back to the figure
    world.store.restock("77", 2)

    assert world.allocate("77") == ()

    assert world.store.wc_status["801"] == "cancelled"
    assert world.releases.records == {}


def test_a_hold_interrupted_after_the_status_change_is_finished_once() -> None:
    world = World()
    world.store.stock[WIDGET] = 0
    customer_wants(world, DeliveryCondition.WHOLE_ORDER)
    world.place("801", [(WIDGET, 2), (MUG, 1)])
    world.store.crash_after = "set_status"
    with contextlib.suppress(Crash):
        world.split("801")
    record = world.splits.get(STORE, hold_key("801"))
    assert record is not None and record.state == SplitState.PLANNED
    assert world.store.notes == []

    result = world.split("801")  # the job runs again

    assert (result.status, result.split_key) == ("hold", hold_key("801"))
    assert world.splits.get(STORE, hold_key("801")).state == SplitState.DONE  # type: ignore[union-attr]
    assert len(world.store.notes) == 1
    assert world.store.transitions == [("801", "processing", "on-hold")]
