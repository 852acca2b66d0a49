"""What happens to a backorder order once it exists: released paid or unpaid, split again, a line
cancelled, the whole order cancelled. The same outcomes from every implementation."""

from __future__ import annotations

from decimal import Decimal

from plugin.core.model import Order, PaymentState, Policies, ProductRef, Status, StoreSettings
from plugin.core.split import plan_resplit, plan_split
from plugin.ports import Promise, PromiseState, ReleaseAs
from tests.contract.platform.harness import Harness


def _split(store: Harness, lines: list[tuple[ProductRef, int]], *, paid: bool) -> tuple[Order, str]:
    """An order split by the platform, one unit of an item in stock shipping now: (original
    as it was before the split, backorder order id)."""
    keeper = store.product("Keeper", price="1.00", stock=10, backorders=False)
    order_id = store.order([*lines, (keeper, 1)], paid=paid)
    platform = store.platform()
    original = platform.get_order(order_id)
    plan = plan_split(original, platform.get_stock(original), Policies())
    backorder_id = platform.write_split(original, plan, backorder_order_id=None)
    store.adopt(backorder_id)
    return original, backorder_id


def _quantities(store: Harness, order_id: str) -> dict[ProductRef, int]:
    return {line.ref: line.quantity for line in store.platform().get_order(order_id).lines}


def test_release_paid_ships_now_and_keeps_the_units(store: Harness) -> None:
    board = store.product("Board", stock=1, backorders=True)
    _, backorder_id = _split(store, [(board, 3)], paid=True)
    assert store.stock(board) == -2
    platform = store.platform()
    assert platform.get_order(backorder_id).status is Status.NEW_BACKORDER

    assert platform.release_order(backorder_id, ReleaseAs.PAID, "release:paid") is None

    released = store.platform().get_order(backorder_id)
    assert (released.status, released.payment_state) == (Status.NEW, PaymentState.PAID)
    assert store.stock(board) == -2  # taken when it was held, not taken twice
    # Repeated, or to another status: no write, the order is no longer held.
    assert store.platform().release_order(backorder_id, ReleaseAs.UNPAID, "release:x") is None
    assert store.platform().get_order(backorder_id).status is Status.NEW
    assert store.stock(board) == -2


def test_release_unpaid_gives_a_payment_link_and_the_units_stay_promised(store: Harness) -> None:
    board = store.product("Board", stock=0, backorders=True)
    _, backorder_id = _split(store, [(board, 2)], paid=False)
    assert _quantities(store, backorder_id) == {board: 2}
    assert store.stock(board) == -2
    platform = store.platform()
    backorder = platform.get_order(backorder_id)

    url = platform.release_order(backorder_id, ReleaseAs.UNPAID, "release:unpaid")

    page = store.payment_page(backorder_id)
    if page is None:  # a payment link of the platform's own making, naming the order
        assert isinstance(url, str) and url.startswith(store.base_url()) and backorder_id in url
    else:  # the page the store keeps for the order, where its customer pays
        assert url == page
    released = store.platform().get_order(backorder_id)
    assert (released.status, released.payment_state) == (Status.NEW, PaymentState.UNPAID)
    line = backorder.lines[0]
    promise = Promise(backorder_id, ({"line_id": line.line_id, "product_id": board.product_id,
                                      "variant_id": None, "units": 2},))  # fmt: skip
    held = store.platform().held_units([promise])
    # Awaiting payment, the units stay promised: the store keeps them taken from its figure,
    # so nothing is held back; or it gave them back to the figure and the promise holds them.
    after = -2 if store.unpaid_keeps_units else 0
    assert store.stock(board) == after
    assert (dict(held.held), dict(held.states)) == (
        ({}, {backorder_id: PromiseState.SETTLED}) if store.unpaid_keeps_units
        else ({board: 2}, {backorder_id: PromiseState.HOLDING})
    )  # fmt: skip
    # Repeated: the same link, no change.
    assert store.platform().release_order(backorder_id, ReleaseAs.UNPAID, "release:unpaid") == url
    assert store.platform().get_order(backorder_id).status is Status.NEW
    assert store.stock(board) == after


def test_split_a_backorder_order_again(store: Harness) -> None:
    widget = store.product("Widget", price="10.00", stock=0, backorders=True)
    gadget = store.product("Gadget", price="4.00", stock=0, backorders=True)
    before, backorder_id = _split(store, [(widget, 3), (gadget, 2)], paid=True)
    original_id = before.id
    platform = store.platform()
    original = platform.get_order(original_id)
    backorder = platform.get_order(backorder_id)
    assert [store.stock(ref) for ref in (widget, gadget)] == [-3, -2]
    numbers = platform.backorder_numbers(original_id)
    assert numbers == [f"{original.number}-001"]
    lines = {line.ref: line.line_id for line in backorder.lines}
    plan = plan_resplit(
        backorder, {lines[widget]: 2, lines[gadget]: 0},  # 2 widgets arrived, no gadget
        original_number=original.number, taken_numbers=numbers, settings=StoreSettings(),
    )  # fmt: skip

    new_id = platform.write_resplit(backorder, plan, new_order_id=None)
    store.adopt(new_id)

    assert _quantities(store, backorder_id) == {widget: 2}
    assert _quantities(store, new_id) == {widget: 1, gadget: 2}
    sibling = store.platform().get_order(new_id)
    assert sibling.status is Status.NEW_BACKORDER
    assert (sibling.links.parent_id, sibling.links.is_backorder_order) == (original_id, True)
    assert [store.stock(ref) for ref in (widget, gadget)] == [-3, -2]  # moved, not taken twice
    again = store.platform()
    assert sorted(again.backorder_numbers(original_id)) == [
        f"{original.number}-001", f"{original.number}-002",
    ]  # fmt: skip
    assert again.find_backorder_order(original_id, str(plan.split_key)) == new_id
    # The retry after a crash: only the reduction, applied once.
    current = again.get_order(backorder_id)
    assert again.write_resplit(current, plan, new_order_id=new_id) == new_id
    assert _quantities(store, backorder_id) == {widget: 2}
    assert len(store.platform().backorder_numbers(original_id)) == 2
    assert [store.stock(ref) for ref in (widget, gadget)] == [-3, -2]


def test_cancel_a_backorder_line_then_the_whole_order(store: Harness) -> None:
    widget = store.product("Widget", price="10.00", stock=0, backorders=True)
    gadget = store.product("Gadget", price="4.00", stock=0, backorders=True)
    before, backorder_id = _split(store, [(widget, 3), (gadget, 2)], paid=True)
    original_id = before.id
    platform = store.platform()
    original_lines = {line.ref: line.line_id for line in before.lines}
    backorder = platform.get_order(backorder_id)
    lines = {line.ref: line.line_id for line in backorder.lines}
    assert dict(platform.original_line_ids(backorder_id)) == {
        lines[widget]: original_lines[widget], lines[gadget]: original_lines[gadget],
    }  # fmt: skip

    total = store.platform().remove_line(backorder_id, lines[widget])

    assert total is not None and Decimal(total) == Decimal("8.00")
    assert _quantities(store, backorder_id) == {gadget: 2}
    assert [store.stock(ref) for ref in (widget, gadget)] == [0, -2]  # its units came back
    # Repeated: gone already, no write, the same total.
    assert Decimal(store.platform().remove_line(backorder_id, lines[widget]) or "") == Decimal("8")
    assert [store.stock(ref) for ref in (widget, gadget)] == [0, -2]

    # A backorder order that is a held part of its original (`holds_on_the_order`) names it;
    # cancelling its last units closes that part, and the order goes on: not cancelled.
    own = not store.holds_on_the_order
    assert backorder.links.part_of == (None if own else before.number)
    assert store.platform().cancel_order(backorder_id) is own

    assert store.platform().get_order(backorder_id).status is Status.CANCELLED
    assert [store.stock(ref) for ref in (widget, gadget)] == [0, 0]
    # Cancelled already: no write, the same answer.
    assert store.platform().cancel_order(backorder_id) is own
    assert store.platform().get_order(backorder_id).status is Status.CANCELLED
    assert [store.stock(ref) for ref in (widget, gadget)] == [0, 0]
    assert [line.quantity for line in store.platform().get_order(original_id).lines] == [1]


def test_reduce_a_backorder_line_gives_back_the_units_taken_off(store: Harness) -> None:
    widget = store.product("Widget", price="10.00", stock=0, backorders=True)
    gadget = store.product("Gadget", price="4.00", stock=0, backorders=True)
    _, backorder_id = _split(store, [(widget, 3), (gadget, 2)], paid=False)
    lines = {line.ref: line.line_id for line in store.platform().get_order(backorder_id).lines}
    assert [store.stock(ref) for ref in (widget, gadget)] == [-3, -2]

    total = store.platform().reduce_line(
        backorder_id, lines[widget], 2, Decimal("20.00"), Decimal("20.00")
    )

    assert total is not None and Decimal(total) == Decimal("28.00")
    after = store.platform().get_order(backorder_id)
    assert after.status is Status.NEW_BACKORDER
    [reduced] = [line for line in after.lines if line.ref == widget]
    assert (reduced.line_id, reduced.quantity) == (lines[widget], 2)
    assert (reduced.subtotal, reduced.total) == (Decimal("20.00"), Decimal("20.00"))
    assert _quantities(store, backorder_id) == {widget: 2, gadget: 2}
    assert [store.stock(ref) for ref in (widget, gadget)] == [-2, -2]  # one unit came back
    assert dict(store.platform().original_line_ids(backorder_id))[lines[widget]]
    # Repeated: it has that quantity already, no write, the same total and stock.
    again = store.platform().reduce_line(
        backorder_id, lines[widget], 2, Decimal("20.00"), Decimal("20.00")
    )
    assert again is not None and Decimal(again) == Decimal("28.00")
    assert [store.stock(ref) for ref in (widget, gadget)] == [-2, -2]
