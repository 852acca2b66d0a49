"""The REST blueprint and its plumbing: JSON responses, ``_fields``, query and body parsing,
``_links``, pagination, and the answer for unknown routes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request

from sandbox.woocommerce.errors import ApiError, invalid_param, invalid_type
from sandbox.woocommerce.store import Store, parse_iso, rest_links

bp = Blueprint("sandbox_rest", __name__)


def extensions() -> dict[str, Any]:
    """The sandbox's shared objects (store, credentials, faults, deliverer) on the app."""
    ext: dict[str, Any] = current_app.extensions["sandbox"]
    return ext


def current_store() -> Store:
    """The store this app serves."""
    store: Store = extensions()["store"]
    return store


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response, trimmed to the ``_fields`` query argument on success."""
    fields = request.args.get("_fields")
    if fields and status < 300:
        data = _only_fields(data, [f.strip() for f in fields.split(",") if f.strip()])
    response = Response(json.dumps(data), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _only_fields(data: Any, fields: list[str]) -> Any:
    """WordPress ``_fields``: keep the named (dotted for nested) keys; ``_links`` only if named."""
    if isinstance(data, list):
        return [_only_fields(item, fields) for item in data]
    if not isinstance(data, dict):
        return data
    wanted: dict[str, list[str]] = {}
    for field in fields:
        head, _, rest = field.partition(".")
        wanted.setdefault(head, [])
        if rest:
            wanted[head].append(rest)
    kept = {}
    for key, nested in wanted.items():
        if key in data:
            kept[key] = _only_fields(data[key], nested) if nested else data[key]
    return kept


def error_response(error: ApiError) -> Response:
    """The JSON error body WordPress sends for ``error``."""
    return json_response(error.body(), error.status)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    return error_response(error)


def request_body() -> dict[str, Any]:
    """The request body: a JSON object, or form fields with true/false/integers coerced."""
    if request.mimetype == "application/json" or (request.data and not request.form):
        if not request.data:
            return {}
        try:
            data = json.loads(request.data)
        except ValueError:
            raise ApiError("rest_invalid_json", "Invalid JSON body passed.", 400) from None
        if not isinstance(data, dict):
            raise ApiError("rest_invalid_json", "Invalid JSON body passed.", 400)
        return data
    return {key: _coerce(value) for key, value in request.form.items()}


def _coerce(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if value.lstrip("-").isdigit():
        return int(value)
    return value


def int_arg(
    name: str, default: int | None = None, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """An integer query argument, refused with rest_invalid_param outside its bounds."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_type(name, "integer") from None
    # rest_validate_number_value_from_schema: rest_out_of_bounds.
    if maximum is not None and minimum is not None and not minimum <= value <= maximum:
        raise invalid_param(
            name,
            f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)",
            "rest_out_of_bounds",
        )
    if minimum is not None and value < minimum:
        raise invalid_param(
            name, f"{name} must be greater than or equal to {minimum}", "rest_out_of_bounds"
        )
    return value


def list_arg(name: str) -> list[str] | None:
    """WordPress array args: ``a,b``, ``name[]=a&name[]=b`` or repeated ``name=a``."""
    values = request.args.getlist(name) + request.args.getlist(f"{name}[]")
    if not values:
        return None
    result: list[str] = []
    for value in values:
        result.extend(v.strip() for v in value.split(",") if v.strip())
    return result


def int_list_arg(name: str) -> list[int] | None:
    """A list of ids as wp_parse_id_list sanitizes it (the id-list arguments have no validation):
    absint of each value, so what is not a number is 0, which names nothing; duplicates go."""
    values = list_arg(name)
    if values is None:
        return None
    ids: list[int] = []
    for value in values:
        number = re.match(r"\s*[+-]?\d+", value)  # PHP's intval reads the leading digits
        parsed = abs(int(number.group())) if number else 0
        if parsed not in ids:
            ids.append(parsed)
    return ids


def date_arg(name: str) -> Any:
    """An ISO8601 date query argument (naive means UTC), or None when absent."""
    raw = request.args.get(name)
    if not raw:
        return None
    parsed = parse_iso(raw)
    if parsed is None:
        raise invalid_param(name, "Invalid date.", "rest_invalid_date")
    return parsed


def force_arg() -> bool:
    """Whether ``force`` is set, in the query string or the JSON body."""
    raw = request.args.get("force")
    if raw is None:
        body = request.get_json(silent=True)
        return bool(isinstance(body, dict) and body.get("force") is True)
    return raw.lower() in ("true", "1", "yes")


def with_links(
    data: dict[str, Any], path: str, collection: str, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """``data`` with the ``_links`` WordPress adds, against the URL the request came to."""
    return {**data, "_links": rest_links(request.host_url, path, collection, extra or {})}


def paginate(ids: list[int], render: Callable[[int], dict[str, Any] | None]) -> Response:
    """One page of ``ids`` rendered, with X-WP-Total, X-WP-TotalPages and Link headers."""
    page = int_arg("page", 1, minimum=1)
    per_page = int_arg("per_page", 10, minimum=1, maximum=100)
    offset = int_arg("offset", None, minimum=0)
    assert page is not None and per_page is not None
    total = len(ids)
    start = offset if offset is not None else (page - 1) * per_page
    chosen = ids[start : start + per_page]
    items = [item for item in (render(i) for i in chosen) if item is not None]
    pages = math.ceil(total / per_page) if total else 0
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    # WC_REST_CRUD_Controller::get_items: prev/next Link headers keep the other query args.
    links = []
    if page > 1:
        links.append(f'<{_page_url(min(page - 1, max(pages, 1)))}>; rel="prev"')
    if pages > page:
        links.append(f'<{_page_url(page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return json_response(items, 200, headers)


def _page_url(page: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    return f"{request.base_url}?{urlencode(args + [('page', str(page))])}"


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def no_route(unknown: str) -> Response:
    """WordPress's answer for a route that does not exist."""
    return error_response(
        ApiError("rest_no_route", "No route was found matching the URL and request method.", 404)
    )
