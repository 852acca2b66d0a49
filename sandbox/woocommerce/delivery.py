"""Webhook delivery for the sandbox store, behaving like WooCommerce's `WC_Webhook`.

Mirrors `woocommerce/woocommerce` `plugins/woocommerce/includes/class-wc-webhook.php`
(`deliver`, `build_payload`, `generate_signature`, `log_delivery`, `deliver_ping`) and the facts in
`../shared/reference/woocommerce/README.md`:

- deliveries run in the background, here one worker thread. WooCommerce queues each one in
  Action Scheduler at the end of the request (wc-webhook-functions.php
  `wc_webhook_execute_queue`) and WP-Cron runs the queue later, typically a minute after and
  only when the site gets traffic; sending inside the request is the exception (the
  `woocommerce_webhook_deliver_async` filter). The sandbox sends at once unless the
  ``delivery_delay_ms`` fault is set: then each delivery waits that long in a queue, and, like
  Action Scheduler, a resource already waiting for a webhook is not queued a second time for it
  (its payload is built when it is sent, so it shows the latest state). ``run_queue`` sends the
  queue now, as a system cron running WP-Cron would;
- POST, 60 s timeout, redirects not followed, body = compact JSON of the REST representation
  read when the delivery runs (`*.deleted`: only ``{"id": N}``);
- headers X-WC-Webhook-Source/-Topic/-Resource/-Event/-Signature/-ID/-Delivery-ID; the delivery
  id is `get_new_delivery_id()`, wp_hash(webhook id . current second): an HMAC-MD5 with the
  site's salt, the same for deliveries of one webhook within one second;
- signature = base64(HMAC-SHA256(secret after HTML-entity decoding, body bytes));
- a response code 200..302 is a success, anything else (or no response) a failure, reported to
  the store which counts consecutive failures; no retries;
- the creation ping is a synchronous form-encoded ``webhook_id=N`` without signature, and only
  an exact 200 counts.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import requests

from sandbox.faults import DeliveryPlan, Faults
from sandbox.woocommerce.store.contract import WC_VERSION, WP_VERSION

log = logging.getLogger(__name__)

# class-wc-webhook.php: 'WooCommerce/%s Hookshot (WordPress/%s)'.
DEFAULT_USER_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"
# class-wc-webhook.php deliver(): 'timeout' => MINUTE_IN_SECONDS, 'redirection' => 0.
DELIVERY_TIMEOUT_SECONDS = 60.0
# deliver_ping() uses wp_safe_remote_post() defaults: 5 s timeout, redirects followed.
PING_TIMEOUT_SECONDS = 5.0
LOG_SIZE = 1000


class StoreLike(Protocol):
    """The part of `sandbox.woocommerce.store.Store` that delivery needs."""

    def order_json(self, order_id: int) -> dict[str, Any] | None: ...
    def product_json(self, product_id: int) -> dict[str, Any] | None: ...
    def webhooks_for(self, topic: str) -> list[dict[str, Any]]: ...
    def webhook(self, webhook_id: int) -> dict[str, Any] | None: ...
    def record_delivery(self, webhook_id: int, success: bool) -> None: ...


def decode_secret(secret: str) -> str:
    """Decode HTML entities the way `wp_specialchars_decode($secret, ENT_QUOTES)` does."""
    # WordPress decodes only the five special characters (& < > " '), named or numeric.
    return _ENTITY.sub(_decode_entity, secret)


_SPECIAL = {"amp": "&", "lt": "<", "gt": ">", "quot": '"'}
_SPECIAL_CODES = {38, 60, 62, 34, 39}
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot)|#0*(\d+)|#[xX]0*([0-9a-fA-F]+));")


def _decode_entity(match: re.Match[str]) -> str:
    named, decimal, hexa = match.groups()
    if named:
        return _SPECIAL[named]
    code = int(decimal) if decimal else int(hexa, 16)
    return chr(code) if code in _SPECIAL_CODES else match.group(0)


def sign(secret: str, body: bytes) -> str:
    """X-WC-Webhook-Signature: base64 HMAC-SHA256 of the exact body with the decoded secret."""
    digest = hmac.new(decode_secret(secret).encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_payload(payload: Any) -> bytes:
    """Encode like `trim(wp_json_encode($payload))`: compact, ASCII-only, slashes escaped."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    # PHP's json_encode escapes "/" by default; "/" can only occur inside JSON strings.
    return text.replace("/", "\\/").strip().encode("ascii")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def delivery_id(salt: bytes, webhook_id: int, second: int) -> str:
    """WC_Webhook::get_new_delivery_id: wp_hash($id . strtotime('now')), i.e.
    hash_hmac('md5', "<id><unix second>", the site's auth salt)."""
    return hmac.new(salt, f"{webhook_id}{second}".encode(), hashlib.md5).hexdigest()


class Deliverer:
    """Delivers store events to the store's active webhooks from one background thread."""

    def __init__(
        self,
        store: StoreLike,
        faults: Faults | None = None,
        *,
        source_url: str = "",
        user_agent: str = DEFAULT_USER_AGENT,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        salt: bytes | None = None,
    ) -> None:
        self.store = store
        self.faults = faults if faults is not None else Faults()
        self.source_url = source_url
        self.user_agent = user_agent
        self._clock = clock
        self._wall_clock = wall_clock
        # WordPress's auth salt (wp_salt('auth')): secret, fixed for the life of the site.
        self._salt = salt if salt is not None else secrets.token_bytes(32)
        self._cond = threading.Condition()
        self._scheduled: list[tuple[float, int, dict[str, Any]]] = []
        # Queued deliveries not started yet, per (webhook id, resource id): Action Scheduler's
        # pending actions, which wc_webhook_execute_queue does not add twice.
        self._waiting: dict[tuple[int, int], int] = {}
        self._sequence = itertools.count()
        self._busy = 0
        self._closed = False
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._log_lock = threading.Lock()
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ public API
    def on_event(self, topic: str, resource_id: int) -> None:
        """Queue deliveries of a committed store change to its active webhooks; returns at once."""
        # WC_Webhook::process() decides at hook time (webhook active, topic matches) and
        # schedules the delivery; the payload itself is built later, when the delivery runs.
        source = self._source_for_event()
        for webhook in self.store.webhooks_for(topic):
            self._plan(webhook, topic, int(resource_id), source)

    def ping(self, webhook: dict[str, Any]) -> bool:
        """Send the creation ping synchronously; True only when the receiver answers 200."""
        webhook_id = int(webhook["id"])
        started = time.perf_counter()
        entry: dict[str, Any] = {
            "kind": "ping",
            "time": _now_iso(),
            "webhook_id": webhook_id,
            "topic": webhook.get("topic"),
            "resource_id": None,
            "delivery_id": None,
            "delivery_url": webhook["delivery_url"],
            "status_code": None,
            "error": None,
            "fault": None,
        }
        try:
            # class-wc-webhook.php deliver_ping(): body 'webhook_id=N', no signature headers.
            response = requests.post(
                webhook["delivery_url"],
                data=f"webhook_id={webhook_id}".encode(),
                headers={
                    "User-Agent": self.user_agent,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                timeout=PING_TIMEOUT_SECONDS,
            )
            entry["status_code"] = response.status_code
            ok = response.status_code == 200
        except requests.RequestException as exc:
            entry["error"] = type(exc).__name__
            ok = False
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        entry["success"] = ok
        self._append_log(entry)
        return ok

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The delivery log, newest first."""
        with self._log_lock:
            items = list(self._log)
        items.reverse()
        return [dict(item) for item in items[: max(0, limit)]]

    def run_queue(self) -> None:
        """Send every queued delivery now instead of when the queue would run (what a request
        to wp-cron.php does on a real store); fault delays still apply."""
        with self._cond:
            self._scheduled = [
                (min(due, delivery["queued_at"] + delivery["plan"].delay_ms / 1000), seq, delivery)
                for due, seq, delivery in self._scheduled
            ]
            heapq.heapify(self._scheduled)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued delivery has finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        """Stop the worker; queued deliveries that have not started are abandoned."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 5)
        self._session.close()

    # --------------------------------------------------------------- worker
    def _source_for_event(self) -> str:
        # X-WC-Webhook-Source is home_url('/'): the site URL with a trailing slash. Without a
        # configured URL, use the store's site URL, else the host the request came in on.
        source = self.source_url or str(getattr(self.store, "site_url", "") or "")
        if not source:
            try:
                from flask import has_request_context, request

                if has_request_context():
                    source = request.host_url
            except ImportError:  # pragma: no cover - flask is a dependency
                pass
        return source.rstrip("/") + "/"

    def _run(self) -> None:
        while True:
            with self._cond:
                delivery = self._next_due()
                if delivery is None:
                    return
            try:
                self._deliver(delivery)
            except Exception:  # keep the worker alive whatever one delivery does
                log.exception("webhook delivery error webhook_id=%s", delivery["webhook_id"])
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _next_due(self) -> dict[str, Any] | None:
        """Called with the condition held: the next delivery whose time has come."""
        while not self._closed:
            if self._scheduled:
                wait = self._scheduled[0][0] - self._clock()
                if wait <= 0:
                    delivery: dict[str, Any] = heapq.heappop(self._scheduled)[2]
                    key = (delivery["webhook_id"], delivery["resource_id"])
                    if self._waiting.get(key, 0) > 1:
                        self._waiting[key] -= 1
                    else:
                        self._waiting.pop(key, None)
                    return delivery
                self._cond.wait(wait)
            else:
                self._cond.wait()
        return None

    def _plan(self, webhook: dict[str, Any], topic: str, resource_id: int, source: str) -> None:
        """Apply the fault decision for one webhook and schedule its delivery (or not)."""
        plan = self.faults.plan_delivery()
        webhook_id = int(webhook["id"])
        base: dict[str, Any] = {
            "webhook_id": webhook_id,
            "topic": topic,
            "resource_id": resource_id,
            "source": source,
            "plan": plan,
        }
        if plan.drop:
            self._append_log(self._entry(base, webhook, delivery_id=None, fault="drop"))
            return
        now = self._clock()
        due = now + (plan.queue_ms + plan.delay_ms) / 1000
        key = (webhook_id, resource_id)
        with self._cond:
            if self._closed:
                return
            if plan.queue_ms and self._waiting.get(key):
                # wc_webhook_execute_queue: a pending action with the same webhook and resource
                # is not scheduled again; the one waiting sends the latest state.
                log.info("webhook delivery already queued webhook_id=%s topic=%s resource_id=%s",
                         webhook_id, topic, resource_id)  # fmt: skip
                return
            for _ in range(plan.copies):
                self._schedule(due, {**base, "queued_at": now})

    def _schedule(self, due: float, delivery: dict[str, Any]) -> None:
        heapq.heappush(self._scheduled, (due, next(self._sequence), delivery))
        key = (delivery["webhook_id"], delivery["resource_id"])
        self._waiting[key] = self._waiting.get(key, 0) + 1
        self._busy += 1
        self._cond.notify_all()

    def _entry(
        self,
        base: dict[str, Any],
        webhook: dict[str, Any] | None,
        *,
        delivery_id: str | None,
        fault: str | None,
    ) -> dict[str, Any]:
        return {
            "kind": "delivery",
            "time": _now_iso(),
            "webhook_id": base["webhook_id"],
            "topic": base["topic"],
            "resource_id": base["resource_id"],
            "delivery_id": delivery_id,
            "delivery_url": webhook.get("delivery_url") if webhook else None,
            "status_code": None,
            "error": None,
            "duration_ms": 0.0,
            "fault": fault,
            "success": False,
        }

    def _deliver(self, delivery: dict[str, Any]) -> None:
        plan: DeliveryPlan = delivery["plan"]
        webhook_id = delivery["webhook_id"]
        # wc_deliver_webhook_async() reloads the webhook by id when the action runs.
        webhook = self.store.webhook(webhook_id)
        entry_id = delivery_id(self._salt, webhook_id, int(self._wall_clock()))
        entry = self._entry(delivery, webhook, delivery_id=entry_id, fault=plan.label)
        if webhook is None:
            entry["error"] = "webhook deleted"
            self._append_log(entry)
            return
        started = time.perf_counter()
        if plan.fail:
            entry["error"] = "injected failure"
        else:
            self._post(webhook, delivery, entry_id, entry)
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        self._append_log(entry)
        self.store.record_delivery(webhook_id, bool(entry["success"]))

    def _post(
        self,
        webhook: dict[str, Any],
        delivery: dict[str, Any],
        delivery_id: str,
        entry: dict[str, Any],
    ) -> None:
        topic: str = delivery["topic"]
        resource, _, event = topic.partition(".")
        payload = self._payload(resource, event, delivery["resource_id"], delivery["source"])
        body = encode_payload(payload)
        headers = {
            "User-Agent": self.user_agent,
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": delivery["source"],
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": sign(webhook.get("secret") or "", body),
            "X-WC-Webhook-ID": str(webhook["id"]),
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }
        try:
            response = self._session.post(
                webhook["delivery_url"],
                data=body,
                headers=headers,
                timeout=DELIVERY_TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            entry["error"] = type(exc).__name__
            return
        entry["status_code"] = response.status_code
        # log_delivery(): a code >= 200 and < 303 resets the failure count.
        entry["success"] = 200 <= response.status_code < 303

    def _payload(self, resource: str, event: str, resource_id: int, source: str) -> Any:
        # build_payload(): a deleted resource is only its id; otherwise what
        # `GET /wc/v3/<resource>s/<id>` answers when the delivery runs. RestApiUtil
        # get_endpoint_data() passes it through response_to_data(), so `_links` is included.
        if event == "deleted":
            return {"id": resource_id}
        if resource == "order":
            data = self.store.order_json(resource_id)
        elif resource == "product":
            data = self.store.product_json(resource_id)
        else:
            data = None
        if data is None:
            # What get_endpoint_data() returns when the resource no longer exists.
            post_type = "shop_order" if resource == "order" else resource
            return {
                "code": f"woocommerce_rest_{post_type}_invalid_id",
                "message": "Invalid ID.",
                "data": {"status": 404},
            }
        return {**data, "_links": _links(resource, data, source + "wp-json/wc/v3")}

    def _append_log(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._log.append(entry)
        log.info(
            "webhook %s webhook_id=%s topic=%s resource_id=%s status=%s error=%s fault=%s",
            entry["kind"],
            entry["webhook_id"],
            entry["topic"],
            entry["resource_id"],
            entry["status_code"],
            entry["error"],
            entry["fault"],
        )


def _links(resource: str, data: dict[str, Any], base: str) -> dict[str, Any]:
    """The REST `_links` of an order or product, as the sandbox REST API renders them."""
    plural = f"{resource}s"
    links: dict[str, Any] = {
        "self": [{"href": f"{base}/{plural}/{data['id']}"}],
        "collection": [{"href": f"{base}/{plural}"}],
    }
    if resource == "order" and data.get("customer_id"):
        links["customer"] = [{"href": f"{base}/customers/{data['customer_id']}"}]
    if data.get("parent_id"):
        links["up"] = [{"href": f"{base}/{plural}/{data['parent_id']}"}]
    return links


__all__ = [
    "DEFAULT_USER_AGENT",
    "Deliverer",
    "decode_secret",
    "delivery_id",
    "encode_payload",
    "sign",
]
