"""Resident memory of the web process and of a worker after 10,000 webhook events (target: under
150 MB each).

The real stack on loopback (`bench/_stack.py`): the web app on gunicorn (an arbiter and one
gthread worker, as `make run` starts it), RQ worker(s) with their scheduler, the sandbox store.
A few real orders are placed first (half of them split). Then 10,000 signed `order.updated`
webhooks are posted straight to the web app, each carrying one of those orders as the store's
REST API returns it:

- new events (a `date_modified_gmt` not seen before): accepted, queued, and processed by a
  worker, which re-reads the order (one REST call) and finds it either split already
  ("ignored") or with everything in stock (re-planned, a decision in the audit trail; no write);
- repeats (an earlier event's `date_modified_gmt`): answered 202 as duplicates and never queued.

RSS (psutil) of every process is sampled each second while the events are sent and processed;
the figures are the last sample (everything processed) and the peak. The RQ worker forks a work
horse per job: its main process and its scheduler live on, the horses are short-lived and shown
as their peak. Seeded, so every run sends the same events. About 4 minutes on the shared
2-core machine (load 6-7: the web answered about 200 webhooks/s, the worker about three jobs/s).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench._stack import Rig, running_stack
from plugin.platforms.woocommerce.signature import sign
from tests.e2e.helpers import create_order, wait_for

EVENTS = 10_000
NEW_FRACTION = 0.05  # the rest repeat an earlier event (each new one is a worker job)
ORDERS = 20  # real orders in the store; half of them split
QUICK_EVENTS, QUICK_ORDERS = 60, 2  # `python -m bench --quick`: does it still run
WORKERS = 1
CLIENTS = 4
SEED = 20261202
TARGET_MB = 150.0
SAMPLE_EVERY_S = 1.0
MB = 1024 * 1024


@dataclass(frozen=True)
class Webhook:
    order_id: int
    modified_gmt: str
    repeat: bool


def webhook_plan(
    order_ids: list[int], events: int, new_fraction: float, seed: int
) -> list[Webhook]:
    """`events` webhooks over `order_ids`: about `new_fraction` with a new `date_modified_gmt`,
    the rest repeating an earlier one of the same order. The first webhook of an order is new."""
    rng = random.Random(seed)
    sent: dict[int, list[str]] = {}
    plan = []
    tick = 0
    for _ in range(events):
        order_id = rng.choice(order_ids)
        earlier = sent.setdefault(order_id, [])
        if earlier and rng.random() >= new_fraction:
            plan.append(Webhook(order_id, rng.choice(earlier), repeat=True))
            continue
        tick += 1
        # Seconds after a fixed moment: distinct for every new event, as WooCommerce's are
        # for every save of an order (dates of the same second would count as one event).
        moment = time.gmtime(1_800_000_000 + tick)
        modified = time.strftime("%Y-%m-%dT%H:%M:%S", moment)
        earlier.append(modified)
        plan.append(Webhook(order_id, modified, repeat=False))
    return plan


@dataclass
class Track:
    """One process seen by the sampler: its kind and RSS at each sample it was alive for."""

    kind: str
    rss: dict[int, int] = field(default_factory=dict)  # sample index -> bytes


@dataclass
class RssSampler:
    """Samples the RSS of the web and worker processes every `SAMPLE_EVERY_S` seconds."""

    rig: Rig
    tracks: dict[int, Track] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        index = self.samples
        for kind, process in self._processes():
            try:
                rss = process.memory_info().rss
            except psutil.NoSuchProcess:  # a work horse that just finished
                continue
            if not rss:  # a finished work horse not yet reaped (a zombie has no memory)
                continue
            self.tracks.setdefault(process.pid, Track(kind)).rss[index] = rss
        self.samples += 1

    def _processes(self) -> Iterator[tuple[str, psutil.Process]]:
        worker_pids = {c.pid for c in self.rig.stack.worker_children()}
        web = next(c for c in self.rig.stack.supervisor.children if c.name == "web")
        for process in self.rig.processes("web"):
            yield ("web arbiter" if process.pid == web.pid else "web worker"), process
        for pid in worker_pids:
            # Not by process group: a work horse calls setsid() and leaves the worker's group.
            try:
                worker = psutil.Process(pid)
                children = worker.children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            yield "rq worker", worker
            for child in children:
                yield "worker child", child

    def roles(self) -> dict[str, dict[str, int | None]]:
        return rss_by_role(self.tracks, self.samples)

    def __enter__(self) -> RssSampler:
        def loop() -> None:
            while not self._stop.wait(SAMPLE_EVERY_S):
                self.sample()

        self.sample()
        self._thread = threading.Thread(target=loop, name="rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()


def rss_by_role(tracks: dict[int, Track], samples: int) -> dict[str, dict[str, int | None]]:
    """Per role: RSS (bytes) at the first and the last of `samples` and the peak, each the
    largest process of the role. A worker's children are its scheduler, alive from the first
    sample to the last, and the work horses it forks for each job, which come and go."""
    first, last = 0, samples - 1
    figures: dict[str, dict[str, int | None]] = {}
    for track in tracks.values():
        role = track.kind
        if role == "worker child":
            role = "rq scheduler" if {first, last} <= set(track.rss) else "work horse"
        entry = figures.setdefault(role, {"start": None, "final": None, "peak": 0})
        for key, index in (("start", first), ("final", last)):
            if index in track.rss:
                entry[key] = max(entry[key] or 0, track.rss[index])
        entry["peak"] = max(entry["peak"] or 0, *track.rss.values())
    return figures


def _post_all(rig: Rig, plan: list[Webhook], bodies: dict[int, dict[str, Any]]) -> dict[str, int]:
    """Post every planned webhook, signed, over `CLIENTS` keep-alive connections; returns how
    many were accepted as new and as duplicates. Any answer but 202, or counts other than
    planned, raise."""
    target = rig.plugin.stores.webhook_target(rig.store_id)
    assert target is not None
    secret = target.webhook_secret
    path = f"/webhooks/woocommerce/{rig.store_id}"
    next_index = iter(range(len(plan)))
    lock = threading.Lock()
    outcome = {"new": 0, "duplicate": 0}
    errors: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", rig.stack.port, timeout=30)
        try:
            while not errors:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                hook = plan[index]
                body = json.dumps(
                    {**bodies[hook.order_id], "date_modified_gmt": hook.modified_gmt}
                ).encode()
                headers = {
                    "Content-Type": "application/json",
                    "X-WC-Webhook-Topic": "order.updated",
                    "X-WC-Webhook-Resource": "order",
                    "X-WC-Webhook-Event": "updated",
                    "X-WC-Webhook-Signature": sign(secret, body),
                }
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status != 202:
                    with lock:
                        errors.append(f"webhook {index} {hook}: {response.status} {answer[:200]!r}")
                    return
                duplicate = bool(json.loads(answer)["duplicate"])
                with lock:
                    outcome["duplicate" if duplicate else "new"] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} webhook(s) not answered 202: {errors[:3]}")
    # Per request the answer may differ from the plan (a repeat sent on another connection can
    # overtake the event it repeats), but each planned event is accepted as new exactly once.
    planned_new = sum(1 for hook in plan if not hook.repeat)
    if outcome != {"new": planned_new, "duplicate": len(plan) - planned_new}:
        raise RuntimeError(f"expected {planned_new} new events, got {outcome}")
    return outcome


def _prepare(rig: Rig, orders: int) -> dict[int, dict[str, Any]]:
    """`orders` real orders, every other one split; each order as the API returns it."""
    towel = rig.api.create_product("Bench Towel", price="7.25", stock=100_000)["id"]
    pan = rig.api.create_product("Bench Pan", price="54.00", stock=0, backorders="notify")["id"]
    ids = []
    for index in range(orders):
        lines = [(towel, 1), (pan, 1)] if index % 2 == 0 else [(towel, 2)]
        ids.append(create_order(rig.api, lines)["id"])
    rig.flush_deliveries()
    wait_for(rig.idle, timeout=120, what="queue idle", describe=rig.busy)
    states = rig.split_states()
    if states != {"done": orders // 2}:
        raise RuntimeError(f"expected {orders // 2} splits done, found {states}")
    rig.require_no_failures()
    return {order_id: rig.api.order(order_id) for order_id in ids}


def _megabytes(value: int | None) -> float | None:
    return None if value is None else round(value / MB, 1)


def main(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    events, orders = (QUICK_EVENTS, QUICK_ORDERS) if quick else (EVENTS, ORDERS)
    load_before = os.getloadavg()[0]
    with running_stack(workers=WORKERS) as rig:
        rig.set_api_rate_limit(1000)  # the store's pacing is not what is measured here
        bodies = _prepare(rig, orders)
        plan = webhook_plan(sorted(bodies), events, NEW_FRACTION, SEED)
        events_before = sum(rig.event_statuses().values())
        with RssSampler(rig) as sampler:
            began = time.monotonic()
            outcome = _post_all(rig, plan, bodies)
            sent_s = time.monotonic() - began
            expected = events_before + outcome["new"]
            wait_for(
                lambda: sum(rig.event_statuses().values()) >= expected and rig.idle(),
                timeout=3600,
                what="every event processed",
            )
            processed_s = time.monotonic() - began
        rig.require_no_failures()
        statuses = rig.event_statuses()
        if sum(statuses.values()) != expected or set(statuses) - {"done", "ignored"}:
            raise RuntimeError(f"expected {expected} events done or ignored, found {statuses}")
    roles = {
        role: {
            "start_mb": _megabytes(rss["start"]),
            "final_mb": _megabytes(rss["final"]),
            "peak_mb": _megabytes(rss["peak"]),
            "under_target": (rss["peak"] or 0) < TARGET_MB * MB,
        }
        for role, rss in sorted(sampler.roles().items())
    }
    result = {
        "webhooks": events,
        "new_events": outcome["new"],
        "repeats": outcome["duplicate"],
        "orders": orders,
        "workers": WORKERS,
        "seconds_to_send": round(sent_s, 1),
        "seconds_to_process": round(processed_s, 1),
        "events_by_status": statuses,
        "rss": roles,
        "target_mb": TARGET_MB,
        "all_under_target": all(r["under_target"] for r in roles.values()),
        "failed_jobs": 0,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    print(
        f"{events} signed order.updated webhooks over {orders} orders: {outcome['new']} new "
        f"events processed by {WORKERS} worker(s), {outcome['duplicate']} repeats (duplicates, "
        f"not queued); sent in {sent_s:.0f} s, all processed after {processed_s:.0f} s"
    )
    for role, figures in roles.items():
        start, final = figures["start_mb"], figures["final_mb"]
        print(
            f"  {role}: RSS {'-' if start is None else start} MB at start, "
            f"{'-' if final is None else final} MB at the end, peak {figures['peak_mb']} MB "
            f"-> {figures['peak_mb'] / TARGET_MB:.2f} of {TARGET_MB:g} MB"
        )
    return result


if __name__ == "__main__":
    main()
