"""Put units of an order on backorder by hand (issue 14): a confirmation form on the order's page
in the merchant app, then one worker job (jobs/manual_splitting.py) splits the order with the
chosen units (plugin/usecases/manual_splitting.py). The form is checked against the order as the
store has it now; a refused one writes nothing and queues nothing."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

import redis
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from plugin.adapters.queue.jobs import enqueue_manual_split
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import Order, Reason
from plugin.core.rules import status_name
from plugin.errors import BackordersError
from plugin.ports import Platform
from plugin.usecases.manual_splitting import ManualSplitRefused, check_manual_split, refusals
from web.auth import current_merchant, login_required, owned_store, services, store_platform
from web.inputs import is_numeric_id, whole_number

logger = logging.getLogger(__name__)

bp = Blueprint("manual_backorders", __name__)

FIELD = "units-"
# A platform's line id as a form field names it (WooCommerce: digits; others: GIDs).
LINE_ID = re.compile(r"[A-Za-z0-9_:/.-]{1,100}")
MAX_UNITS = 10**9


def _back(store: StoreRecord, order_id: str) -> BaseResponse:
    return redirect(url_for("backorders.order", store_id=store.id, order_id=order_id), 303)


def _read(store: StoreRecord, order_id: str) -> tuple[Platform, Order]:
    """The order as the store has it now (short timeout: a page is waiting)."""
    platform = store_platform(store, timeout=5)
    return platform, platform.get_order(order_id)


def _page(
    store: StoreRecord,
    order: Order,
    refused: Sequence[Reason] = (),
    *,
    errors: Mapping[str, str] | None = None,
    entered: Mapping[str, str] | None = None,
    problems: Sequence[Reason] = (),
) -> str:
    return render_template(
        "backorders/manual.html",
        store=store,
        order=order,
        status=status_name(order.status),
        refused=refused,
        problems=problems,
        errors=errors or {},
        entered=entered or {},
        field=FIELD,
    )


def _parse(order: Order) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """Units per line id from the form, the form's errors per field, and what was typed."""
    quantities = {line.line_id: line.quantity for line in order.lines}
    units: dict[str, int] = {}
    errors: dict[str, str] = {}
    entered: dict[str, str] = {}
    for name, raw in request.form.items():
        if not name.startswith(FIELD):
            continue
        line_id = name.removeprefix(FIELD)
        if LINE_ID.fullmatch(line_id) is None:
            errors["form"] = "The form names a line that is not on this order."
            continue
        text = raw.strip()
        entered[line_id] = text[:20]
        value = whole_number(text, maximum=MAX_UNITS) if text else 0
        if value is None:
            top = quantities.get(line_id)
            errors[line_id] = "Enter a whole number of units" + (
                f" from 0 to {top}." if top is not None else "."
            )
            continue
        units[line_id] = value
    if request.form.get("confirm") != "yes":
        errors["confirm"] = "Confirm that these units are set aside and go on backorder."
    return units, errors, entered


@bp.route(
    "/stores/<int:store_id>/orders/<order_id>/backorder-by-hand", methods=["GET", "POST"]
)  # one rule for both methods (see web/cancellations.py)
@login_required
def backorder_by_hand(store_id: int, order_id: str) -> BaseResponse | str | tuple[str, int]:
    """GET: the order's lines, each with the units to put on backorder. POST: check them
    against the order as the store has it now and queue the job that splits it."""
    store = owned_store(store_id)
    if not is_numeric_id(order_id):
        abort(404)
    state = services()
    ledger = SqlSplitLedger(state.db)
    policies = SqlPolicyStore(state.db)
    try:
        platform, order = _read(store, order_id)
    except BackordersError as exc:
        flash(f"The store could not be read ({exc.reason}); nothing was changed.", "error")
        return _back(store, order_id)
    settings = policies.policies_for(store.id, order).settings
    refused = refusals(store.id, order, platform=platform, ledger=ledger, settings=settings)
    if request.method == "GET" or refused:
        page = _page(store, order, refused)
        return (page, 409) if refused and request.method == "POST" else page
    units, errors, entered = _parse(order)
    if errors:
        return _page(store, order, errors=errors, entered=entered), 400
    merchant = current_merchant()
    assert merchant is not None  # login_required
    try:
        plan, order, _set_aside = check_manual_split(
            store.id, order_id, units, requested_by=merchant.email, platform=platform,
            ledger=ledger, policies=policies,
        )  # fmt: skip
    except ManualSplitRefused as refusal:
        return _page(store, order, problems=refusal.reasons, entered=entered), 400
    except BackordersError as exc:
        flash(f"The store could not be read ({exc.reason}); nothing was changed.", "error")
        return _back(store, order_id)
    chosen = {line_id: n for line_id, n in units.items() if n}
    try:
        queued = enqueue_manual_split(state.redis, store.id, order_id, chosen, merchant.email)
    except redis.RedisError:
        flash("The job queue is unavailable: nothing was put on backorder. Try again shortly.",
              "error")  # fmt: skip
        return _back(store, order_id)
    if not queued:
        flash(
            f"Units of order #{order_id} are already being put on backorder; nothing else "
            "was queued.",
            "error",
        )
        return _back(store, order_id)
    names = {line.line_id: line.name for line in order.lines}
    what = ", ".join(f"{n} × {names.get(line_id, line_id)}" for line_id, n in chosen.items())
    SqlAuditLog(state.db).record(
        store.id, order_id, "decision",
        f"{merchant.email} asked to put {what} on backorder by hand (backorder order "
        f"{plan.backorder_number}).",
        requested_by=merchant.email, units=chosen,
    )  # fmt: skip
    flash(
        f"{what} of order #{order_id} are being put on backorder as {plan.backorder_number}; "
        "this page shows the result in a few seconds.",
        "ok",
    )
    logger.info("event=backorder_by_hand store_id=%s order=%s", store.id, order_id)
    return _back(store, order_id)
