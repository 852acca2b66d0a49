"""Composition root of the sandbox store: ``create_app(...) -> Flask``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

from sandbox.woocommerce import rest, wc_auth
from sandbox.woocommerce.errors import ApiError
from sandbox.woocommerce.store import Store

DEMO_CONSUMER_KEY = "ck_sandbox_demo"
DEMO_CONSUMER_SECRET = "cs_sandbox_demo"  # noqa: S105 - documented demo credential


def create_app(
    *,
    data_dir: str | Path | None = None,
    consumer_key: str | None = None,
    consumer_secret: str | None = None,
    seed: str | None = None,
    faults: Any = None,
    widget_url: str | None = None,
) -> Flask:
    """Build the sandbox store app: REST v3, wc-auth, storefront and admin."""
    # Imported here: the delivery/faults/storefront/admin modules belong to the delivery branch.
    from sandbox import faults as faults_module
    from sandbox.woocommerce import admin, delivery, storefront

    app = Flask(__name__)
    app.config["SANDBOX_WIDGET_URL"] = widget_url or os.environ.get("SANDBOX_WIDGET_URL", "")
    store = Store(data_dir)
    if seed:
        from sandbox.woocommerce.seed import apply_seed

        apply_seed(store, seed)
    faults_obj = faults_module.Faults(faults)
    deliverer = delivery.Deliverer(store, faults_obj)
    store.add_listener(deliverer.on_event)
    app.extensions["sandbox"] = {
        "store": store,
        "faults": faults_obj,
        "deliverer": deliverer,
        "credentials": (
            consumer_key or os.environ.get("SANDBOX_CONSUMER_KEY") or DEMO_CONSUMER_KEY,
            consumer_secret or os.environ.get("SANDBOX_CONSUMER_SECRET") or DEMO_CONSUMER_SECRET,
        ),
        "widget_url": app.config["SANDBOX_WIDGET_URL"],
    }

    @app.before_request
    def _site_url() -> None:
        # The webhook source header and permalinks use the URL the store is reached at.
        store.site_url = request.host_url

    app.register_blueprint(rest.bp, url_prefix="/wp-json/wc/v3")
    app.register_blueprint(wc_auth.bp, url_prefix="/wc-auth/v1")
    app.register_blueprint(storefront.bp, url_prefix="/")
    app.register_blueprint(admin.bp, url_prefix="/sandbox")

    def _rest_fallback(error: Any) -> Any:
        if request.path.startswith("/wp-json/"):
            body = ApiError(
                "rest_no_route", "No route was found matching the URL and request method.", 404
            ).body()
            return Response(json.dumps(body), status=404, mimetype="application/json")
        return error

    app.register_error_handler(404, _rest_fallback)
    app.register_error_handler(405, _rest_fallback)
    return app
