"""Use case: the merchant puts a chosen number of units of an order's lines on backorder by hand
(issue 14, "Manual backorder quantity"), even when the store has stock for them (damaged or
reserved units).

It is a split like any other (`plugin/usecases/splitting.py`): planned by the core
(`core.split.plan_manual_split`, the merchant's units instead of the stock's decision), recorded
in the split ledger under the order's split key (`1042:1`, numbered `1042-001`), written through
the same recorded steps (plugin/steps.py), with its money, payment reasons, customer e-mail and
audit trail. Two things are its own:

- The units set aside leave the store's stock figure. The split itself changes no figure (the
  backorder order takes the units the original gives back, README "Stock accounting"), so
  without this the units the merchant just said cannot ship would count as free, and allocation
  would release the backorder order at once from them. Taking them out keeps the rule that the
  figure plus the units waiting on backorder is what is free: the backorder order waits for
  stock that arrives (a receipt, a restock), like any other. The figure is read when planning
  (`base`) and the target (`base - units`) recorded with the plan; the write checks the figure
  first: at the target it was written already (a retry), at the base it is written now, anything
  else means the figure also moved for another reason, so nothing is written and the merchant
  is told to set the units aside by hand. The job holds the allocation locks of the order's
  products throughout, so no allocation reads the figure in between.
- Both orders get a private note naming the merchant, and the decision in the audit trail too.

Refused, with the core's reasons and nothing written, when the order is not eligible (status,
store switched off, already split, itself a backorder order), has a split or a hold recorded (in
progress or done), or the units do not fit its lines.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from plugin.core.model import Order, Outcome, Plan, ProductRef, Reason, StoreSettings
from plugin.core.rules import eligibility, product_label
from plugin.core.serialize import plan_to_dict, ref_to_dict
from plugin.core.split import plan_manual_split
from plugin.ports import (
    SPLIT_FINISHED,
    Alerts,
    AuditLog,
    PolicyStore,
    SplitLedger,
    SplitNotifier,
    SplitPlatform,
    StockSetAside,
)
from plugin.usecases.setting_aside import manual_record
from plugin.usecases.splitting import EventResult, carry_out_split, failures_recorded

log = logging.getLogger(__name__)


class ManualSplitRefused(Exception):
    """The units cannot be put on backorder; `reasons` say why. Nothing was written."""

    def __init__(self, reasons: Sequence[Reason]) -> None:
        super().__init__(" ".join(r.message for r in reasons))
        self.reasons = tuple(reasons)


def refusals(
    store_id: int,
    order: Order,
    *,
    platform: SplitPlatform,
    ledger: SplitLedger,
    settings: StoreSettings,
) -> tuple[Reason, ...]:
    """Why no units of `order` may be put on backorder by hand, whatever the units; empty when
    they may."""
    if not isinstance(platform, StockSetAside):
        return (
            Reason(
                "stock_not_settable",
                "This store's platform does not let Backorders set a stock figure, so "
                "units cannot be set aside and put on backorder by hand.",
            ),
        )
    records = ledger.for_order(store_id, order.id)
    if records:
        record = records[0]
        what = "is in progress" if record.state not in SPLIT_FINISHED else f"is {record.state}"
        return (
            Reason(
                "split_recorded",
                f"Order {order.number} already has a split or a backorder order: "
                f"{record.split_key} {what}. Only an order that was never split may have "
                "units put on backorder by hand.",
            ),
        )
    eligible, reason = eligibility(order, settings)
    return () if eligible else (reason,)


def check_manual_split(
    store_id: int,
    order_id: str,
    units: Mapping[str, int],
    *,
    requested_by: str,
    platform: SplitPlatform,
    ledger: SplitLedger,
    policies: PolicyStore,
) -> tuple[Plan, Order, list[dict[str, Any]]]:
    """The plan of putting `units` (per line id) of order `order_id` on backorder, with the
    order read now, and the stock figures to set aside (`_set_aside_plan`); raises
    ManualSplitRefused with the reasons when it may not be done."""
    order = platform.get_order(order_id)
    settings = policies.policies_for(store_id, order).settings
    refused = refusals(store_id, order, platform=platform, ledger=ledger, settings=settings)
    if refused:
        raise ManualSplitRefused(refused)
    plan = plan_manual_split(order, units, settings, requested_by=requested_by)
    if plan.outcome is not Outcome.SPLIT:
        raise ManualSplitRefused(plan.reasons)
    return plan, order, _set_aside_plan(platform, order, plan)


def split_by_hand(
    store_id: int,
    order_id: str,
    units: Mapping[str, int],
    *,
    requested_by: str,
    platform: SplitPlatform,
    ledger: SplitLedger,
    policies: PolicyStore,
    audit: AuditLog,
    alerts: Alerts,
    notifier: SplitNotifier | None = None,
) -> EventResult:
    """Carry out the merchant's manual backorder of `units` per line id, once: a retry resumes
    the recorded split; anything else already recorded for the order refuses it. Transient
    errors are audited and raised (the job retries), permanent ones recorded for the merchant
    (as for any split) and raised."""
    with failures_recorded(store_id, order_id, ledger, audit, alerts):
        for record in ledger.for_order(store_id, order_id):
            if record.original_order_id == order_id and manual_record(record.plan) is not None:
                # This request's own split (the job retried after a crash): finish it.
                if record.state in SPLIT_FINISHED:
                    return EventResult("ignored", order_id, split_key=record.split_key)
                order = platform.get_order(order_id)
                return carry_out_split(
                    store_id, order, record, platform, ledger,
                    policies.policies_for(store_id, order), audit, notifier, alerts,
                )  # fmt: skip
        try:
            plan, order, set_aside = check_manual_split(
                store_id, order_id, units, requested_by=requested_by, platform=platform,
                ledger=ledger, policies=policies,
            )  # fmt: skip
        except ManualSplitRefused as refusal:
            audit.record(
                store_id, order_id, "decision",
                f"Putting units on backorder by hand, as {requested_by} asked, was refused; "
                f"nothing was changed: {refusal}",
                requested_by=requested_by,
                reasons=[{"code": r.code, "message": r.message} for r in refusal.reasons],
            )  # fmt: skip
            log.info("manual split refused store=%s order=%s: %s", store_id, order_id, refusal)
            return EventResult("refused", order_id, detail=str(refusal))
        names = {line.line_id: line.name for line in order.lines}
        audit.record(
            store_id, order_id, "decision",
            f"{requested_by} put {sum(lp.backorder for lp in plan.lines)} units on backorder by "
            f"hand: backorder order {plan.backorder_number}.",
            outcome=plan.outcome.value, split_key=plan.split_key, requested_by=requested_by,
            reasons=[
                {"code": r.code, "message": r.message, "line_id": r.line_id} for r in plan.reasons
            ],
            lines=[
                {"line_id": lp.line_id, "product": names.get(lp.line_id, ""), "ordered": lp.ordered,
                 "keep": lp.keep, "backorder": lp.backorder, "oversold": 0}
                for lp in plan.lines
            ],
            set_aside=set_aside,
        )  # fmt: skip
        assert plan.split_key is not None  # a SPLIT plan carries its key
        recorded = {
            **plan_to_dict(plan),
            "manual": {"requested_by": requested_by, "set_aside": set_aside},
        }
        record = ledger.start(store_id, order_id, plan.split_key, recorded)
        if record.state in SPLIT_FINISHED:
            return EventResult("ignored", order_id, split_key=record.split_key, detail=record.state)
        return carry_out_split(
            store_id, order, record, platform, ledger, policies.policies_for(store_id, order),
            audit, notifier, alerts,
        )  # fmt: skip


def _set_aside_plan(platform: SplitPlatform, order: Order, plan: Plan) -> list[dict[str, Any]]:
    """Per stock figure the plan's moved units draw on: the units, the figure now (`base`) and
    the figure to write (`base - units`). A figure the store does not count is left out.

    The split itself must leave each figure as it is, which it does when the order has taken
    all its units from the figure (the backorder order takes again what the original gives
    back, README "Stock accounting"). An order that has not (WooCommerce's pending payment
    takes no stock) is refused: its split would take the units itself and the base recorded
    here would no longer tell a written figure from a moved one. `Stock.available` is the
    figure plus what the order took (`plugin.core.model.Stock`)."""
    assert isinstance(platform, StockSetAside)  # checked by `refusals`
    stock = platform.get_stock(order)
    ordered: dict[ProductRef, int] = {}
    for line in order.lines:
        item = stock.get(line.ref)
        if item is not None and item.managed:
            ordered[item.pool_ref] = ordered.get(item.pool_ref, 0) + line.quantity
    entries: dict[ProductRef, dict[str, Any]] = {}
    lines = {line.line_id: line for line in order.lines}
    for lp in plan.lines:
        if not lp.backorder:
            continue
        figure = platform.stock_figure(lp.ref)
        item = stock.get(lp.ref)
        if figure.quantity is None or item is None or not item.managed:
            continue
        taken = item.available - figure.quantity
        # The line names its figure only when the figure is its own (not a parent's shared
        # stock, which its variation's name would misname).
        named = lines.get(lp.line_id) if figure.pool == lp.ref else None
        name, sku = (named.name, named.sku) if named is not None else ("", "")
        if taken < ordered.get(figure.pool, 0):
            raise ManualSplitRefused(
                [
                    Reason(
                        "stock_not_taken",
                        f"Order {order.number} has not taken its units of "
                        f"{product_label(name, sku, figure.pool)} from the store's stock yet "
                        "(e.g. it awaits "
                        "payment): put units on backorder by hand once it has.",
                        lp.line_id,
                    )
                ]
            )
        entry = entries.setdefault(
            figure.pool,
            {"pool": ref_to_dict(figure.pool), "units": 0, "base": figure.quantity}
            | ({"name": name, "sku": sku} if name else {}),
        )
        entry["units"] += lp.backorder
    for entry in entries.values():
        entry["target"] = entry["base"] - entry["units"]
    return list(entries.values())
