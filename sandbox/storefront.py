"""The sandbox store's HTML shop (work in progress; ids documented when complete)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "storefront",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
