"""App install as Shopify does it: the authorization code grant (shopify.dev "Implement
authorization code grant manually").

1. The shop sends the merchant to the app's URL with ``shop``, ``host``, ``timestamp`` and
   ``hmac`` (``GET /sandbox/shopify/install?app_url=...`` starts this here).
2. The app checks the HMAC and the shop domain and redirects to
   ``https://{shop}/admin/oauth/authorize?client_id&scope&redirect_uri&state``; the shop checks
   the client id, the redirect URL against the app's allowed ones and the scopes, and asks the
   merchant (``GET``: a page with an Install button, which ``POST``s back).
3. The shop redirects to ``redirect_uri`` with ``code``, ``hmac``, ``host``, ``shop``,
   ``state`` and ``timestamp``; the app checks the state nonce, the HMAC and the shop domain.
4. The app exchanges the code (single use, valid 10 minutes here) with its client secret at
   ``POST /admin/oauth/access_token`` for an offline access token and the granted scopes.

The query HMAC is the hex HMAC-SHA256, with the client secret, of the query's other parameters
sorted by name and joined as ``name=value&...``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.utils import redirect

from sandbox.shopify.apps import KNOWN_SCOPES, AppConfig

bp = Blueprint("shopify_oauth", __name__, template_folder="templates")

CODE_SECONDS = 600
_SHOP_DOMAIN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")


def is_shop_domain(value: str) -> bool:
    """Whether `value` is a ``*.myshopify.com`` shop domain (what an app must check)."""
    return bool(_SHOP_DOMAIN.match(value or ""))


def query_hmac(params: Mapping[str, str], secret: str) -> str:
    """The ``hmac`` of a query: hex HMAC-SHA256 of the sorted ``k=v`` pairs but ``hmac``."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query(params: Mapping[str, str], secret: str) -> bool:
    """Whether a query's ``hmac`` matches its other parameters (constant time)."""
    given = params.get("hmac", "")
    return hmac.compare_digest(query_hmac(params, secret), given)


def signed_query(params: dict[str, str], secret: str) -> str:
    """``params`` with their ``hmac`` added, URL-encoded."""
    return urlencode({**params, "hmac": query_hmac(params, secret)})


def _host(domain: str) -> str:
    # ``host``: base64 of the shop's admin URL without scheme.
    name = domain.split(".", 1)[0]
    return base64.b64encode(f"admin.shopify.com/store/{name}".encode()).decode().rstrip("=")


def _state() -> Any:
    return current_app.extensions["shopify_sandbox"]


def _error_page(message: str, status: int = 400) -> tuple[str, int]:
    return render_template("shopify/oauth_error.html", message=message), status


def _check_authorize(args: Mapping[str, str]) -> tuple[AppConfig, list[str]] | str:
    """The app and scopes of an authorize request, or the reason it is refused."""
    app = _state().apps.by_client_id.get(args.get("client_id", ""))
    if app is None:
        return "Oauth error invalid_request: The client_id is invalid."
    redirect_uri = args.get("redirect_uri", "")
    allowed = any(
        redirect_uri == url or redirect_uri.startswith(url.rstrip("/") + "/")
        for url in app.redirect_urls
    )
    if not redirect_uri or not allowed:
        return "Oauth error invalid_request: The redirect_uri is not whitelisted"
    scopes = [s.strip() for s in args.get("scope", "").split(",") if s.strip()]
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        return f"Oauth error invalid_scope: Scope(s) not recognized: {', '.join(unknown)}"
    return app, scopes


@bp.get("/admin/oauth/authorize")
def authorize() -> Any:
    """The merchant's consent page for an app's requested scopes."""
    checked = _check_authorize(request.args)
    if isinstance(checked, str):
        return _error_page(checked)
    app, scopes = checked
    return render_template(
        "shopify/authorize.html",
        app=app,
        scopes=scopes,
        params=dict(request.args),
        shop=_state().shop.info,
    )


@bp.post("/admin/oauth/authorize")
def approve() -> Any:
    """The merchant installs: redirect to the app with a code and a signed query."""
    checked = _check_authorize(request.form)
    if isinstance(checked, str):
        return _error_page(checked)
    app, scopes = checked
    state = _state()
    code = secrets.token_hex(16)
    state.oauth_codes[code] = {
        "client_id": app.client_id,
        "scopes": scopes,
        "expires": time.monotonic() + CODE_SECONDS,
    }
    params = {
        "code": code,
        "host": _host(state.shop.info.domain),
        "shop": state.shop.info.domain,
        "state": request.form.get("state", ""),
        "timestamp": str(int(time.time())),
    }
    target = request.form["redirect_uri"]
    separator = "&" if urlsplit(target).query else "?"
    return redirect(target + separator + signed_query(params, app.client_secret), code=302)


@bp.post("/admin/oauth/access_token")
def access_token() -> Any:
    """Exchange an authorization code for an offline access token."""
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data if isinstance(data, Mapping) else {}
    state = _state()
    app = state.apps.by_client_id.get(str(data.get("client_id", "")))
    secret = str(data.get("client_secret", ""))
    if app is None or not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
        return jsonify(
            {"error": "invalid_client", "error_description": "Client authentication failed"}
        ), 401
    grant = state.oauth_codes.pop(str(data.get("code", "")), None)
    if grant is None or grant["client_id"] != app.client_id or grant["expires"] < time.monotonic():
        return jsonify(
            {
                "error": "invalid_request",
                "error_description": "The authorization code was not found or was already used",
            }
        ), 400
    token = state.apps.grant(app, grant["scopes"])
    return jsonify({"access_token": token, "scope": ",".join(grant["scopes"])})


@bp.get("/sandbox/shopify/install")
def start_install() -> Any:
    """Send the merchant to an app's URL to install it, as the shop's app store does."""
    state = _state()
    app = state.apps.by_client_id.get(request.args.get("client_id", "")) or next(
        (a for a in state.apps.by_id.values() if a.redirect_urls), None
    )
    app_url = request.args.get("app_url", "")
    if app is None or urlsplit(app_url).scheme not in ("http", "https"):
        return _error_page("expected ?app_url=<the app's install URL> (and client_id=)")
    params = {
        "host": _host(state.shop.info.domain),
        "shop": state.shop.info.domain,
        "timestamp": str(int(time.time())),
    }
    separator = "&" if urlsplit(app_url).query else "?"
    return redirect(app_url + separator + signed_query(params, app.client_secret), code=302)
