"""Merchant pages and the storefront widget: `init_app(app)` wires them into the web app."""

from __future__ import annotations

import datetime as dt

from flask import Flask, Response, abort, request
from flask_wtf.csrf import CSRFProtect

# Blueprints whose forms a merchant fills in (the webhooks read their raw body themselves).
_FORM_BLUEPRINTS = (
    "auth",
    "stores",
    "backorders",
    "cancellations",
    "manual_backorders",
    "products",
    "allocation",
    "connect",
    "app_connect",
    "notifications",
    "purchasing",
    "customer",
    "customer_admin",
)


def init_app(app: Flask) -> None:
    """Session cookie policy, CSRF on every form, and the merchant/storefront blueprints."""
    from web import (
        allocation,
        auth,
        backorders,
        cancellations,
        customer_admin,
        manual_backorders,
        notifications,
        products,
        purchasing,
        storefront,
        stores,
    )

    config = app.extensions["backorders"].config
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Development serves plain http on loopback; everywhere else cookies need https.
        SESSION_COOKIE_SECURE=not config.development,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=7),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    if config.development:
        # `make run` is a local demo: say how to sign in (never outside development).
        from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD

        app.config.setdefault("BACKORDERS_DEMO_HINT", f"{DEMO_EMAIL} / {DEMO_PASSWORD}")
    csrf = app.extensions.get("csrf") or CSRFProtect(app)
    # Not forms: every blueprint of webhooks/ (the platforms' deliveries and a platform's
    # app-wide addresses) is authenticated by its HMAC over the raw body, and the wc-auth
    # callback by its signed single-use state (see web/connect.py). (An app install's callback
    # is a GET, which CSRF protection never checks: the platform's signature and a single-use
    # state protect it, web/app_connect.py.)
    csrf.exempt("web.connect.wc_auth_callback")
    for blueprint in app.blueprints.values():
        if blueprint.import_name.startswith("webhooks."):
            csrf.exempt(blueprint)
    for module in (
        auth,
        stores,
        backorders,
        cancellations,
        manual_backorders,
        customer_admin,
        products,
        allocation,
        storefront,
        notifications,
        purchasing,
    ):
        app.register_blueprint(module.bp)
    csrf.exempt(storefront.bp)  # read-only public GET endpoints
    app.before_request(_refuse_nul_in_forms)
    app.after_request(_security_headers)
    app.jinja_env.globals["current_merchant"] = auth.current_merchant


def _security_headers(response: Response) -> Response:
    """No page of ours may be framed (merchant forms act on the store: clickjacking) nor
    sniffed. Every response gets the headers, so a new blueprint cannot be left out."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _refuse_nul_in_forms() -> None:
    """A form with a NUL character is refused whole (400) before anything is written: no one
    types it, and PostgreSQL's text types cannot hold it (the write would fail half done,
    e.g. after the product's setting reached the store)."""
    if request.method != "POST" or request.blueprint not in _FORM_BLUEPRINTS:
        return
    if any("\x00" in value for _key, value in request.form.items(multi=True)):
        abort(400, description="The form contains a NUL character; nothing was saved.")
