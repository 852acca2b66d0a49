"""Variations drawing on their parent's stock figure (WooCommerce `manage_stock: "parent"`):
allocation and splitting count that one figure once, not once per variation.

Product 30 keeps the stock; its variations red (31) and blue (32) draw on it. The fake store
keeps one figure for all three (`FakeReleaseStore.pools`), as WooCommerce does
(`wc_update_product_stock` changes `get_stock_managed_by_id()`, the parent).
"""

from __future__ import annotations

from plugin.core.model import Outcome, ProductRef
from plugin.ports import ReleaseState
from plugin.usecases.releasing import release_key
from tests.unit.usecases.splitting.test_held_stock import World

PARENT = ProductRef("30")
RED = ProductRef("30", "31")
BLUE = ProductRef("30", "32")


def shared_world() -> World:
    world = World()
    world.store.pools.update({RED: PARENT, BLUE: PARENT})
    world.store.stock[PARENT] = 0
    return world


def wait(world: World, order_id: str, ref: ProductRef, minute: int) -> None:
    """A backorder order of one unit of variation `ref`, found by its product's id and its
    own (`SqlReleaseLedger.backorder_orders_for`)."""
    world.backorder(order_id, 1, ref, minute=minute)
    world.releases.splits[-1] = (order_id, (ref.product_id, str(ref.variant_id)))


def test_one_unit_of_the_parent_releases_one_of_two_variations_waiting() -> None:
    world = shared_world()
    wait(world, "601", RED, minute=0)
    wait(world, "602", BLUE, minute=1)
    assert world.store.stock[PARENT] == -2

    world.store.restock(PARENT, 1)
    released = world.allocate("30")

    assert released == ("601",)  # the older one; blue still waits for the same figure
    assert (world.store.wc_status["601"], world.store.wc_status["602"]) == ("pending", "on-hold")
    record = world.releases.get(1, release_key("601"))
    assert record is not None
    assert list(record.lines) == [
        {"line_id": "l601", "product_id": "30", "variant_id": "31", "units": 1,
         "pool": {"product_id": "30", "variant_id": None}},
    ]  # fmt: skip
    assert world.releases.get(1, release_key("602")) is None  # nothing started for blue
    assert world.explained(PARENT)


def test_a_job_for_one_variation_never_hands_out_the_units_another_waits_for() -> None:
    world = shared_world()
    wait(world, "601", RED, minute=0)
    wait(world, "602", BLUE, minute=1)
    world.store.restock(PARENT, 1)

    # A job run for one variation's id counts that variation's claims on the figure only: the
    # other's unit is still in the figure's deficit, so neither hands out what the other
    # waits for (the worker runs a variation's job for its parent: `allocation_lock`).
    assert world.allocate("32") == ()
    assert world.allocate("31") == ()
    assert world.releases.records == {}

    assert world.allocate("30") == ("601",)  # the parent's job serves both, oldest first
    assert (world.store.wc_status["601"], world.store.wc_status["602"]) == ("pending", "on-hold")
    assert world.releases.get(1, release_key("602")) is None
    assert world.explained(PARENT)


def test_a_new_order_of_two_variations_ships_only_the_parents_one_unit() -> None:
    world = shared_world()
    world.store.stock[PARENT] = 1
    world.place("701", [(RED, 1), (BLUE, 1)])  # the store took both: the figure is -1

    result = world.split("701")

    assert result.status == "split"
    assert world.kept("701") == [(RED, 1)]
    assert world.backordered("701") == [(BLUE, 1)]
    assert world.store.stock[PARENT] == -1  # = minus the one blue unit waiting
    assert world.explained(PARENT)


def test_units_held_for_an_unpaid_red_are_not_shipped_to_a_new_blue() -> None:
    world = shared_world()
    world.backorder("601", 1, RED)
    world.store.restock(PARENT, 1)
    assert world.allocate("30") == ("601",)
    assert world.store.stock[PARENT] == 1  # pending: WooCommerce gave the unit back

    world.place("702", [(BLUE, 1)])
    result = world.split("702")

    # Nothing ships now (the unit is red's): the whole order waits, nothing moved.
    assert result.status == "hold"
    assert world.kept("702") == [(BLUE, 1)]
    assert world.backordered("702") == []
    decision = next(e for e in world.audit.entries if e.order_id == "702" and e.kind == "decision")
    assert decision.data["outcome"] == Outcome.HOLD.value
    assert decision.data["held"] == [{"product_id": "30", "variant_id": None, "units": 1}]

    world.store.pay("601")  # red pays: its unit is taken again, no unit was promised twice
    assert world.store.stock[PARENT] == -1
    assert world.releases.get(1, release_key("601")).state == ReleaseState.DONE  # type: ignore[union-attr]
