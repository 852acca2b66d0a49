"""A unit promised once: what a split ships now never includes units held for released orders.

Each example builds a store's physical state per product and derives the figures WooCommerce
would show (README "Stock accounting"), then plans a new order with `plan_split`:

- `shelf`: units in the store that no other order has taken for good (paid, or on hold
  waiting to ship); the only units the new order and the released orders can have.
- `held`: of those, units released to unpaid orders now `pending`. WooCommerce gave them back
  to the stock figure, but they are promised (allocation hands out only free units, so
  `held <= shelf`).
- `waiting`: units open backorder orders wait for; they reduced the figure and are not there.
- the new order took its units from the figure when it was placed.

So the figure is `shelf - waiting - ordered`, and the connector shows the order
`max(0, figure + ordered)` (what it took added back) and `max(0, -(figure + ordered))` as
other orders' open backorders.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import (
    BackorderMode,
    Links,
    Order,
    Policies,
    ProductRef,
    Status,
    Stock,
    free_units,
)
from plugin.core.split import plan_split
from tests.examples import properties
from tests.unit.core.strategies import REFS, orders, policies

EXAMPLES = properties(1000)

_SHELF = st.integers(0, 12)
_HOLDS = st.lists(st.integers(1, 6), max_size=3)  # several released orders awaiting payment
_WAITING = st.integers(0, 8) | st.just(0)
_MANAGED = st.sampled_from([True, True, True, False])
_MODE = st.sampled_from(list(BackorderMode))


@dataclasses.dataclass(frozen=True)
class Shelf:
    """One product's physical state (module docstring)."""

    shelf: int
    held: int
    waiting: int
    managed: bool


Case = tuple[
    Order, Policies, dict[ProductRef, Stock], dict[ProductRef, int], dict[ProductRef, Shelf]
]


@st.composite
def stores(draw: st.DrawFn) -> Case:
    """A new order (made plannable), the stock seen from it, the holds, and the truth."""
    order, p = draw(orders()), draw(policies())
    p = dataclasses.replace(
        p,
        settings=dataclasses.replace(
            p.settings, enabled=True, eligible_statuses=frozenset({Status.NEW, Status.ON_HOLD})
        ),
    )
    order = dataclasses.replace(order, status=Status.NEW, links=Links())
    ordered: dict[ProductRef, int] = defaultdict(int)
    for line in order.lines:
        ordered[line.ref] += max(line.quantity, 0)
    stock: dict[ProductRef, Stock] = {}
    held: dict[ProductRef, int] = {}
    truth: dict[ProductRef, Shelf] = {}
    for ref in REFS:
        shelf = draw(_SHELF)
        # Allocation released only units that were there: the holds fit on the shelf.
        promised = min(sum(draw(_HOLDS)), shelf)
        waiting = draw(_WAITING)
        managed = draw(_MANAGED)
        figure = shelf - waiting - ordered[ref]  # the held units were given back to it
        seen = figure + ordered[ref]  # the connector adds back what the order took
        stock[ref] = Stock(ref, max(0, seen), managed, draw(_MODE), max(0, -seen))
        if promised:
            held[ref] = promised
        truth[ref] = Shelf(shelf, promised, waiting, managed)
    return order, p, stock, held, truth


@EXAMPLES
@given(stores())
def test_no_unit_is_both_shipped_now_and_held_for_a_released_order(
    case: Case,
) -> None:
    order, p, stock, held, truth = case

    plan = plan_split(order, stock, p, held)

    shipped: dict[ProductRef, int] = defaultdict(int)
    for lp in plan.lines:
        # What the original keeps from stock: kept units less those kept without stock
        # (oversold) and those it keeps while it waits whole for stock (waiting).
        shipped[lp.ref] += lp.keep - lp.oversold - lp.waiting
    for ref, state in truth.items():
        if not state.managed:
            continue  # the store does not count it: nothing is promised, nothing is short
        # The invariant: shipped now + held for released orders <= free on the shelf.
        assert shipped[ref] + state.held <= state.shelf, (ref, state, plan.lines)
        # And open backorders keep their place: the new order takes only what nobody waits for.
        assert shipped[ref] <= free_units(state.shelf - state.waiting, 0, state.held)


@EXAMPLES
@given(stores())
def test_without_holds_the_plan_is_unchanged(
    case: Case,
) -> None:
    order, p, stock, _held, _truth = case

    assert plan_split(order, stock, p, {}) == plan_split(order, stock, p)
