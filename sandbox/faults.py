"""Fault injection for the sandbox store: slow, rate-limited and failing API, lossy webhooks.

Every fault is off by default. Config keys (all optional, changeable at runtime via `update`):

- ``latency_ms``: added to every REST API request before it is handled.
- ``rate_limit_per_sec``: accepted REST requests per consumer key in any one-second window;
  beyond it the request is answered ``429`` with ``Retry-After`` (whole seconds).
- ``throttle_rate``: probability (0..1) that a REST request is answered ``429`` with
  ``Retry-After: <throttle_retry_after>`` (whole seconds, default 1), as a store behind a
  shared limiter or a CDN does at random moments rather than on a fixed budget.
- ``error_rate``: probability (0..1) that a REST request is answered 500, 502 or 503.
- ``drop_rate``: probability that a webhook delivery is never sent.
- ``duplicate_rate``: probability that a webhook delivery is sent twice.
- ``delay_rate`` + ``delay_max_ms``: probability that a delivery is held back up to
  ``delay_max_ms`` milliseconds, so later deliveries overtake it (reordering).
- ``fail_next``: the next N webhook deliveries fail without reaching the receiver.
- ``api_fail_next``: the next N API requests are answered 503 (a fault at a chosen moment, where
  ``error_rate`` picks moments at random).
- ``api_fail_matching``: every API request whose body contains this text is answered 503 while
  it is set ("" = off): a fault at a chosen step, such as one GraphQL mutation's root field
  (honoured by the Shopify sandbox's GraphQL endpoint, `fails_body`).
- ``delivery_delay_ms``: not a fault but how a real store delivers: each webhook waits in a
  queue this long before it is sent, as WooCommerce queues it in Action Scheduler and WP-Cron
  runs the queue later (see ``sandbox/woocommerce/delivery.py``). 0 (the default) sends at once.
- ``seed``: seeds the random generators so a test sees the same decisions every run.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response

# Each key with its type and default; every fault is off by default.
_DEFAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "rate_limit_per_sec": 0,
    "throttle_rate": 0.0,
    "throttle_retry_after": 1,
    "error_rate": 0.0,
    "drop_rate": 0.0,
    "duplicate_rate": 0.0,
    "delay_rate": 0.0,
    "delay_max_ms": 0,
    "fail_next": 0,
    "api_fail_next": 0,
    "api_fail_matching": "",
    "delivery_delay_ms": 0,
    "seed": None,
}
_RATES = ("throttle_rate", "error_rate", "drop_rate", "duplicate_rate", "delay_rate")
_SERVER_ERRORS = (500, 502, 503)
_WINDOW_SECONDS = 1.0


@dataclass(frozen=True)
class DeliveryPlan:
    """What the fault layer decided for one webhook delivery."""

    fail: bool = False
    drop: bool = False
    copies: int = 1
    delay_ms: int = 0
    queue_ms: int = 0  # the delivery queue's wait (``delivery_delay_ms``), not a fault

    @property
    def label(self) -> str | None:
        """Short name of the fault applied, or None when delivered normally."""
        if self.fail:
            return "fail_next"
        if self.drop:
            return "drop"
        parts = []
        if self.copies > 1:
            parts.append("duplicate")
        if self.delay_ms:
            parts.append(f"delay:{self.delay_ms}ms")
        return "+".join(parts) or None


class Faults:
    """Holds the fault configuration and makes the random decisions, thread-safely."""

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._config: dict[str, Any] = dict(_DEFAULTS)
        self._requests: dict[str, deque[float]] = {}
        self._api_rng = random.Random()
        self._delivery_rng = random.Random()
        self.update(config or {})

    # ----------------------------------------------------------------- config
    def update(self, partial: dict[str, Any]) -> dict[str, Any]:
        """Validate and apply some config keys; return the new snapshot. Raises ValueError."""
        if not isinstance(partial, dict):
            raise ValueError("faults must be a JSON object")
        clean = {key: _validate(key, value) for key, value in partial.items()}
        with self._lock:
            self._config.update(clean)
            if "seed" in clean:
                self._reseed(clean["seed"])
            if "rate_limit_per_sec" in clean:
                self._requests.clear()
            return dict(self._config)

    def snapshot(self) -> dict[str, Any]:
        """Current configuration, with ``fail_next`` as the failures still to come."""
        with self._lock:
            return dict(self._config)

    def _reseed(self, seed: Any) -> None:
        # Two generators so API traffic does not shift the webhook decisions and vice versa.
        self._api_rng = random.Random(None if seed is None else f"{seed}:api")
        self._delivery_rng = random.Random(None if seed is None else f"{seed}:delivery")

    # -------------------------------------------------------------- REST side
    def before_api_request(self, consumer_key: str | None) -> Response | None:
        """Apply latency, rate limit, random 429s and random server errors to one REST
        request."""
        with self._lock:
            latency_ms = self._config["latency_ms"]
        if latency_ms:
            self._sleep(latency_ms / 1000)
        with self._lock:
            limited = self._rate_limited(consumer_key or "")
            if limited is not None:
                return limited
            if self._config["api_fail_next"] > 0:
                self._config["api_fail_next"] -= 1
                return _server_error(503)
            # Draw only when the fault is on, so seeded error sequences stay as they were.
            throttle_rate = self._config["throttle_rate"]
            if throttle_rate and self._api_rng.random() < throttle_rate:
                return _too_many_requests(self._config["throttle_retry_after"])
            error_rate = self._config["error_rate"]
            if error_rate and self._api_rng.random() < error_rate:
                return _server_error(self._api_rng.choice(_SERVER_ERRORS))
        return None

    def fails_body(self, body: str) -> Response | None:
        """A 503 for an API request whose body contains ``api_fail_matching`` (while set)."""
        with self._lock:
            text = self._config["api_fail_matching"]
        return _server_error(503) if text and text in body else None

    def _rate_limited(self, key: str) -> Response | None:
        limit = self._config["rate_limit_per_sec"]
        if not limit:
            return None
        now = self._clock()
        window = self._requests.setdefault(key, deque())
        while window and window[0] <= now - _WINDOW_SECONDS:
            window.popleft()
        if len(window) >= limit:
            return _too_many_requests(max(1, math.ceil(window[0] + _WINDOW_SECONDS - now)))
        window.append(now)
        return None

    # ---------------------------------------------------------- webhook side
    def plan_delivery(self) -> DeliveryPlan:
        """Decide the fault (if any) for the next webhook delivery."""
        with self._lock:
            queue_ms = self._config["delivery_delay_ms"]
            if self._config["fail_next"] > 0:
                self._config["fail_next"] -= 1
                return DeliveryPlan(fail=True, queue_ms=queue_ms)
            rng = self._delivery_rng
            if self._roll(rng, "drop_rate"):
                return DeliveryPlan(drop=True)
            copies = 2 if self._roll(rng, "duplicate_rate") else 1
            delay_ms = 0
            if self._roll(rng, "delay_rate") and self._config["delay_max_ms"]:
                delay_ms = rng.randint(1, self._config["delay_max_ms"])
            return DeliveryPlan(copies=copies, delay_ms=delay_ms, queue_ms=queue_ms)

    def _roll(self, rng: random.Random, key: str) -> bool:
        # Only draw when the fault is on, so turning one fault on does not
        # change the decisions another seeded test relies on.
        rate = self._config[key]
        return bool(rate) and rng.random() < rate


def _validate(key: str, value: Any) -> Any:
    if key not in _DEFAULTS:
        raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(_DEFAULTS))}")
    if key == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | str)):
            raise ValueError("seed must be an integer, a string or null")
        return value
    if key == "api_fail_matching":
        if not isinstance(value, str):
            raise ValueError("api_fail_matching must be a string")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    if key in _RATES:
        if not 0 <= value <= 1:
            raise ValueError(f"{key} must be between 0 and 1")
        return float(value)
    if value < 0 or value != int(value):
        raise ValueError(f"{key} must be a whole number >= 0")
    return int(value)


def _json_response(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _too_many_requests(retry_after: int) -> Response:
    body = {
        "code": "woocommerce_rest_too_many_requests",
        "message": "Too many requests. Please wait and try again.",
        "data": {"status": 429},
    }
    response = _json_response(body, 429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _server_error(status: int) -> Response:
    if status == 500:
        # WordPress answers a fatal error in a REST request with this JSON error.
        body = {
            "code": "internal_server_error",
            "message": "There has been a critical error on this website.",
            "data": {"status": 500},
        }
        return _json_response(body, 500)
    # 502 and 503 come from the proxy in front of PHP, as HTML.
    title = "Bad Gateway" if status == 502 else "Service Unavailable"
    html = f"<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>"
    return Response(html, status=status, mimetype="text/html")


__all__ = ["DeliveryPlan", "Faults"]
