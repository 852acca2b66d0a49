"""Allocation preview: "if N units of this product arrive, these backorders get them, in this
order, because ..."; release now (queues the allocation job) and move a backorder up."""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from plugin.adapters.queue.jobs import enqueue_allocation
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductRef
from plugin.errors import BackordersError
from plugin.usecases.releasing import Preview, preview_allocation
from web.auth import login_required, owned_store, services, store_platform
from web.inputs import is_numeric_id, is_order_id, whole_number

logger = logging.getLogger(__name__)

bp = Blueprint("allocation", __name__)

MAX_UNITS = 1_000_000


def _product(product_id: str) -> str:
    if not is_numeric_id(product_id):
        abort(404)
    return product_id


def _preview(store: StoreRecord, product_id: str, units: int) -> Preview:
    db = services().db
    ledger = SqlReleaseLedger(db)
    return preview_allocation(
        store.id,
        product_id,
        units,
        platform=store_platform(store),
        releases=ledger,
        policies=SqlPolicyStore(db),
        priority_bumps=ledger.bumps(store.id),
    )


def _back(store: StoreRecord, product_id: str) -> BaseResponse:
    units = whole_number(request.form.get("units", "0"), maximum=MAX_UNITS) or 0
    target = url_for("allocation.preview", store_id=store.id, product_id=product_id, units=units)
    return redirect(target, 303)


@bp.get("/stores/<int:store_id>/products/<product_id>/allocation")
@login_required
def preview(store_id: int, product_id: str) -> tuple[str, int]:
    """Who gets `units` arriving units of the product, in which order, and why."""
    store = owned_store(store_id)
    product_id = _product(product_id)
    raw = request.args.get("units", "0").strip()
    result = None
    units = whole_number(raw, maximum=MAX_UNITS)
    if units is None:
        error: str | None = f"Units must be a whole number from 0 to {MAX_UNITS}."
        status = 400
    else:
        error, status = None, 200
        try:
            result = _preview(store, product_id, units)
        except BackordersError as exc:
            logger.warning("allocation preview store=%s failed reason=%s", store.id, exc.reason)
            error, status = f"The store could not be read: {exc.reason}.", 502
    return render_template(
        "allocation/preview.html",
        store=store,
        product_id=product_id,
        units=raw,
        preview=result,
        error=error,
    ), status


@bp.post("/stores/<int:store_id>/products/<product_id>/allocation/release")
@login_required
def release_now(store_id: int, product_id: str) -> BaseResponse:
    """Queue the allocation job now: what the stock covers is released, in the shown order."""
    store = owned_store(store_id)
    product_id = _product(product_id)
    try:
        queued = enqueue_allocation(services().redis, store.id, product_id)
        flash(
            f"Release of product {product_id} is queued."
            if queued
            else f"A release of product {product_id} is already queued.",
            "ok",
        )
    except redis.RedisError:
        flash("The queue is not reachable; try again in a moment.", "error")
    logger.info("event=release_now store_id=%s product=%s", store.id, product_id)
    return _back(store, product_id)


@bp.post("/stores/<int:store_id>/products/<product_id>/allocation/move-up")
@login_required
def move_up(store_id: int, product_id: str) -> BaseResponse:
    """Give a backorder order just enough priority to pass the order served before it."""
    store = owned_store(store_id)
    product_id = _product(product_id)
    order_id = request.form.get("order_id", "")
    ledger = SqlReleaseLedger(services().db)
    if not is_order_id(order_id) or order_id not in ledger.backorder_orders_for(
        store.id, ProductRef(product_id)
    ):
        abort(404)
    try:
        result = _preview(store, product_id, 0)
    except BackordersError as exc:
        flash(f"The store could not be read: {exc.reason}.", "error")
        return _back(store, product_id)
    ranked = [r.order_id for r in result.ranking]
    if order_id not in ranked:
        abort(404)  # released or cancelled meanwhile
    place = ranked.index(order_id)
    if place == 0:
        flash(f"Order {order_id} is already served first.", "ok")
        return _back(store, product_id)
    ahead = result.orders[ranked[place - 1]]
    own = result.orders[order_id]
    bumps = ledger.bumps(store.id)
    ledger.set_bump(store.id, order_id, bumps.get(order_id, 0) + ahead.priority - own.priority + 1)
    flash(f"Order {order_id} now comes before order {ahead.number or ahead.order_id}.", "ok")
    logger.info("event=move_up store_id=%s product=%s order=%s", store.id, product_id, order_id)
    return _back(store, product_id)
