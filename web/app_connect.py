"""The merchant's pages to connect an account of a platform that installs apps (Shopify), beside
the URL-and-keys page (web/connect.py). Platform-neutral: the platform's driver names the
account, checks its token and runs our app's install (`PlatformDriver.account_name`,
`.connection`, `.app_install`); its page's wording is its template (`driver.account_page`).

Two ways in, both ending in `connect_account` (plugin/usecases/connecting.py) with the account's
name as the consumer key, its access token as the consumer secret and, as webhook secret, the
secret the platform signs the account's deliveries with:

- an access token pasted with the account's name and the secret that signs its deliveries (a
  Shopify custom app's Admin API token and API secret key);
- our app's install, when its credentials are configured (`Config.platform_app`): the form, or
  the platform opening our App URL (`/connect/<platform>`, signed), keeps a state nonce and the
  account in the merchant's session and sends the browser to the platform to approve; it comes
  back to `/connect/<platform>/callback`, which the platform's `AppInstall.complete` checks,
  claiming the state once in Redis and exchanging the code once.

Every form is CSRF-protected. The callback is a GET that the platform's redirect makes, so it
carries no CSRF token by design: the platform's signature, the state bound to this browser's
session and its single use protect it, and a replayed callback is refused before any exchange.
Refused input shows its reason on the page and writes nothing.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
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
from plugin.adapters.sql.privacy import SqlPrivacyStore
from plugin.errors import BackordersError, ConnectError, TransientError
from plugin.platforms.registry import UnknownPlatform
from plugin.ports import AppCredentials, AppInstall, PlatformDriver
from plugin.usecases.connecting import connect_account
from web.auth import current_merchant, login_required, verified_required
from web.connect import DisconnectForm, connect_error_message

logger = logging.getLogger(__name__)

bp = Blueprint("app_connect", __name__)


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
    platform: str
    stores: Any  # plugin.adapters.sql.stores.StoreRepository
    redis: Any
    db: Any
    vault: Any
    driver: PlatformDriver
    app: AppCredentials
    public_url: str
    development: bool

    def install(self) -> AppInstall:
        """Our app's install on the platform; ConnectError when it is not configured."""
        nonces = RedisNonceClaims(self.redis, prefix=f"backorders:{self.platform}-oauth:used:")
        return self.driver.app_install(self.app, nonces, allow_private=self.development)

    @property
    def callback_url(self) -> str:
        return f"{self.public_url}{url_for('app_connect.callback', platform=self.platform)}"

    @property
    def pending_key(self) -> str:
        """The install a browser started: {"state", "account"} in its (signed) session."""
        return f"app_install:{self.platform}"


def _services(platform: str) -> _Services:
    """The platform's services; 404 for a platform that connects no accounts."""
    state = current_app.extensions["backorders"]
    try:
        driver: PlatformDriver = state.registry.driver(platform)
    except UnknownPlatform:
        abort(404)
    if driver.account_page is None:
        abort(404)
    config = state.config
    return _Services(
        platform=platform,
        stores=state.stores,
        redis=state.redis,
        db=state.db,
        vault=state.vault,
        driver=driver,
        app=config.platform_app(platform),
        public_url=config.public_url,
        development=config.development,
    )


def _page(
    services: _Services,
    token_form: TokenForm,
    install_form: InstallForm,
    status: int = 200,
    error: str | None = None,
) -> tuple[str, int]:
    merchant = current_merchant()
    stores = [
        s
        for s in services.stores.list(merchant_id=merchant.id if merchant else -1)
        if s.platform == services.platform
    ]
    template = services.driver.account_page
    assert template is not None  # `_services` answered 404 otherwise
    html = render_template(
        template,
        platform=services.platform,
        token_form=token_form,
        install_form=install_form,
        disconnect_form=DisconnectForm(),
        oauth_offered=services.app.is_configured,
        stores=stores,
        error=error,
        app_url=f"{services.public_url}{url_for('app_connect.launch', platform=services.platform)}",
        callback_url=services.callback_url,
        public_url=services.public_url,
    )
    return html, status


def _empty_page(services: _Services, status: int, error: str | None = None) -> tuple[str, int]:
    return _page(services, TokenForm(prefix="token"), InstallForm(prefix="install"), status, error)


@bp.route("/stores/connect/<platform>", methods=["GET", "POST"])
@login_required
@verified_required
def page(platform: str) -> BaseResponse | tuple[str, int]:
    """Show the connect page; POST connects with a token or starts our app's install."""
    services = _services(platform)
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
        return _page(services, token_form, install_form)
    if action == "install":
        if not install_form.validate_on_submit():
            return _page(services, token_form, install_form, 400)
        try:
            return _start_install(services, install_form.shop.data or "")
        except ConnectError as error:
            if error.reason == "oauth_not_configured":  # no install form on the page
                return _page(services, token_form, install_form, 400, error=str(error))
            install_form.shop.errors = [str(error)]
            return _page(services, token_form, install_form, 400)
    if not token_form.validate_on_submit():
        return _page(services, token_form, install_form, 400)
    try:
        account = services.driver.account_name(token_form.shop.data or "")
        store_id = _connect(
            services,
            account,
            (token_form.access_token.data or "").strip(),
            (token_form.api_secret.data or "").strip(),
        )
    except BackordersError as error:
        logger.info("account connect refused platform=%s reason=%s", platform, error.reason)
        token_form.shop.errors = [_explain(services, error)]
        return _page(services, token_form, install_form, 400)
    flash(
        f"{services.driver.account_label} {account} connected as store {store_id}; "
        "its webhooks are registered.",
        "ok",
    )
    return redirect(url_for("app_connect.page", platform=platform), code=303)


@bp.get("/connect/<platform>")
@login_required
@verified_required
def launch(platform: str) -> BaseResponse | tuple[str, int]:
    """The App URL: the platform opens it, signed, when the merchant installs or opens the
    app; without a signature it is the connect page."""
    services = _services(platform)
    if "hmac" not in request.args:
        return redirect(url_for("app_connect.page", platform=platform), code=303)
    label = services.driver.label
    try:
        install = services.install()
    except ConnectError:
        return _empty_page(services, 404, f"This Backorders has no {label} app configured.")
    try:
        return _start_install(services, install.check_launch(request.args.to_dict()))
    except ConnectError as error:
        logger.info("app launch refused platform=%s reason=%s", platform, error.reason)
        return _empty_page(services, 400, f"{label}'s request was refused: {error}")


@bp.get("/connect/<platform>/callback")
@login_required
@verified_required
def callback(platform: str) -> BaseResponse | tuple[str, int]:
    """Where the platform sends the merchant back with a code: check it, exchange it once,
    connect."""
    services = _services(platform)
    label = services.driver.label
    pending = session.get(services.pending_key)

    def refuse(message: str, status: int = 400) -> tuple[str, int]:
        return _empty_page(services, status, f"The {label} install was refused: {message}")

    try:
        install = services.install()
    except ConnectError:
        return refuse(f"this Backorders has no {label} app configured.", 404)
    if not isinstance(pending, dict) or not isinstance(pending.get("state"), str):
        logger.info("app callback refused platform=%s reason=no_pending_install", platform)
        return refuse("no install was started from this browser, or it was finished already.")
    try:
        installed = install.complete(
            request.args.to_dict(),
            expected_state=pending["state"],
            expected_account=str(pending.get("account", "")),
        )
    except ConnectError as error:
        logger.info("app callback refused platform=%s reason=%s", platform, error.reason)
        if error.reason not in install.refused_before_claim:
            session.pop(services.pending_key, None)
        return refuse(str(error))
    except TransientError as error:
        logger.info("app callback failed platform=%s reason=%s", platform, error.reason)
        session.pop(services.pending_key, None)
        return refuse(f"{error} Start again.", 502)
    session.pop(services.pending_key, None)
    try:
        store_id = _connect(
            services, installed.account, installed.access_token, services.app.client_secret
        )
    except BackordersError as error:
        logger.info("account connect refused platform=%s reason=%s", platform, error.reason)
        return refuse(_explain(services, error))
    flash(
        f"{services.driver.account_label} {installed.account} installed as store {store_id}; "
        "its webhooks are registered.",
        "ok",
    )
    return redirect(url_for("app_connect.page", platform=platform), code=303)


def _start_install(services: _Services, typed: str) -> BaseResponse:
    """Keep a fresh state nonce and the account in the session; send the browser to the
    platform to approve the install."""
    install = services.install()
    account = services.driver.account_name(typed)
    state = secrets.token_urlsafe(24)
    session[services.pending_key] = {"state": state, "account": account}
    logger.info("app install started platform=%s account=%s", services.platform, account)
    location = install.authorize_url(account, state=state, redirect_uri=services.callback_url)
    return redirect(location, code=303)


def _connect(services: _Services, account: str, access_token: str, webhook_secret: str) -> int:
    """The account's store, connected (plugin/usecases/connecting.py `connect_account`)."""
    merchant = current_merchant()
    accounts = SqlPrivacyStore(services.db, services.vault, services.platform)
    return connect_account(
        services.stores,
        accounts.stores_for_shop(account),
        services.app.base_url(account),
        account,
        access_token,
        driver=services.driver,
        public_url=services.public_url,
        development=services.development,
        merchant_id=merchant.id if merchant else None,
        webhook_secret=webhook_secret,
    )


def _explain(services: _Services, error: BackordersError) -> str:
    if isinstance(error, ConnectError):
        return str(error)
    if error.reason == "not_found":
        return f"The {services.driver.account_label.lower()} was not found (is the name right?)."
    return connect_error_message(error)
