"""Minimal merchant pages to connect and disconnect a WooCommerce store.

Server-rendered, every form CSRF-protected by Flask-WTF. The WooCommerce callback is the one
exception: the store posts JSON server-to-server, so it carries no CSRF token; it is
authenticated by the signed single-use state in its URL instead (see plugin/usecases/connecting.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template_string,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from plugin.adapters.redis.nonces import RedisNonceClaims
from plugin.errors import BackordersError, ConnectError
from plugin.ports import PlatformDriver
from plugin.usecases.connecting import (
    AuthorizationStates,
    accept_app_keys,
    connect_store,
    disconnect_store,
    validate_store_url,
)
from web.auth import current_merchant, login_required, owned_store, verified_required

logger = logging.getLogger(__name__)

bp = Blueprint("connect", __name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect a store - Backorders</title></head>
<body>
<p class="tabs"><strong id="tab-woocommerce">WooCommerce</strong>
  {%- for name, label in account_platforms %} ·
  <a href="{{ url_for('app_connect.page', platform=name) }}" id="tab-{{ name }}">{{ label }}</a>
  {%- endfor %}</p>
<h1>Connect a WooCommerce store</h1>
{% for category, message in get_flashed_messages(with_categories=true) %}
  <p class="flash {{ category }}" role="{{ 'alert' if category == 'error' else 'status' }}">
    {{ message }}</p>
{% endfor %}
<h2>With REST API keys</h2>
<p>In WooCommerce: Settings &rsaquo; Advanced &rsaquo; REST API &rsaquo; Add key, with
Read/Write access.</p>
<form method="post" action="{{ url_for('connect.connect_form') }}" id="keys-form">
  {{ keys_form.csrf_token }}
  <input type="hidden" name="action" value="keys">
  <p><label>Store URL {{ keys_form.store_url(size=50, placeholder="https://shop.example.com") }}
  </label></p>
  <p><label>Consumer key {{ keys_form.consumer_key(size=50) }}</label></p>
  <p><label>Consumer secret {{ keys_form.consumer_secret(size=50) }}</label></p>
  {% for field in keys_form if field.errors %}{% for e in field.errors %}
    <p class="error">{{ field.label.text }}: {{ e }}</p>{% endfor %}{% endfor %}
  <p><button type="submit">Connect</button></p>
</form>
<h2>Or let the store create the keys</h2>
<form method="post" action="{{ url_for('connect.connect_form') }}" id="authorize-form">
  {{ authorize_form.csrf_token }}
  <input type="hidden" name="action" value="authorize">
  <p><label>Store URL {{ authorize_form.store_url(size=50) }}</label></p>
  {% for e in authorize_form.store_url.errors %}<p class="error">{{ e }}</p>{% endfor %}
  <p><button type="submit">Authorize in WooCommerce</button></p>
</form>
<h2>Connected stores</h2>
<table>
  <tr><th>id</th><th>store</th><th>status</th><th>webhooks</th><th></th></tr>
  {% for store in stores %}
  <tr id="store-{{ store.id }}">
    <td>{{ store.id }}</td><td>{{ store.base_url }}</td><td>{{ store.status }}</td>
    <td>{{ store.webhook_ids|join(", ") }}</td>
    <td>{% if store.status == "connected" %}
      <form method="post" action="{{ url_for('connect.disconnect', store_id=store.id) }}">
        {{ disconnect_form.csrf_token }}<button type="submit">Disconnect</button></form>
    {% endif %}</td>
  </tr>
  {% endfor %}
</table>
</body></html>
"""


class KeysForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    store_url = StringField("Store URL", validators=[DataRequired(), Length(max=2000)])
    consumer_key = StringField("Consumer key", validators=[DataRequired(), Length(max=200)])
    consumer_secret = PasswordField("Consumer secret", validators=[DataRequired(), Length(max=200)])


class AuthorizeForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    store_url = StringField("Store URL", validators=[DataRequired(), Length(max=2000)])


class DisconnectForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    """Only the CSRF token."""


# The platform these pages connect (its app authorization is the `/wc-auth/` flow below).
PLATFORM = "woocommerce"


@dataclass(frozen=True)
class _Services:
    stores: Any  # plugin.adapters.sql.stores.StoreRepository
    redis: Any
    registry: Any  # plugin.platforms.registry.Registry
    public_url: str
    development: bool
    secret_key: str

    @property
    def driver(self) -> PlatformDriver:
        driver: PlatformDriver = self.registry.driver(PLATFORM)
        return driver


def _services() -> _Services:
    services = current_app.extensions["backorders"]
    config = services.config
    return _Services(
        stores=services.stores,
        redis=services.redis,
        registry=services.registry,
        public_url=config.public_url,
        development=config.development,
        secret_key=config.secret_key,
    )


def _states(services: _Services) -> AuthorizationStates:
    return AuthorizationStates(services.secret_key, RedisNonceClaims(services.redis))


def _exempt_callback(app: Any) -> None:
    # The callback is server-to-server JSON; if the app protects every POST with Flask-WTF's
    # CSRFProtect, take this one view out (its signed single-use state authenticates it).
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(wc_auth_callback)  # idempotent: adds the view's name to a set


@bp.record_once
def _exempt_callback_from_csrf(state: BlueprintSetupState) -> None:
    _exempt_callback(state.app)  # CSRFProtect was set up before this blueprint


@bp.before_app_request
def _exempt_callback_late() -> None:
    # CSRFProtect set up after this blueprint registers its check after this hook, so
    # exempting here, before its check runs, covers that order too.
    _exempt_callback(current_app)


def _page(keys_form: KeysForm, authorize_form: AuthorizeForm, status: int = 200) -> tuple[str, int]:
    merchant = current_merchant()
    services = _services()
    stores = services.stores.list(merchant_id=merchant.id if merchant else -1)
    drivers = [services.registry.driver(name) for name in services.registry.names()]
    html = render_template_string(
        _PAGE,
        # The platforms whose accounts are connected on their own page (web/app_connect.py).
        account_platforms=[(d.name, d.label) for d in drivers if d.account_page is not None],
        keys_form=keys_form,
        authorize_form=authorize_form,
        disconnect_form=DisconnectForm(),
        stores=stores,
    )
    return html, status


@bp.route("/stores/connect", methods=["GET", "POST"])
@login_required
@verified_required
def connect_form() -> BaseResponse | tuple[str, int]:
    """Show the connect page; POST connects with keys or starts the authorize flow."""
    action = request.form.get("action", "keys") if request.method == "POST" else None
    keys_form = (
        KeysForm(prefix="keys")
        if action in (None, "keys")
        else KeysForm(prefix="keys", formdata=None)
    )
    authorize_form = (
        AuthorizeForm(prefix="authorize")
        if action in (None, "authorize")
        else AuthorizeForm(prefix="authorize", formdata=None)
    )
    if request.method == "GET":
        if request.args.get("success") == "1":
            flash("WooCommerce sent the keys; the store is connected if it appears below.", "ok")
        elif request.args.get("success") == "0":
            flash("The authorization was denied in WooCommerce; nothing was connected.", "error")
        return _page(keys_form, authorize_form)
    services = _services()
    if action == "authorize":
        if not authorize_form.validate_on_submit():
            return _page(keys_form, authorize_form, 400)
        try:
            store_url = validate_store_url(
                authorize_form.store_url.data or "", development=services.development
            )
        except ConnectError as exc:
            authorize_form.store_url.errors = [str(exc)]
            return _page(keys_form, authorize_form, 400)
        merchant = current_merchant()
        state = _states(services).issue(store_url, merchant_id=merchant.id if merchant else None)
        location = services.driver.authorize_url(
            store_url,
            state=state,
            return_url=f"{services.public_url}{url_for('connect.connect_form')}",
            callback_url=f"{services.public_url}{url_for('connect.wc_auth_callback', state=state)}",
        )
        return redirect(location, code=303)
    if not keys_form.validate_on_submit():
        return _page(keys_form, authorize_form, 400)
    try:
        store_id = connect_store(
            services.stores,
            keys_form.store_url.data or "",
            keys_form.consumer_key.data or "",
            keys_form.consumer_secret.data or "",
            driver=services.driver,
            public_url=services.public_url,
            development=services.development,
            merchant_id=merchant.id if (merchant := current_merchant()) else None,
        )
    except BackordersError as exc:
        logger.info("store connect refused reason=%s", exc.reason)
        keys_form.store_url.errors = [connect_error_message(exc)]
        return _page(keys_form, authorize_form, 400)
    flash(f"Store {store_id} connected; its webhooks are registered.", "ok")
    return redirect(url_for("connect.connect_form"), code=303)


@bp.post("/wc-auth/callback/<state>")
def wc_auth_callback(state: str) -> tuple[Response, int]:
    """WooCommerce POSTs the generated keys here as JSON (authentication.md)."""
    services = _services()
    try:
        store_id = accept_app_keys(
            services.stores,
            _states(services),
            state,
            _json_body(),
            driver=services.driver,
            public_url=services.public_url,
            development=services.development,
        )
    except BackordersError as exc:
        logger.info("wc-auth callback refused reason=%s", exc.reason)
        return jsonify({"error": exc.reason, "message": connect_error_message(exc)}), 400
    return jsonify({"store_id": store_id}), 200


def _json_body() -> object:
    """The callback's JSON body; None when it is not JSON, which the keys check refuses."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        # Arrays nested a few thousand deep exhaust the decoder's stack (`silent` covers only
        # ValueError); WooCommerce posts one flat object of keys (authentication.md).
        return None


@bp.post("/stores/<int:store_id>/disconnect")
@login_required
def disconnect(store_id: int) -> BaseResponse:
    """Delete the store's webhooks and mark it disconnected."""
    form = DisconnectForm()
    if not form.validate_on_submit():
        abort(400)
    services = _services()
    store = owned_store(store_id)  # 404 for a missing store or another merchant's
    try:
        left = disconnect_store(
            services.stores,
            store_id,
            drivers=services.registry,
            development=services.development,
        )
    except BackordersError as exc:
        logger.info("store disconnect failed store_id=%s reason=%s", store_id, exc.reason)
        flash(f"Could not disconnect store {store_id}: {connect_error_message(exc)}", "error")
        return redirect(url_for("connect.connect_form"), code=303)
    if left:
        flash(
            f"Store {store_id} disconnected; webhooks {left} could not be deleted, remove them "
            f"in {services.registry.driver(store.platform).label}.",
            "error",
        )
    else:
        flash(f"Store {store_id} disconnected; its webhooks are deleted.", "ok")
    return redirect(url_for("connect.connect_form"), code=303)


def connect_error_message(exc: BackordersError) -> str:
    if isinstance(exc, ConnectError):
        return str(exc)
    return {
        "authentication_failed": "The store refused these keys.",
        "rate_limited": "The store is busy (rate limited); try again in a minute.",
        "transient": "The store could not be reached; try again.",
    }.get(exc.reason, f"The store answered with an error ({exc.reason}).")
