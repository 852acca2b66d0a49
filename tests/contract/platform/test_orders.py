"""Reading an order and the free units of its products, writing a split and its retry, and the
orders changed since a checkpoint: the same outcomes from every implementation (conftest.py)."""

from __future__ import annotations

import datetime as dt

from plugin.core.model import Outcome, PaymentAction, PaymentState, Policies, ProductRef, Status
from plugin.core.split import plan_split
from tests.contract.platform.harness import Harness


def _quantities(store: Harness, order_id: str) -> dict[ProductRef, int]:
    order = store.platform().get_order(order_id)
    return {line.ref: line.quantity for line in order.lines}


def _original_after_split(
    store: Harness, ships: dict[ProductRef, int], held: dict[ProductRef, int]
) -> dict[ProductRef, int]:
    """The original's lines after a split: what ships now, or, on a store that holds the
    backordered units on the order itself (`holds_on_the_order`), what ships and what is held."""
    if not store.holds_on_the_order:
        return ships
    return {ref: ships.get(ref, 0) + held.get(ref, 0) for ref in {**ships, **held}}


def test_read_an_order_and_the_free_units_of_its_products(store: Harness) -> None:
    short = store.product("Short", price="10.00", stock=2, backorders=True)
    plenty = store.product("Plenty", price="5.00", stock=10, backorders=False)
    loose = store.product("Loose", price="3.00", backorders=False)  # stock not counted
    order_id = store.order([(short, 5), (plenty, 1), (loose, 4)], paid=True)
    platform = store.platform()

    order = platform.get_order(order_id)
    assert (order.id, order.status, order.payment_state) == (
        order_id,
        Status.NEW,
        PaymentState.PAID,
    )
    assert [(line.ref, line.quantity, line.unit_price) for line in order.lines] == [
        (short, 5, 10), (plenty, 1, 5), (loose, 4, 3),
    ]  # fmt: skip
    assert order.links.is_backorder_order is False
    assert order.links.split_count == 0
    # The store took the ordered units from its figures; seen from the order they are its own.
    assert [store.stock(ref) for ref in (short, plenty, loose)] == [-3, 9, None]
    stock = platform.get_stock(order)
    assert [(stock[r].available, stock[r].managed) for r in (short, plenty)] == [
        (2, True),
        (10, True),
    ]
    assert stock[loose].managed is False

    free = platform.free_units([order], [])
    assert dict(free.free) == {short: 2, plenty: 10, loose: 0}  # nothing counted, nothing free
    assert {ref: free.pools[ref] for ref in (short, plenty)} == {short: short, plenty: plenty}
    assert platform.stock_figure(short).quantity == -3
    assert platform.stock_figure(loose).quantity is None

    held = store.order([(short, 1)], paid=False)
    assert platform.get_order(held).status is store.unpaid_status  # on hold, or simply new
    assert platform.get_order(held).payment_state is PaymentState.UNPAID
    assert store.stock(short) == -4
    # Both orders waiting: the figure plus what both took.
    both = platform.free_units([platform.get_order(order_id), platform.get_order(held)], [])
    assert dict(both.free) == {short: 2, plenty: 10, loose: 0}
    assert [o.id for o in platform.get_orders([held, "999999999", order_id])] == [held, order_id]


def test_read_an_order_with_the_stock_of_the_products_its_delivery_named(store: Harness) -> None:
    """`read_order_and_products` then `get_stock` give what `get_order` then `get_stock` give,
    whether the products named are all of the order's, some of them (the order gained one
    since its delivery), more than it has, or none."""
    short = store.product("Short", price="10.00", stock=2, backorders=True)
    plenty = store.product("Plenty", price="5.00", stock=10, backorders=False)
    added = store.product("Added", price="3.00", stock=1, backorders=True)
    elsewhere = store.product("Elsewhere", price="1.00", stock=4, backorders=False)
    order_id = store.order([(short, 5), (plenty, 1), (added, 2)], paid=True)
    platform = store.platform()
    expected = dict(platform.get_stock(platform.get_order(order_id)))
    assert [(expected[r].available, expected[r].managed) for r in (short, plenty, added)] == [
        (2, True), (10, True), (1, True),
    ]  # fmt: skip

    for named in ([short, plenty, added], [short, plenty], [plenty, elsewhere], []):
        order, read = store.platform().read_order_and_products(order_id, named)
        assert (order.id, [line.ref for line in order.lines]) == (order_id, [short, plenty, added])
        assert read.refs == frozenset(named)
        assert dict(platform.get_stock(order, read)) == expected, named
    assert [store.stock(ref) for ref in (short, plenty, added, elsewhere)] == [-3, 9, -1, 4]


def test_write_a_split_and_retry_it(store: Harness) -> None:
    short = store.product("Short", price="10.00", stock=2, backorders=True)  # 5 ordered
    plenty = store.product("Plenty", price="5.00", stock=10, backorders=False)
    none_left = store.product("None left", price="8.00", stock=0, backorders=True)
    order_id = store.order([(short, 5), (plenty, 1), (none_left, 2)], paid=True)
    stock_before = [store.stock(ref) for ref in (short, plenty, none_left)]
    assert stock_before == [-3, 9, -2]

    platform = store.platform()
    original = platform.get_order(order_id)
    plan = plan_split(original, platform.get_stock(original), Policies())
    assert (plan.outcome, plan.payment) == (Outcome.SPLIT, PaymentAction.PAID_FROM_ORIGINAL)
    backorder_id = platform.write_split(original, plan, backorder_order_id=None, summary="Test")
    store.adopt(backorder_id)
    platform.add_note(order_id, f"Split: {plan.backorder_number} holds the backordered units")

    moved = {short: 3, none_left: 2}
    assert _quantities(store, order_id) == _original_after_split(
        store, {short: 2, plenty: 1}, moved
    )
    assert _quantities(store, backorder_id) == moved
    backorder = store.platform().get_order(backorder_id)
    assert backorder.status is Status.NEW_BACKORDER
    assert backorder.payment_state is PaymentState.PAID
    assert (backorder.links.parent_id, backorder.links.is_backorder_order) == (order_id, True)
    assert store.platform().get_order(order_id).links.split_count == 1
    # The original gave back what moved; the held backorder order took it again.
    assert [store.stock(ref) for ref in (short, plenty, none_left)] == stock_before
    assert [n for n in store.notes(order_id) if n.startswith("Split:")] == [
        f"Split: {plan.backorder_number} holds the backordered units"
    ]
    original_number = store.platform().get_order(order_id).number
    summaries = store.platform().order_summaries([order_id, backorder_id, "999999999"])
    assert sorted(summaries) == sorted([order_id, backorder_id])
    before = {line.ref: line for line in original.lines}
    assert (summaries[order_id].number, summaries[order_id].status) == (original_number, Status.NEW)
    assert summaries[backorder_id].status is Status.NEW_BACKORDER
    # Named as the platform's admin names it, never a raw status slug (`on-hold`).
    assert summaries[backorder_id].store_status == "On hold (waiting for stock)"
    assert dict(summaries[backorder_id].original_lines) == {
        before[ref].line_id: before[ref].name for ref in (short, none_left)
    }
    assert summaries[order_id].product_name(short.product_id, None) == before[short].name
    assert plan.backorder_number == f"{original_number}-001"

    # A retry after a crash finds the backorder order and only re-applies the original's update.
    retry = store.platform()
    assert retry.find_backorder_order(order_id, str(plan.split_key)) == backorder_id
    assert retry.find_backorder_order(order_id, "another:key") is None
    current = retry.get_order(order_id)
    assert retry.write_split(current, plan, backorder_order_id=backorder_id) == backorder_id
    assert _quantities(store, order_id) == _original_after_split(
        store, {short: 2, plenty: 1}, moved
    )
    assert store.platform().get_order(order_id).links.split_count == 1
    assert retry.backorder_numbers(order_id) == [f"{original_number}-001"]
    assert [store.stock(ref) for ref in (short, plenty, none_left)] == stock_before

    # Splitting an unpaid order: its backorder order is charged on release.
    scarce = store.product("Scarce", price="9.00", stock=1, backorders=True)
    unpaid_id = store.order([(scarce, 3)], paid=False)
    unpaid = platform.get_order(unpaid_id)
    unpaid_plan = plan_split(unpaid, platform.get_stock(unpaid), Policies())
    assert unpaid_plan.payment is PaymentAction.CHARGE_ON_RELEASE
    unpaid_backorder = platform.write_split(unpaid, unpaid_plan, backorder_order_id=None)
    store.adopt(unpaid_backorder)
    assert store.platform().get_order(unpaid_backorder).payment_state is PaymentState.UNPAID
    assert _quantities(store, unpaid_backorder) == {scarce: 2}
    assert _quantities(store, unpaid_id) == _original_after_split(store, {scarce: 1}, {scarce: 2})
    assert store.stock(scarce) == -2


def test_orders_changed_since_a_checkpoint_match_their_deliveries(store: Harness) -> None:
    widget = store.product("Widget", stock=5, backorders=False)
    first = store.order([(widget, 1)], paid=True)
    second = store.order([(widget, 2)], paid=False)
    platform = store.platform()

    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    changes = {c.order_id: c for c in platform.orders_modified_since(long_ago)}
    assert {first, second} <= set(changes)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert [c for c in platform.orders_modified_since(later) if c.order_id in (first, second)] == []

    # A delivery of the same order state names the same resource state (one inbox key).
    secret = "contract-secret"
    for order_id in (first, second):
        delivery = store.delivery(secret, "order.updated", order_id)
        assert store.webhooks.verify(secret, delivery) is True
        assert store.webhooks.verify("another-secret", delivery) is False
        topic = store.webhooks.topic(delivery)
        assert (topic.topic, topic.ignored) == ("order.updated", False)
        state = store.webhooks.parse(topic.name, delivery)
        change = changes[order_id]
        assert (state.resource_id, state.modified_gmt, state.fingerprint) == (
            change.order_id, change.modified_gmt, change.fingerprint,
        )  # fmt: skip
    assert changes[first].fingerprint != changes[second].fingerprint
