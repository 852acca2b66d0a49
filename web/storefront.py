"""The storefront widget and its public availability JSON."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("storefront_widget", __name__)
