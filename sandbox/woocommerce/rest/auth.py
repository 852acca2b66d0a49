"""Authentication before every REST request (authentication.md): consumer key and secret over
HTTP Basic or the query string, OAuth 1.0a signatures, key scopes, and the permission errors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from urllib.parse import quote, unquote

from flask import Response, g, request

from sandbox.woocommerce.errors import ApiError
from sandbox.woocommerce.rest.http import bp, current_store, error_response, extensions


def _credentials() -> tuple[str | None, str | None]:
    """Consumer key/secret from HTTP Basic or the query string (authentication.md)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        key, _, secret = decoded.partition(":")
        return key, secret
    if "consumer_key" in request.args:
        return request.args.get("consumer_key"), request.args.get("consumer_secret", "")
    return None, None


# class-wc-rest-authentication.php: OAuth timestamps older than 15 minutes are refused.
OAUTH_WINDOW_SECONDS = 15 * 60


OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)


_used_nonces: OrderedDict[tuple[str, str], float] = OrderedDict()


_nonce_lock = threading.Lock()


def _oauth_params() -> dict[str, str] | None:
    """OAuth 1.0a parameters from the query string or an ``Authorization: OAuth`` header."""
    header = request.headers.get("Authorization", "")
    params = {k: v for k, v in request.args.items()}
    if header.lower().startswith("oauth "):
        for part in header[6:].split(","):
            key, _, value = part.strip().partition("=")
            if key.startswith("oauth_"):
                params[key] = unquote(value.strip('"'))
    if not any(key.startswith("oauth_") for key in params):
        return None
    return params


def _rfc3986(value: str) -> str:
    """wc_rest_urlencode_rfc3986: rawurlencode(rawurldecode(v)) with % doubled."""
    return quote(unquote(value), safe="~").replace("%", "%25")


def _oauth_error(message: str) -> ApiError:
    return ApiError("woocommerce_rest_authentication_error", message, 401)


def _check_oauth(params: dict[str, str], secret: str) -> None:
    """class-wc-rest-authentication.php check_oauth_signature and timestamp/nonce checks."""
    method = params.get("oauth_signature_method", "")
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise _oauth_error("Invalid signature - signature method is invalid.")
    signed = {k: v for k, v in params.items() if k != "oauth_signature"}
    pairs = sorted((_rfc3986(k), _rfc3986(v)) for k, v in signed.items())
    query = "%26".join(f"{k}%3D{v}" for k, v in pairs)
    base_uri = quote(request.host_url.rstrip("/") + request.path, safe="~")
    string_to_sign = f"{request.method.upper()}&{base_uri}&{query}"
    digest = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
    expected = base64.b64encode(
        hmac.new(f"{secret}&".encode(), string_to_sign.encode(), digest).digest()
    ).decode()
    provided = unquote(params["oauth_signature"].replace(" ", "+"))
    if not hmac.compare_digest(expected, provided):
        raise _oauth_error("Invalid signature - provided signature does not match.")
    try:
        timestamp = int(params["oauth_timestamp"])
    except ValueError:
        raise _oauth_error("Invalid timestamp.") from None
    now = time.time()
    if abs(now - timestamp) > OAUTH_WINDOW_SECONDS:
        raise _oauth_error("Invalid timestamp.")
    nonce = (params["oauth_consumer_key"], params["oauth_nonce"])
    with _nonce_lock:
        while _used_nonces and next(iter(_used_nonces.values())) < now - OAUTH_WINDOW_SECONDS:
            _used_nonces.popitem(last=False)
        if nonce in _used_nonces:
            raise _oauth_error("Invalid nonce - nonce has already been used.")
        _used_nonces[nonce] = now


# class-wc-rest-*-controller.php permission checks: the error a caller without a valid user
# gets, per method and whether the URL names one resource.
_DENIED = {
    ("GET", False): ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    ("GET", True): ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    ("POST", False): (
        "woocommerce_rest_cannot_create",
        "Sorry, you are not allowed to create resources.",
    ),
    ("PUT", True): (
        "woocommerce_rest_cannot_edit",
        "Sorry, you are not allowed to edit this resource.",
    ),
    ("DELETE", True): (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
}


def _denied() -> ApiError:
    method = "PUT" if request.method in ("PATCH", "POST") and _names_resource() else request.method
    if request.path.rstrip("/").endswith("/batch"):
        return ApiError(
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
            401,
        )
    code, message = _DENIED.get((method, _names_resource()), _DENIED[("GET", False)])
    return ApiError(code, message, 401)


def _names_resource() -> bool:
    last = request.path.rstrip("/").rsplit("/", 1)[-1]
    return last.isdigit()


@bp.before_request
def _before() -> Response | None:
    key, secret = _credentials()
    oauth = _oauth_params() if key is None else None
    if oauth is not None:
        key = oauth.get("oauth_consumer_key")
    faults = extensions().get("faults")
    if faults is not None:
        injected: Response | None = faults.before_api_request(key)
        if injected is not None:
            return injected
    config = extensions()["credentials"]
    # class-wc-rest-authentication.php: unknown key, then wrong secret, each a 401.
    if oauth is not None:
        missing = [name for name in OAUTH_PARAMS if not oauth.get(name)]
        if missing:
            label = "parameter" if len(missing) == 1 else "parameters"
            return error_response(_oauth_error(f"Missing OAuth {label} {', '.join(missing)}"))
    if key is None:
        return error_response(_denied())
    expected_secret = config[1] if hmac.compare_digest(key, config[0]) else None
    scope = "read_write"
    if expected_secret is None:
        issued = current_store().api_key_secret(key)
        if issued is None:
            return error_response(
                ApiError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
            )
        expected_secret, scope = issued
    if oauth is not None:
        try:
            _check_oauth(oauth, expected_secret)
        except ApiError as error:
            return error_response(error)
    elif not hmac.compare_digest(secret or "", expected_secret):
        return error_response(
            ApiError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
        )
    if request.method != "GET" and scope == "read":
        return error_response(
            ApiError(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
                401,
            )
        )
    if request.method == "GET" and scope == "write":
        return error_response(
            ApiError(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.",
                401,
            )
        )
    g.consumer_key = key
    return None
