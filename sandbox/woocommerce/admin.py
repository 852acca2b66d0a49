"""Sandbox admin endpoints, mounted at /sandbox: runtime faults and the webhook delivery log.

- ``GET /sandbox/faults``: the fault configuration as JSON.
- ``POST /sandbox/faults``: a JSON object of keys to change; 400 with ``{"error": ...}`` when a
  key or value is invalid (nothing is changed then).
- ``GET /sandbox/deliveries``: the delivery log, newest first (``?limit=N``, default 100), as JSON,
  or as a small HTML table when the client prefers HTML (a browser) or asks ``?format=html``.
- ``POST /sandbox/deliveries/flush``: sends the deliveries waiting in the queue
  (``delivery_delay_ms``) now, as a run of WP-Cron would, and waits until every delivery
  finished (``?timeout=`` seconds, default 10); 200 ``{"idle": true}`` or 504
  ``{"idle": false}``.
- ``GET /sandbox/widget``, ``POST /sandbox/widget`` ``{"url": ...}``: the script the storefront
  pages load (a plugin's storefront widget, as a merchant adds it to a theme), changed while the
  store runs; ``null`` removes it; 400 unless an absolute http(s) URL or null.

These endpoints are unauthenticated on purpose: the sandbox is a local test double.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from sandbox.widget import widget_url_from

bp = Blueprint("sandbox_admin", __name__, template_folder="templates")

_MAX_FLUSH_SECONDS = 120.0


def _sandbox() -> dict[str, Any]:
    return current_app.extensions["sandbox"]  # type: ignore[no-any-return]


@bp.get("/faults")
def get_faults() -> Response:
    """Current fault configuration."""
    return jsonify(_sandbox()["faults"].snapshot())


@bp.post("/faults")
def update_faults() -> tuple[Response, int] | Response:
    """Change some fault keys at runtime."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify({"error": "expected a JSON object"}), 400
    try:
        snapshot = _sandbox()["faults"].update(payload)
    except ValueError as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify(snapshot)


@bp.get("/deliveries")
def list_deliveries() -> tuple[Response, int] | Response | str:
    """The webhook delivery log, newest first."""
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        return jsonify({"error": "limit must be an integer"}), 400
    items = _sandbox()["deliverer"].deliveries(limit=limit)
    wants_html = request.args.get("format") == "html" or (
        "format" not in request.args
        and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )
    if wants_html:
        return render_template("sandbox/deliveries.html", deliveries=items)
    return jsonify(items)


@bp.post("/deliveries/flush")
def flush_deliveries() -> tuple[Response, int]:
    """Send the queued webhook deliveries now and wait for all of them to finish."""
    try:
        timeout = min(float(request.args.get("timeout", "10")), _MAX_FLUSH_SECONDS)
    except ValueError:
        return jsonify({"error": "timeout must be a number"}), 400
    deliverer = _sandbox()["deliverer"]
    deliverer.run_queue()
    idle = deliverer.wait_idle(timeout)
    return jsonify({"idle": idle}), 200 if idle else 504


@bp.get("/widget")
def get_widget() -> Response:
    """The storefront's widget script URL, or null."""
    return jsonify({"url": _sandbox().get("widget_url") or None})


@bp.post("/widget")
def set_widget() -> tuple[Response, int] | Response:
    """Set (or, with null, remove) the script every storefront page loads."""
    try:
        url = widget_url_from(request.get_json(silent=True))
    except ValueError as error:
        return jsonify({"error": str(error)}), 400
    _sandbox()["widget_url"] = url
    return jsonify({"url": url})
