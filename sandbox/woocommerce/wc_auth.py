"""The ``/wc-auth/v1/authorize`` app key flow (authentication.md, "Generating API keys")."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from flask import Blueprint, current_app, redirect, render_template_string, request
from flask.typing import ResponseReturnValue

from sandbox.woocommerce.store import Store

logger = logging.getLogger(__name__)

bp = Blueprint("sandbox_wc_auth", __name__)

SCOPES = ("read", "write", "read_write")
# class-wc-auth.php posts the keys and waits for the app; a dead callback must not hang us.
CALLBACK_TIMEOUT_SECONDS = 10

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sandbox store &rsaquo; Authorize</title></head>
<body>
<h1>{{ app_name }} would like to connect to your store</h1>
{% if error %}<p class="error" id="error">{{ error }}</p>{% else %}
<p>This will give "{{ app_name }}" <strong>{{ permission }}</strong> access.</p>
<form method="post" action="{{ url_for('sandbox_wc_auth.access_granted') }}">
  {% for key, value in params.items() %}
  <input type="hidden" name="{{ key }}" value="{{ value }}">{% endfor %}
  <button type="submit" name="decision" value="approve" id="approve">Approve</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>{% endif %}
</body></html>"""

_PERMISSIONS = {"read": "Read", "write": "Write", "read_write": "Read/Write"}
_PARAMS = ("app_name", "scope", "user_id", "return_url", "callback_url")


def _validate(params: dict[str, str]) -> str | None:
    """class-wc-auth.php: the messages it shows for a bad request."""
    for name in _PARAMS:
        if not params.get(name):
            return f"Missing parameter {name}"
    if params["scope"] not in SCOPES:
        return "Invalid scope " + params["scope"]
    for name in ("return_url", "callback_url"):
        if urlsplit(params[name]).scheme not in ("http", "https"):
            # WooCommerce requires an https callback_url; the loopback sandbox accepts http.
            return f"The {name} is not a valid URL"
    return None


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@bp.get("/authorize")
def authorize() -> ResponseReturnValue:
    """The approval page a merchant sees."""
    params = {name: request.args.get(name, "") for name in _PARAMS}
    error = _validate(params)
    page = render_template_string(
        _PAGE,
        app_name=params["app_name"] or "An app",
        permission=_PERMISSIONS.get(params["scope"], ""),
        params=params,
        error=error,
    )
    return (page, 400) if error else page


@bp.post("/access_granted")
def access_granted() -> ResponseReturnValue:
    """Approve: create keys, POST them as JSON to callback_url, redirect to return_url."""
    params = {name: request.form.get(name, "") for name in _PARAMS}
    error = _validate(params)
    if error:
        return error, 400
    if request.form.get("decision") != "approve":
        return redirect(
            _with_query(params["return_url"], {"success": "0", "user_id": params["user_id"]})
        )
    store: Store = current_app.extensions["sandbox"]["store"]
    key = store.create_api_key(
        app_name=params["app_name"], user_id=params["user_id"], scope=params["scope"]
    )
    payload = {
        "key_id": key["key_id"],
        "user_id": params["user_id"],
        "consumer_key": key["consumer_key"],
        "consumer_secret": key["consumer_secret"],
        "key_permissions": params["scope"],
    }
    try:
        answer = requests.post(
            params["callback_url"], json=payload, timeout=CALLBACK_TIMEOUT_SECONDS
        )
        delivered = answer.status_code == 200
    except requests.RequestException:
        delivered = False
    if not delivered:
        # class-wc-auth.php: the keys are revoked when the callback does not answer 200.
        logger.warning("wc_auth_callback_failed app=%s", params["app_name"])
        store.revoke_api_key(key["id"])
        return (
            "An error occurred in the request and at the time were unable to send the "
            "consumer data",
            401,
        )
    return redirect(
        _with_query(params["return_url"], {"success": "1", "user_id": params["user_id"]})
    )
