"""The merchant's pages to connect a Shopify shop, beside WooCommerce's (web/connect.py).

Two ways in, both ending in `connect_store` (plugin/usecases/connecting.py) with the shop's
`*.myshopify.com` name as the consumer key, its access token as the consumer secret and, as
webhook secret, the secret Shopify signs the shop's deliveries with:

- a custom app's Admin API access token pasted with the shop's name and the app's API secret
  key (the token is checked against the shop: it must be that shop's and have our scopes);
- "Install with OAuth" (SHOPIFY_CLIENT_ID / SHOPIFY_CLIENT_SECRET configured): the form, or
  Shopify opening our App URL (`/connect/shopify`, signed), keeps a state nonce and the shop in
  the merchant's session and sends the browser to the shop's authorize page; Shopify sends it
  back to `/connect/shopify/callback`, which plugin/platforms/shopify/connect.py `OAuthInstall`
  checks (HMAC of the query with the client secret, shop, state, age), claims the state once in
  Redis and exchanges the code once.

Every form is CSRF-protected. The callback is a GET that Shopify's redirect makes, so it carries
no CSRF token by design: the HMAC, the state bound to this browser's session and its single use
protect it, and a replayed callback is refused before any exchange. Refused input shows its
reason on the page and writes nothing.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from plugin.adapters.redis.nonces import RedisNonceClaims
from plugin.adapters.sql.privacy import UNINSTALLED, SqlPrivacyStore
from plugin.config import ShopifyApp
from plugin.errors import BackordersError, TransientError
from plugin.platforms.shopify.connect import OAuthInstall, ShopifyConnectError, shop_domain
from plugin.ports import PlatformDriver
from plugin.usecases.connecting import connect_store, reconnect_store
from web.auth import current_merchant, login_required, verified_required
from web.connect import DisconnectForm, connect_error_message

logger = logging.getLogger(__name__)

bp = Blueprint("shopify_connect", __name__)

PLATFORM = "shopify"
# The install a browser started: {"state", "shop"} in its (signed) session cookie.
PENDING_INSTALL = "shopify_install"
NONCE_PREFIX = "backorders:shopify-oauth:used:"
# Reasons `OAuthInstall.complete` refuses a callback with before it claims the state: the
# pending install stays, so a forged or misdirected callback cannot cancel the merchant's.
_REFUSED_BEFORE_CLAIM = frozenset(
    {"bad_hmac", "invalid_shop", "wrong_shop", "invalid_state", "stale", "invalid_request"}
)


class TokenForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    shop = StringField("Shop", validators=[DataRequired(), Length(max=200)])
    access_token = PasswordField(
        "Admin API access token", validators=[DataRequired(), Length(max=200)]
    )
    api_secret = PasswordField("API secret key", validators=[DataRequired(), Length(max=200)])


class InstallForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no types
    shop = StringField("Shop", validators=[DataRequired(), Length(max=200)])


@dataclass(frozen=True)
class _Services:
    stores: Any  # plugin.adapters.sql.repositories.StoreRepository
    redis: Any
    driver: PlatformDriver
    app: ShopifyApp
    public_url: str
    development: bool

    def oauth(self) -> OAuthInstall | None:
        """The public app's OAuth install, or None when no app is configured."""
        if not self.app.is_configured:
            return None
        return OAuthInstall(
            self.app.client_id,
            self.app.client_secret,
            RedisNonceClaims(self.redis, prefix=NONCE_PREFIX),
            shop_url=self.app.base_url,
            allow_private_addresses=self.development,
        )

    @property
    def callback_url(self) -> str:
        return f"{self.public_url}{url_for('shopify_connect.callback')}"


def _services() -> _Services:
    services = current_app.extensions["backorders"]
    config = services.config
    return _Services(
        stores=services.stores,
        redis=services.redis,
        driver=services.registry.driver(PLATFORM),
        app=config.shopify,
        public_url=config.public_url,
        development=config.development,
    )


def _page(
    token_form: TokenForm,
    install_form: InstallForm,
    status: int = 200,
    error: str | None = None,
) -> tuple[str, int]:
    merchant = current_merchant()
    services = _services()
    stores = [
        s
        for s in services.stores.list(merchant_id=merchant.id if merchant else -1)
        if s.platform == PLATFORM
    ]
    html = render_template(
        "connect/shopify.html",
        token_form=token_form,
        install_form=install_form,
        disconnect_form=DisconnectForm(),
        oauth_offered=services.app.is_configured,
        stores=stores,
        error=error,
        app_url=f"{services.public_url}{url_for('shopify_connect.launch')}",
        callback_url=services.callback_url,
        compliance_url=f"{services.public_url}{url_for('shopify_app.compliance_webhook')}",
    )
    return html, status


@bp.route("/stores/connect/shopify", methods=["GET", "POST"])
@login_required
@verified_required
def page() -> BaseResponse | tuple[str, int]:
    """Show the Shopify connect page; POST connects with a token or starts the OAuth install."""
    action = request.form.get("action", "token") if request.method == "POST" else None
    token_form = (
        TokenForm(prefix="token")
        if action in (None, "token")
        else TokenForm(prefix="token", formdata=None)
    )
    install_form = (
        InstallForm(prefix="install")
        if action in (None, "install")
        else InstallForm(prefix="install", formdata=None)
    )
    if request.method == "GET":
        return _page(token_form, install_form)
    if action == "install":
        if not install_form.validate_on_submit():
            return _page(token_form, install_form, 400)
        try:
            return _start_install(install_form.shop.data or "")
        except ShopifyConnectError as error:
            if error.reason == "oauth_not_configured":  # no install form on the page
                return _page(token_form, install_form, 400, error=str(error))
            install_form.shop.errors = [str(error)]
            return _page(token_form, install_form, 400)
    if not token_form.validate_on_submit():
        return _page(token_form, install_form, 400)
    try:
        shop = shop_domain(token_form.shop.data or "")
        store_id = _connect(
            shop,
            (token_form.access_token.data or "").strip(),
            (token_form.api_secret.data or "").strip(),
        )
    except BackordersError as error:
        logger.info("shopify connect refused reason=%s", error.reason)
        token_form.shop.errors = [_explain(error)]
        return _page(token_form, install_form, 400)
    flash(f"Shop {shop} connected as store {store_id}; its webhooks are registered.", "ok")
    return redirect(url_for("shopify_connect.page"), code=303)


@bp.get("/connect/shopify")
@login_required
@verified_required
def launch() -> BaseResponse | tuple[str, int]:
    """The App URL: Shopify opens it, signed, when the merchant installs or opens the app;
    without Shopify's signature it is the connect page."""
    if "hmac" not in request.args:
        return redirect(url_for("shopify_connect.page"), code=303)
    oauth = _services().oauth()
    if oauth is None:
        return _page(TokenForm(prefix="token"), InstallForm(prefix="install"), 404,
                     error="This Backorders has no Shopify app configured.")  # fmt: skip
    try:
        shop = oauth.check_launch(request.args.to_dict())
        return _start_install(shop)
    except ShopifyConnectError as error:
        logger.info("shopify launch refused reason=%s", error.reason)
        return _page(TokenForm(prefix="token"), InstallForm(prefix="install"), 400,
                     error=f"Shopify's request was refused: {error}")  # fmt: skip


@bp.get("/connect/shopify/callback")
@login_required
@verified_required
def callback() -> BaseResponse | tuple[str, int]:
    """Where Shopify sends the merchant back with a code: check it, exchange it once, connect."""
    services = _services()
    oauth = services.oauth()
    pending = session.get(PENDING_INSTALL)

    def refuse(message: str, status: int = 400) -> tuple[str, int]:
        return _page(TokenForm(prefix="token"), InstallForm(prefix="install"), status,
                     error=f"The Shopify install was refused: {message}")  # fmt: skip

    if oauth is None:
        return refuse("this Backorders has no Shopify app configured.", 404)
    if not isinstance(pending, dict) or not isinstance(pending.get("state"), str):
        logger.info("shopify callback refused reason=no_pending_install")
        return refuse("no install was started from this browser, or it was finished already.")
    try:
        installed = oauth.complete(
            request.args.to_dict(),
            expected_state=pending["state"],
            expected_shop=str(pending.get("shop", "")),
        )
    except ShopifyConnectError as error:
        logger.info("shopify callback refused reason=%s", error.reason)
        if error.reason not in _REFUSED_BEFORE_CLAIM:
            session.pop(PENDING_INSTALL, None)
        return refuse(str(error))
    except TransientError as error:
        logger.info("shopify callback failed reason=%s", error.reason)
        session.pop(PENDING_INSTALL, None)
        return refuse(f"{error} Start again.", 502)
    session.pop(PENDING_INSTALL, None)
    try:
        store_id = _connect(installed.shop, installed.access_token, services.app.client_secret)
    except BackordersError as error:
        logger.info("shopify connect refused reason=%s", error.reason)
        return refuse(_explain(error))
    flash(
        f"Shop {installed.shop} installed as store {store_id}; its webhooks are registered.", "ok"
    )
    return redirect(url_for("shopify_connect.page"), code=303)


def _start_install(shop_name: str) -> BaseResponse:
    """Keep a fresh state nonce and the shop in the session; send the browser to Shopify."""
    services = _services()
    oauth = services.oauth()
    if oauth is None:
        raise ShopifyConnectError(
            "Installing with OAuth needs the Shopify app's SHOPIFY_CLIENT_ID and "
            "SHOPIFY_CLIENT_SECRET; paste a custom app's token instead.",
            reason="oauth_not_configured",
        )
    shop = shop_domain(shop_name)
    state = secrets.token_urlsafe(24)
    session[PENDING_INSTALL] = {"state": state, "shop": shop}
    logger.info("shopify install started shop=%s", shop)
    location = oauth.authorize_url(shop, state=state, redirect_uri=services.callback_url)
    return redirect(location, code=303)


def _connect(shop: str, access_token: str, webhook_secret: str) -> int:
    """Check the token against the shop, keep the store, register our webhooks. A shop that is
    connected already is refused: two stores of one shop would both act on every order."""
    services = _services()
    merchant = current_merchant()
    state = current_app.extensions["backorders"]
    reinstalled: int | None = None
    for store_id in SqlPrivacyStore(state.db, state.vault, PLATFORM).stores_for_shop(shop):
        store = services.stores.get(store_id)
        if store is None:
            continue
        ours = store.merchant_id == (merchant.id if merchant else None)
        if store.is_connected:
            raise ShopifyConnectError(
                f"{shop} is connected already"
                + (f" as store {store_id}; disconnect it first." if ours else "."),
                reason="already_connected",
            )
        if store.status == UNINSTALLED and ours and reinstalled is None:
            reinstalled = store_id  # the same merchant installs the app again: one store
    if reinstalled is not None:
        return reconnect_store(
            services.stores,
            reinstalled,
            services.app.base_url(shop),
            shop,
            access_token,
            driver=services.driver,
            public_url=services.public_url,
            development=services.development,
            webhook_secret=webhook_secret,
        )
    return connect_store(
        services.stores,
        services.app.base_url(shop),
        shop,
        access_token,
        driver=services.driver,
        public_url=services.public_url,
        development=services.development,
        name=shop,
        merchant_id=merchant.id if merchant else None,
        webhook_secret=webhook_secret,
    )


def _explain(error: BackordersError) -> str:
    if isinstance(error, ShopifyConnectError):
        return str(error)
    if error.reason == "not_found":
        return "The shop was not found (is the name right?)."
    return connect_error_message(error)
