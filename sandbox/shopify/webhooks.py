"""Webhook delivery as Shopify does it: signed JSON POSTs, retried with exponential backoff.

Facts relied on (shopify.dev "About webhooks", "Verify webhooks", "Ignore duplicates" and the
changelog "Updates to webhook retry mechanism", effective 2024-09-10):

- the body is the REST JSON of the resource, built when the event was triggered; a retry sends
  that same body to the address the subscription had then;
- headers ``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body
  with the app's secret), ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``,
  ``X-Shopify-Webhook-Id`` (one delivery, the same on its retries), ``X-Shopify-Event-Id`` (the
  event, the same on every delivery and retry of it: the key to ignore duplicates) and
  ``X-Shopify-Triggered-At``;
- a 2xx answer within 5 seconds is a success; anything else (another status, a redirect, a
  timeout, no connection) fails and is retried 8 times over 4 hours with exponential backoff.
  ``retry_scale`` compresses that schedule for tests (0.001: the 8 retries within 15 s).

Faults (``sandbox.faults.Faults``, shared with the WooCommerce sandbox) apply to each attempt:
``fail_next`` fails attempts without reaching the receiver (they are then retried), a drop loses
the attempt, a duplicate sends it twice, a delay holds it back.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import requests

from sandbox.faults import Faults
from sandbox.shopify import schema, subscriptions
from sandbox.shopify.apps import AppConfig, Apps
from sandbox.shopify.shop import Event, Shop

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
RETRIES = 8
RETRY_WINDOW_SECONDS = 4 * 3600
# Exponential backoff: delay n = base * 2**n, the 8 delays adding up to the 4-hour window.
RETRY_BASE_SECONDS = RETRY_WINDOW_SECONDS / (2**RETRIES - 1)
USER_AGENT = "Shopify-Captain-Hook"
LOG_SIZE = 2000


def sign(secret: str, body: bytes) -> str:
    """X-Shopify-Hmac-Sha256: base64 of the HMAC-SHA256 of the raw body with the secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def encode(body: Any) -> bytes:
    """The JSON bytes of a webhook body (compact, UTF-8)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def retry_delays(scale: float = 1.0) -> list[float]:
    """Seconds to wait before each of the 8 retries."""
    return [RETRY_BASE_SECONDS * 2**n * scale for n in range(RETRIES)]


@dataclass(frozen=True)
class Delivery:
    """One webhook to one address; the same object (and ids) on each retry."""

    topic: str
    url: str
    body: bytes
    secret: str
    app_id: str
    webhook_id: str
    event_id: str
    triggered_at: str
    api_version: str
    subscription_id: str | None
    attempt: int = 0  # 0 is the first try, 1..8 the retries


class Deliverer:
    """Sends webhooks from a scheduler thread and a few sender threads."""

    def __init__(
        self,
        shop: Shop,
        apps: Apps,
        faults: Faults | None = None,
        *,
        retry_scale: float = 1.0,
        timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        senders: int = 4,
    ) -> None:
        self.shop = shop
        self.apps = apps
        self.faults = faults if faults is not None else Faults()
        self.retry_scale = retry_scale
        self.timeout = timeout
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, tuple[Delivery, str | None, int]]] = []
        self._sequence = itertools.count()
        self._busy = 0
        self._closed = False
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._session = requests.Session()
        self._pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="shopify-hook")
        self._thread = threading.Thread(target=self._run, name="shopify-webhooks", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public
    def on_events(self, events: list[Event], only_app: str | None = None) -> None:
        """Queue the deliveries of committed events to their subscriptions (of one app)."""
        for event in events:
            with self.shop.lock:
                subscribers = [
                    dict(s)
                    for s in subscriptions.for_topic(self.shop, event.topic)
                    if only_app is None or s["_app"] == only_app
                ]
            if not subscribers:
                continue
            event_id = str(uuid.uuid4())
            body = encode(event.body)
            for subscription in subscribers:
                app = self.apps.by_id.get(subscription["_app"])
                if app is None:
                    continue
                self.queue(
                    Delivery(
                        topic=event.topic,
                        url=subscription["_callback_url"],
                        body=body,
                        secret=app.client_secret,
                        app_id=app.id,
                        webhook_id=str(uuid.uuid4()),
                        event_id=event_id,
                        triggered_at=_triggered_at(),
                        api_version=subscription["_api_version"],
                        subscription_id=subscription["id"],
                    )
                )

    def send_to_app(self, app: AppConfig, topic: str, url: str, body: dict[str, Any]) -> str:
        """Queue a webhook to an app's own address (compliance topics); its event id."""
        event_id = str(uuid.uuid4())
        self.queue(
            Delivery(
                topic=topic,
                url=url,
                body=encode(body),
                secret=app.client_secret,
                app_id=app.id,
                webhook_id=str(uuid.uuid4()),
                event_id=event_id,
                triggered_at=_triggered_at(),
                api_version=schema.API_VERSION,
                subscription_id=None,
            )
        )
        return event_id

    def queue(self, delivery: Delivery, wait: float = 0.0) -> None:
        """Plan one attempt of a delivery, with the faults' decision for it."""
        plan = self.faults.plan_delivery()
        if plan.drop:
            self._record(delivery, fault="drop", error="dropped")
            return
        due = self._clock() + wait + (plan.queue_ms + plan.delay_ms) / 1000
        with self._cond:
            if self._closed:
                return
            for copy in range(plan.copies):
                entry = (delivery, plan.label, copy)
                heapq.heappush(self._heap, (due, next(self._sequence), entry))
                self._busy += 1
            self._cond.notify_all()

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The delivery log, newest first."""
        with self._cond:
            items = list(self._log)
        items.reverse()
        return [dict(item) for item in items[: max(0, limit)]]

    def run_queue(self) -> None:
        """Send every waiting attempt (retries too) now."""
        with self._cond:
            now = self._clock()
            self._heap = [(now, seq, entry) for _, seq, entry in self._heap]
            heapq.heapify(self._heap)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        """Stop; attempts not yet started are abandoned."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._session.close()

    # ------------------------------------------------------------------ worker
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > self._clock()):
                    wait = self._heap[0][0] - self._clock() if self._heap else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                _, _, entry = heapq.heappop(self._heap)
            self._pool.submit(self._attempt, *entry)

    def _attempt(self, delivery: Delivery, fault: str | None, _copy: int) -> None:
        try:
            if not self._post(delivery, fault):
                self._retry(delivery)
        except Exception:  # keep the sender alive whatever one attempt does
            log.exception("webhook attempt error topic=%s", delivery.topic)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def _post(self, delivery: Delivery, fault: str | None) -> bool:
        started = time.perf_counter()
        if fault == "fail_next":
            self._record(delivery, fault=fault, error="injected failure")
            return False
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": sign(delivery.secret, delivery.body),
            "X-Shopify-Shop-Domain": self.shop.info.domain,
            "X-Shopify-API-Version": delivery.api_version,
            "X-Shopify-Webhook-Id": delivery.webhook_id,
            "X-Shopify-Event-Id": delivery.event_id,
            "X-Shopify-Triggered-At": delivery.triggered_at,
        }
        try:
            response = self._session.post(
                delivery.url,
                data=delivery.body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._record(delivery, fault=fault, error=type(exc).__name__, started=started)
            return False
        success = 200 <= response.status_code < 300
        self._record(
            delivery, fault=fault, status=response.status_code, success=success, started=started
        )
        return success

    def _retry(self, delivery: Delivery) -> None:
        if delivery.attempt >= RETRIES:
            log.warning(
                "webhook gave up topic=%s webhook_id=%s attempts=%s",
                delivery.topic,
                delivery.webhook_id,
                delivery.attempt + 1,
            )
            return
        wait = retry_delays(self.retry_scale)[delivery.attempt]
        self.queue(replace(delivery, attempt=delivery.attempt + 1), wait=wait)

    def _record(
        self,
        delivery: Delivery,
        *,
        fault: str | None = None,
        error: str | None = None,
        status: int | None = None,
        success: bool = False,
        started: float | None = None,
    ) -> None:
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "topic": delivery.topic,
            "url": delivery.url,
            "webhook_id": delivery.webhook_id,
            "event_id": delivery.event_id,
            "subscription_id": delivery.subscription_id,
            "attempt": delivery.attempt,
            "status_code": status,
            "success": success,
            "error": error,
            "fault": fault,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else 0.0,
        }
        with self._cond:
            self._log.append(entry)
        log.info(
            "webhook topic=%s attempt=%s status=%s error=%s fault=%s",
            delivery.topic,
            delivery.attempt,
            status,
            error,
            fault,
        )


def _triggered_at() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
