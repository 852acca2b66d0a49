"""Open backorders of a store, and each order's audit trail."""

from __future__ import annotations

from flask import Blueprint

from web.auth import login_required, owned_store

bp = Blueprint("backorders", __name__)


@bp.get("/stores/<int:store_id>/backorders")
@login_required
def index(store_id: int) -> str:
    """Every open backorder line."""
    owned_store(store_id)
    return ""


@bp.get("/stores/<int:store_id>/orders/<order_id>")
@login_required
def order(store_id: int, order_id: str) -> str:
    """One order's audit trail."""
    owned_store(store_id)
    return ""
