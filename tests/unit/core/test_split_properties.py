"""Properties of `plan_split` over generated orders, stock and policies."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import (
    DeliveryCondition,
    Links,
    Order,
    Outcome,
    OversoldAction,
    Policies,
    ProductRef,
    Status,
    Stock,
    minor_unit,
)
from plugin.core.rules import delivery_condition, eligibility
from plugin.core.serialize import plan_from_dict, plan_to_dict
from plugin.core.split import order_totals, plan_split
from tests.examples import properties
from tests.unit.core.strategies import orders, policies, stock_maps

EXAMPLES = properties(1000)
ELIGIBLE_ORDERS = orders(statuses=st.sampled_from([Status.NEW, Status.ON_HOLD]))
AMOUNT_FIELDS = ("subtotal", "subtotal_tax", "total", "tax")


def _actionable(order: Order, p: Policies) -> tuple[Order, Policies]:
    """`order` and `p` made plannable: enabled store, eligible status, not split yet."""
    settings = dataclasses.replace(
        p.settings, enabled=True, eligible_statuses=frozenset({Status.NEW, Status.ON_HOLD})
    )
    status = order.status if order.status in settings.eligible_statuses else Status.NEW
    order = dataclasses.replace(order, links=Links(), status=status)
    return order, dataclasses.replace(p, settings=settings)


MOSTLY_ACTIONABLE = st.sampled_from([True, True, True, False])


@st.composite
def cases(draw: st.DrawFn) -> tuple[Order, dict[ProductRef, Stock], Policies]:
    """An order, its stock and policies; three times in four made plannable."""
    order, p = draw(orders()), draw(policies())
    if draw(MOSTLY_ACTIONABLE):
        order, p = _actionable(order, p)
    return order, draw(stock_maps()), p


@EXAMPLES
@given(cases())
def test_quantities_are_conserved_and_never_negative(
    case: tuple[Order, dict[ProductRef, Stock], Policies],
) -> None:
    order, stock, p = case
    plan = plan_split(order, stock, p)
    assert plan.lines == () or len(plan.lines) == len(order.lines)
    for lp, line in zip(plan.lines, order.lines, strict=False):
        assert (lp.line_id, lp.ref, lp.ordered) == (line.line_id, line.ref, line.quantity)
        assert lp.keep + lp.backorder == lp.ordered
        assert min(lp.keep, lp.backorder, lp.oversold, lp.waiting) >= 0
        assert lp.oversold + lp.waiting <= lp.keep
        assert lp.waiting == 0 or lp.backorder == 0
    if plan.outcome is not Outcome.SPLIT:
        assert all(lp.backorder == 0 for lp in plan.lines)
        assert plan.backorder_totals is None and plan.split_key is None
    else:
        assert any(lp.backorder for lp in plan.lines)
        assert any(lp.keep for lp in plan.lines)  # never an empty original


@EXAMPLES
@given(cases())
def test_money_is_conserved_to_the_minor_unit(
    case: tuple[Order, dict[ProductRef, Stock], Policies],
) -> None:
    order, stock, p = case
    plan = plan_split(order, stock, p)
    unit = minor_unit(order.currency)
    for lp, line in zip(plan.lines, order.lines, strict=False):
        for name in AMOUNT_FIELDS:
            kept, moved = getattr(lp.kept_amounts, name), getattr(lp.moved_amounts, name)
            assert kept + moved == getattr(line, name)
            assert kept >= 0 and moved >= 0
            assert moved % unit == 0
            if lp.backorder == 0:
                assert moved == 0
            if lp.keep == 0 and lp.ordered > 0:
                assert kept == 0
    if plan.outcome is Outcome.SPLIT:
        before = order_totals(order)
        after, moved_totals = plan.original_totals, plan.backorder_totals
        assert after is not None and moved_totals is not None
        assert after.total + moved_totals.total == before.total + plan.additional_shipping
        assert plan.moved_amount == moved_totals.total
        assert plan.additional_shipping >= 0 and plan.additional_shipping % unit == 0
        assert after.items == sum((lp.kept_amounts.total for lp in plan.lines), Decimal(0))
        assert moved_totals.items == sum((lp.moved_amounts.total for lp in plan.lines), Decimal(0))
        assert (after.shipping, after.fees) == (before.shipping, before.fees)
        assert (moved_totals.shipping, moved_totals.fees) == (plan.additional_shipping, 0)
        for totals in (after, moved_totals):
            assert min(vars(totals).values()) >= 0
    else:
        assert plan.moved_amount == 0


@EXAMPLES
@given(ELIGIBLE_ORDERS, stock_maps(), policies())
def test_stock_is_used_once_and_caps_hold(
    order: Order, stock: dict[ProductRef, Stock], p: Policies
) -> None:
    order, p = _actionable(order, p)
    plan = plan_split(order, stock, p)
    from_stock: dict[ProductRef, int] = defaultdict(int)
    on_backorder: dict[ProductRef, int] = defaultdict(int)
    ordered: dict[ProductRef, int] = defaultdict(int)
    for lp in plan.lines:
        from_stock[lp.ref] += lp.keep - lp.oversold - lp.waiting
        on_backorder[lp.ref] += lp.backorder + lp.waiting
        ordered[lp.ref] += max(lp.ordered, 0)
    condition, _ = delivery_condition(order, p)
    caps = {}
    for policy in p.products:
        caps.setdefault(policy.ref, policy.cap)
    for ref, item in stock.items():
        if not item.managed or ref not in ordered:
            continue
        free = max(item.available, 0)
        assert from_stock[ref] <= free
        if condition is not DeliveryCondition.LINES_COMPLETE:
            # Ship-available and whole-order take every unit they can.
            assert from_stock[ref] == min(ordered[ref], free)
        cap = caps.get(ref)
        if cap is not None:
            assert on_backorder[ref] <= max(cap - item.open_backorder_qty, 0)


@EXAMPLES
@given(orders(), stock_maps(), policies())
def test_refused_orders_are_untouched(
    order: Order, stock: dict[ProductRef, Stock], p: Policies
) -> None:
    plan = plan_split(order, stock, p)
    ok, reason = eligibility(order, p.settings)
    if ok:
        return
    assert plan.outcome is Outcome.NO_CHANGE
    assert plan.reasons == (reason,)
    assert plan.lines == () and plan.alerts == ()
    assert (plan.split_key, plan.backorder_number, plan.hold_original) == (None, None, False)


@EXAMPLES
@given(cases())
def test_planning_is_deterministic(case: tuple[Order, dict[ProductRef, Stock], Policies]) -> None:
    order, stock, p = case
    first = plan_split(order, stock, p)
    reversed_stock = dict(reversed(list(stock.items())))
    assert plan_split(order, reversed_stock, p) == first
    assert plan_split(order, stock, p) == first


@EXAMPLES
@given(ELIGIBLE_ORDERS, stock_maps(), policies(), st.integers(1, 5))
def test_split_or_backorder_orders_are_never_planned_again(
    order: Order, stock: dict[ProductRef, Stock], p: Policies, count: int
) -> None:
    order, p = _actionable(order, p)
    plan = plan_split(order, stock, p)
    if plan.outcome is not Outcome.SPLIT:
        return
    assert plan.split_key == f"{order.id}:1"
    split_original = dataclasses.replace(order, links=Links(split_count=count))
    backorder_order = dataclasses.replace(
        order, id="999", links=Links(parent_id=order.id, is_backorder_order=True)
    )
    for again in (split_original, backorder_order):
        replan = plan_split(again, stock, p)
        assert replan.outcome is Outcome.NO_CHANGE
        assert replan.lines == ()


@EXAMPLES
@given(cases())
def test_serialisation_round_trips(case: tuple[Order, dict[ProductRef, Stock], Policies]) -> None:
    order, stock, p = case
    plan = plan_split(order, stock, p)
    data = plan_to_dict(plan)
    text = json.dumps(data, allow_nan=False)
    assert plan_from_dict(json.loads(text)) == plan
    assert plan_to_dict(plan_from_dict(json.loads(text))) == data


@EXAMPLES
@given(cases())
def test_every_oversold_unit_is_alerted_and_holds_follow_the_rules(
    case: tuple[Order, dict[ProductRef, Stock], Policies],
) -> None:
    order, stock, p = case
    plan = plan_split(order, stock, p)
    alerted = {a.line_id for a in plan.alerts}
    for lp in plan.lines:
        assert lp.reason.line_id == lp.line_id
        if lp.oversold:
            assert lp.line_id in alerted
    any_oversold = any(lp.oversold for lp in plan.lines)
    expected_hold = plan.awaits_stock or (
        any_oversold and p.settings.oversold_action is OversoldAction.HOLD
    )
    assert plan.hold_original is expected_hold
    assert (plan.outcome is Outcome.HOLD) is (expected_hold and plan.outcome is not Outcome.SPLIT)
    assert plan.awaits_stock is (
        plan.outcome is Outcome.HOLD and any(lp.waiting for lp in plan.lines)
    )
    codes = [r.code for r in plan.reasons]
    assert len(codes) == len(set(codes))  # each decision is explained once
