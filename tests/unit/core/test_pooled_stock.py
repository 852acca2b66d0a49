"""One stock figure shared by several products: variations whose parent keeps the stock.

On WooCommerce a variation with `manage_stock: "parent"` draws on its parent's stock figure
(`WC_Product_Variation::get_stock_managed_by_id`, `wc_update_product_stock`), so variations
red and blue of product C take from one count. Splitting (`plan_split`) and allocation
(`plan_release`) must never hand out that count twice, once per variation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import (
    BackorderMode,
    DeliveryCondition,
    Line,
    Links,
    Order,
    Outcome,
    Policies,
    ProductRef,
    Status,
    Stock,
    StoreSettings,
    free_units,
)
from plugin.core.release import OpenBackorder, OpenLine, plan_release
from plugin.core.split import plan_split
from tests.examples import properties
from tests.unit.core.builders import line, order
from tests.unit.core.strategies import REFS, orders, policies

EXAMPLES = properties(1000)

PARENT = ProductRef("C")
RED = ProductRef("C", "red")
BLUE = ProductRef("C", "blue")
BASE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _shared(ref: ProductRef, available: int) -> Stock:
    """Stock of a variation drawing on the parent's figure."""
    return Stock(ref, available, True, BackorderMode.NOTIFY, pool=PARENT)


def _new_order(*lines_: Line) -> Order:
    return order(*lines_, status=Status.NEW)


# --- splitting ---------------------------------------------------------------------------------


def test_two_variations_of_one_parent_figure_share_its_one_unit() -> None:
    # The parent keeps 1 unit; the order wants one red and one blue.
    new = _new_order(
        line("1", "C", 1, "10.00", variant_id="red"), line("2", "C", 1, "10.00", variant_id="blue")
    )
    stock = {RED: _shared(RED, 1), BLUE: _shared(BLUE, 1)}

    plan = plan_split(new, stock, Policies())

    assert plan.outcome is Outcome.SPLIT
    assert [(lp.line_id, lp.keep, lp.backorder) for lp in plan.lines] == [
        ("1", 1, 0),
        ("2", 0, 1),
    ]


def test_units_held_on_the_parent_figure_are_held_from_every_variation() -> None:
    # 1 unit on the shelf, promised to an unpaid released order of red: blue does not get it.
    new = _new_order(line("1", "C", 1, "10.00", variant_id="blue"), line("2", "D", 1, "5.00"))
    stock = {BLUE: _shared(BLUE, 1), ProductRef("D"): Stock(ProductRef("D"), 3)}

    plan = plan_split(new, stock, Policies(), {PARENT: 1})

    assert plan.outcome is Outcome.SPLIT
    assert [(lp.keep, lp.backorder) for lp in plan.lines] == [(0, 1), (1, 0)]
    assert "1 unit in stock is promised" in plan.lines[0].reason.message


def test_variations_keeping_their_own_stock_are_counted_apart() -> None:
    new = _new_order(
        line("1", "C", 1, "10.00", variant_id="red"), line("2", "C", 1, "10.00", variant_id="blue")
    )
    stock = {
        RED: Stock(RED, 1, True, BackorderMode.NOTIFY),
        BLUE: Stock(BLUE, 1, True, BackorderMode.NOTIFY),
    }

    plan = plan_split(new, stock, Policies(), {PARENT: 5})  # a parent's holds are not theirs

    assert plan.outcome is Outcome.NO_CHANGE
    assert [lp.keep for lp in plan.lines] == [1, 1]


def test_a_cap_counts_the_units_the_order_backorders_on_the_shared_figure() -> None:
    from plugin.core.model import ProductPolicy

    new = _new_order(
        line("1", "C", 2, "20.00", variant_id="red"), line("2", "C", 2, "20.00", variant_id="blue")
    )
    stock = {RED: _shared(RED, 0), BLUE: _shared(BLUE, 0)}
    policies_ = Policies(
        products=(ProductPolicy(RED, cap=3), ProductPolicy(BLUE, cap=3)),
        settings=StoreSettings(),
    )

    plan = plan_split(new, stock, policies_)

    # 2 red go on backorder, then only 1 blue fits under the cap of the shared figure.
    assert [(lp.backorder, lp.oversold) for lp in plan.lines] == [(2, 0), (1, 1)]


# --- the property: never more than the figure ----------------------------------------------

_FIGURE = st.integers(-6, 10)
_HELD = st.integers(0, 6)
_MODE = st.sampled_from(list(BackorderMode))
_PARENT_KEEPS = st.booleans()


@st.composite
def pooled(draw: st.DrawFn) -> tuple[Order, Policies, dict[ProductRef, Stock], dict, dict]:
    """A new order over REFS, where C's variations may draw on C's figure; the figures."""
    order_, p = draw(orders()), draw(policies())
    p = dataclasses.replace(
        p, settings=dataclasses.replace(p.settings, enabled=True, eligible_statuses=frozenset(
            {Status.NEW})),
    )  # fmt: skip
    order_ = dataclasses.replace(order_, status=Status.NEW, links=Links())
    shared = draw(_PARENT_KEEPS)
    figures: dict[ProductRef, int] = {}
    held: dict[ProductRef, int] = {}
    stock: dict[ProductRef, Stock] = {}
    mode = draw(_MODE)
    for ref in REFS:
        pool = PARENT if shared and ref.product_id == "C" else ref
        if pool not in figures:
            figures[pool] = draw(_FIGURE)
            if draw(st.booleans()):
                held[pool] = draw(_HELD)
        seen = figures[pool]
        stock[ref] = Stock(
            ref, max(0, seen), True, mode, max(0, -seen), pool=None if pool == ref else pool
        )
    return order_, p, stock, figures, held


@EXAMPLES
@given(pooled())
def test_what_ships_now_never_exceeds_the_free_units_of_its_figure(case: tuple) -> None:
    order_, p, stock, figures, held = case

    plan = plan_split(order_, stock, p, held)

    shipped: dict[ProductRef, int] = defaultdict(int)
    for lp in plan.lines:
        shipped[stock[lp.ref].pool_ref] += lp.keep - lp.oversold - lp.waiting
    for pool, figure in figures.items():
        assert shipped[pool] <= free_units(figure, 0, held.get(pool, 0)), (pool, plan.lines)


# --- allocation ------------------------------------------------------------------------------


def _open(
    order_id: str, minute: int, delivery: DeliveryCondition, *lines_: OpenLine
) -> OpenBackorder:
    return OpenBackorder(order_id, 0, BASE + dt.timedelta(minutes=minute), delivery, lines_)


def test_two_variations_waiting_on_one_parent_unit_release_one_order() -> None:
    red = _open("1", 0, DeliveryCondition.SHIP_AVAILABLE, OpenLine("r", RED, 1, PARENT))
    blue = _open("2", 1, DeliveryCondition.SHIP_AVAILABLE, OpenLine("b", BLUE, 1, PARENT))

    result = plan_release({PARENT: 1}, [blue, red])

    assert [(o.order_id, o.allocated) for o in result.orders] == [("1", 1), ("2", 0)]
    assert result.remaining == ((PARENT, 0),)


_POOLED_REFS = (RED, BLUE, ProductRef("D"))
_LINE = st.tuples(st.sampled_from(_POOLED_REFS), st.integers(0, 6))


@st.composite
def queues(draw: st.DrawFn) -> list[OpenBackorder]:
    result = []
    for i in range(draw(st.integers(0, 6))):
        picked = draw(st.lists(_LINE, min_size=1, max_size=4))
        lines_ = tuple(
            OpenLine(f"{i}-{j}", ref, qty, PARENT if ref.product_id == "C" else None)
            for j, (ref, qty) in enumerate(picked)
        )
        result.append(
            OpenBackorder(
                str(i), draw(st.integers(0, 2)), BASE + dt.timedelta(hours=draw(st.integers(0, 4))),
                draw(st.sampled_from(list(DeliveryCondition))), lines_,
            )
        )  # fmt: skip
    return result


@EXAMPLES
@given(st.integers(-3, 12), st.integers(-3, 12), queues())
def test_variations_over_one_figure_never_get_more_than_it_holds(
    parent: int, other: int, queue: list[OpenBackorder]
) -> None:
    available = {PARENT: parent, ProductRef("D"): other}

    result = plan_release(available, queue)

    given_out: dict[ProductRef, int] = defaultdict(int)
    for release in result.orders:
        for released in release.lines:
            pool = PARENT if released.ref.product_id == "C" else released.ref
            given_out[pool] += released.allocated
    for pool, units in available.items():
        assert given_out[pool] <= max(units, 0)
        assert dict(result.remaining)[pool] == max(units, 0) - given_out[pool]
