"""Products and customers of a store."""

from __future__ import annotations

from flask import Blueprint

from web.auth import login_required, owned_store

bp = Blueprint("products", __name__)


@bp.get("/stores/<int:store_id>/products")
@login_required
def index(store_id: int) -> str:
    """Products with their backorder policy."""
    owned_store(store_id)
    return ""


@bp.get("/stores/<int:store_id>/customers")
@login_required
def customers(store_id: int) -> str:
    """Customers with their delivery condition and priority."""
    owned_store(store_id)
    return ""
