"""Sign up, sign in, sign out; `login_required` and `owned_store` for every merchant page."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response

from plugin.adapters.mail.account_mail import ALREADY_REGISTERED, VERIFY_EMAIL, send_account_mail
from plugin.adapters.redis.signin_throttle import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE_S,
    DeviceTokens,
    SignInThrottle,
)
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.registry import PAGE_WAIT_S
from plugin.ports import MerchantRecord, Platform
from plugin.usecases.accounts import (
    MIN_PASSWORD_LENGTH,
    EmailVerification,
    VerificationFailed,
    authenticate,
    hash_password,
    password_problem,
    register,
)

if TYPE_CHECKING:
    from app import Backorders

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

SESSION_VERSION = "session_version"  # session key: the merchant's version at sign-in


def services() -> Backorders:
    """The app's adapters (app.py `Backorders`)."""
    state: Backorders = current_app.extensions["backorders"]
    return state


def store_platform(store: StoreRecord, *, timeout: float = 10.0) -> Platform:
    """The store's platform for a merchant page: behind the store's rate limiter, waiting at
    most `PAGE_WAIT_S` per request for a slot."""
    platform, _limiter = services().registry.for_store(store, timeout=timeout, max_wait=PAGE_WAIT_S)
    return platform


def merchants() -> MerchantRepository:
    """The merchant accounts of this app."""
    return MerchantRepository(services().db)


def current_merchant() -> MerchantRecord | None:
    """The signed-in merchant, or None (looked up once per request)."""
    if "merchant" not in g:
        merchant_id = session.get("merchant_id")
        found = merchants().get(merchant_id) if isinstance(merchant_id, int) else None
        if found is not None and session.get(SESSION_VERSION) != found.session_version:
            # Flask's cookie is signed, not stored: a copy stays valid until it expires. The
            # version it carries must still be the merchant's, which sign-out and a password
            # change bump, so a cookie copied before either is refused from then on.
            logger.info("event=stale_session merchant_id=%s", found.id)
            session.clear()
            found = None
        g.merchant = found
    merchant: MerchantRecord | None = g.merchant
    return merchant


def login_required(view: F) -> F:
    """Redirect to the sign-in page (remembering where to come back) when nobody is signed in."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_merchant() is None:
            return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")), code=303)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def owned_store(store_id: int) -> StoreRecord:
    """The store when the signed-in merchant owns it; 404 otherwise (even if it exists)."""
    merchant = current_merchant()
    store = services().stores.get(store_id)
    if merchant is None or store is None or store.merchant_id != merchant.id:
        abort(404)
    return store


def safe_next(target: str | None) -> str:
    """`target` as the Location header will carry it when it is a path on this site, else the
    stores page.

    Checked after Werkzeug's normalisation (`iri_to_uri`, applied to every Location header in
    werkzeug/wrappers/response.py `get_wsgi_headers`), since that is what the browser reads:
    `////evil.example` becomes `//evil.example` there, a link to another host. Browsers also
    drop tabs and newlines and read `\\` as `/` (WHATWG URL standard), so those are refused.
    """
    if target and not _UNSAFE_CHARACTERS.search(target):
        normalised = iri_to_uri(target)
        parts = urlsplit(normalised)
        if (
            normalised.startswith("/")
            and normalised[1:2] != "/"
            and not parts.scheme
            and not parts.netloc
            and iri_to_uri(normalised) == normalised  # what we checked is what is sent
        ):
            return normalised
    return url_for("stores.index")


# Control characters and DEL (browsers strip or drop them before parsing a URL) and `\\`.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\\]")


def _client_ip() -> str:
    return request.remote_addr or "unknown"


class SignUpSchema(Schema):
    class Meta:
        unknown = RAISE

    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = fields.String(
        required=True,
        validate=validate.Length(
            min=MIN_PASSWORD_LENGTH,
            max=200,
            error=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
        ),
    )
    confirm = fields.String(required=True)


def _form_data(*ignore: str) -> dict[str, str]:
    """The posted fields, without the CSRF token (checked by CSRFProtect) and `ignore`."""
    skip = {"csrf_token", *ignore}
    return {key: value for key, value in request.form.items() if key not in skip}


def _start_session(merchant: MerchantRecord) -> None:
    session.clear()  # a fresh session on sign-in: no fixation, new CSRF token
    session.permanent = True
    session["merchant_id"] = merchant.id
    session[SESSION_VERSION] = merchant.session_version


@bp.route("/signup", methods=["GET", "POST"])
def sign_up() -> Response | str | tuple[str, int]:
    """Create a merchant account and send the link that confirms its address.

    The answer is the same whether or not the address has an account (no list of merchants
    to be read from it): the owner of an existing account gets a notice by e-mail instead.
    """
    errors: dict[str, list[str]] = {}
    values = {"email": ""}
    if request.method == "POST":
        data = _form_data()
        if "email" in data:
            data["email"] = data["email"].strip()
        values["email"] = data.get("email", "")
        try:
            loaded = SignUpSchema().load(data)
        except ValidationError as error:
            errors = form_errors(error)
        else:
            problem = password_problem(loaded["password"], loaded["email"])
            if problem:
                errors["password"] = [problem]
            elif loaded["password"] != loaded["confirm"]:
                errors["confirm"] = ["The two passwords differ."]
            else:
                registration = register(
                    merchants(), loaded["email"], hash_password(loaded["password"])
                )
                if registration.already_verified:
                    message_id = _send_already_registered(registration.merchant)
                else:
                    message_id = send_verification(registration.merchant)
                logger.info("event=merchant_sign_up merchant_id=%s", registration.merchant.id)
                session["signup"] = {"email": registration.merchant.email, "mail": message_id}
                return redirect(url_for("auth.sign_up_sent"), code=303)
        return render_template("auth/signup.html", errors=errors, values=values), 400
    return render_template("auth/signup.html", errors=errors, values=values)


@bp.get("/signup/sent")
def sign_up_sent() -> Response | str:
    """ "Check your inbox" after a sign-up (development shows the message, which it keeps)."""
    sent = session.get("signup")
    if not isinstance(sent, dict):
        return redirect(url_for("auth.sign_up"), code=303)
    captured = None
    if services().config.development and isinstance(sent.get("mail"), int):
        captured = OutboxRepository(services().db).get(sent["mail"])
    return render_template("auth/signup_sent.html", email=sent.get("email", ""), mail=captured)


def _public_link(endpoint: str, **values: Any) -> str:
    return f"{services().config.public_url}{url_for(endpoint, **values)}"


def send_verification(merchant: MerchantRecord) -> int | None:
    """E-mail `merchant` the link that confirms the address; the outbox id, if sent."""
    token = EmailVerification(services().config.secret_key).token(merchant)
    link = _public_link("auth.verify_email", token=token)
    return send_account_mail(
        OutboxRepository(services().db), services().redis, VERIFY_EMAIL, merchant.email,
        {"link": link},
    )  # fmt: skip


def _send_already_registered(merchant: MerchantRecord) -> int | None:
    return send_account_mail(
        OutboxRepository(services().db), services().redis, ALREADY_REGISTERED, merchant.email,
        {"sign_in": _public_link("auth.sign_in")},
    )  # fmt: skip


@bp.get("/verify/<token>")
def verify_email(token: str) -> Response | tuple[str, int]:
    """The link in the sign-up e-mail: the address is confirmed."""
    try:
        merchant = EmailVerification(services().config.secret_key).confirm(merchants(), token)
    except VerificationFailed as exc:
        return render_template("auth/verify_failed.html", error=str(exc)), 400
    logger.info("event=email_verified merchant_id=%s", merchant.id)
    signed_in = current_merchant()
    if signed_in is not None and signed_in.id == merchant.id:
        flash("Your e-mail address is confirmed. Connect your store to start.", "ok")
        return redirect(url_for("stores.index"), code=303)
    flash("Your e-mail address is confirmed. Sign in to start.", "ok")
    return redirect(url_for("auth.sign_in"), code=303)


@bp.post("/verify/resend")
def resend_verification() -> Response:
    """Send the signed-in merchant a new confirmation link."""
    merchant = current_merchant()
    if merchant is None:
        return redirect(url_for("auth.sign_in"), code=303)
    if merchant.email_verified:
        flash("Your e-mail address is confirmed already.", "ok")
    elif send_verification(merchant) is None:
        flash("Several links were sent to this address lately; wait an hour.", "error")
    else:
        flash(f"We sent a new link to {merchant.email}.", "ok")
    return redirect(url_for("stores.index"), code=303)


def verified_required(view: F) -> F:
    """For pages that act on a store: the merchant must have confirmed the address (403)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        merchant = current_merchant()
        if merchant is not None and not merchant.email_verified:
            return render_template("auth/verify_first.html"), 403
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.route("/signin", methods=["GET", "POST"])
def sign_in() -> Response | str | tuple[str, int, dict[str, str]]:
    """Sign in with e-mail and password; failures are throttled
    (plugin/adapters/redis/signin_throttle.py)."""
    next_url = request.values.get("next", "")
    if request.method == "GET":
        return render_template("auth/signin.html", error=None, email="", next_url=next_url)
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    throttle = SignInThrottle(services().redis)
    device = DeviceTokens(services().config.secret_key).device(
        request.cookies.get(DEVICE_COOKIE), email
    )
    refusal = throttle.refusal(email, _client_ip(), device)
    if refusal is not None:
        logger.warning("event=signin_throttled ip=%s known_device=%s", _client_ip(), bool(device))
        html = render_template(
            "auth/signin.html", error=refusal.message, email=email, next_url=next_url
        )
        return html, 429, {"Retry-After": str(refusal.retry_after)}
    merchant = authenticate(merchants(), email, password) if email and password else None
    if merchant is None:
        throttle.failed(email, _client_ip(), device)
        error = "The e-mail address or the password is not right."
        html = render_template("auth/signin.html", error=error, email=email, next_url=next_url)
        return html, 400, {}
    throttle.succeeded(email, _client_ip(), device)
    _start_session(merchant)
    logger.info("event=merchant_signed_in merchant_id=%s", merchant.id)
    response = redirect(safe_next(next_url), code=303)
    if device is None:
        # This browser now knows the account: its failures no longer count against others.
        response.set_cookie(
            DEVICE_COOKIE,
            DeviceTokens(services().config.secret_key).issue(merchant.email),
            max_age=DEVICE_MAX_AGE_S,
            path=url_for("auth.sign_in"),
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


@bp.post("/signout")
def sign_out() -> Response:
    """End the session here and in every copy of its cookie (the session version is bumped)."""
    merchant = current_merchant()
    if merchant is not None:
        merchants().end_sessions(merchant.id)
        logger.info("event=merchant_signed_out merchant_id=%s", merchant.id)
    session.clear()
    return redirect(url_for("auth.sign_in"), code=303)


@bp.get("/")
def home() -> Response:
    """The stores page for a merchant, else the sign-in page."""
    if current_merchant() is None:
        return redirect(url_for("auth.sign_in"), code=303)
    return redirect(url_for("stores.index"), code=303)


def form_errors(error: ValidationError) -> dict[str, list[str]]:
    """marshmallow's messages as {field: [message, ...]}; unknown fields under '_form'."""
    result: dict[str, list[str]] = {}
    messages = error.messages if isinstance(error.messages, dict) else {"_form": error.messages}
    for key, value in messages.items():
        texts = value if isinstance(value, list) else [str(value)]
        result.setdefault(str(key), []).extend(str(t) for t in texts)
    return result
