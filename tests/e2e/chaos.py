"""Chaos run (issue 7): many orders through the sandbox REST API while the store and the
machines misbehave, then a check against the sandbox's own data.

`make chaos` (`python -m tests.e2e.chaos`) places 1,000 orders; `tests/e2e/test_chaos.py` runs
a reduced one in the normal suite. The whole product runs as real processes, started with
run.py's own supervisor (`run.Stack`), in a temporary home:

- orders: a seeded mix of in-stock, backordered (stock 0, backorders allowed) and partly short
  lines (a product of the order's own with less stock than ordered), eligible statuses
  (pending, processing, on-hold) and ineligible ones (completed, cancelled, failed), paid and
  unpaid, some with shipping and a coupon;
- the sandbox delivers webhooks as a real store does, late: each waits in its queue
  (`delivery_delay_ms`, a minute by default, as WP-Cron runs Action Scheduler) and a resource
  already waiting is not queued twice; it duplicates 30 % of deliveries, drops 10 %, and answers
  5 % of REST calls 429 (with Retry-After) or 5xx (our own calls too; the driver retries them);
- every worker is killed with SIGKILL (its whole process group) at random moments, three
  rounds, and restarted as a process manager would; Redis is killed and restarted once.

Then it waits until the store is consistent and the plugin quiet, and checks, per order:
an eligible order with a shortage and something to ship is split exactly once (one child with
`parent_id`, the expected quantities on both); one where nothing can ship is held (on-hold,
untouched lines); every other order is unchanged; quantities per product and money (to the
cent) are conserved between the original and its backorder order; no other order appeared; no
RQ job failed and no inbox event is left pending, enqueued or failed.

Two store settings are changed as the merchant would on the settings page: the API rate limit
(5/s by default) and the reconciliation interval (300 s), so that 1,000 orders and the
dropped deliveries are dealt with in minutes; worker knobs (BACKORDERS_*) make heartbeats,
the reaper and the periodic jobs frequent.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

import run

CHAOS_FAULTS: dict[str, object] = {
    "duplicate_rate": 0.3,
    "drop_rate": 0.1,
    "throttle_rate": 0.02,  # 429 with Retry-After ...
    "throttle_retry_after": 1,
    "error_rate": 0.03,  # ... and 500/502/503: 5 % of REST calls in all
}
NO_FAULTS: dict[str, object] = {
    "delivery_delay_ms": 0,
    "duplicate_rate": 0.0,
    "drop_rate": 0.0,
    "throttle_rate": 0.0,
    "error_rate": 0.0,
}
# Frequent heartbeats, reaper passes, requeues and reconciliation ticks (worker.py).
WORKER_ENV = {
    "LOG_LEVEL": "INFO",
    "BACKORDERS_HEARTBEAT": "1",
    "BACKORDERS_REAP_TICK": "1",
    "BACKORDERS_REAP_STALE": "4",  # the guardian reaps every second; no periodic reaper job
    "BACKORDERS_REQUEUE_INTERVAL": "10",
    "BACKORDERS_RECONCILE_TICK": "10",
    "BACKORDERS_MAINTENANCE_INTERVAL": "5",
}
# Job ids that recur by design (worker.py, plugin/adapters/queue/relay.py): not work left undone.
RECURRING = ("periodic-", "reconcile-", "allocate-")
API_RATE_LIMIT = 50.0  # REST calls per second the plugin allows itself on the store
# Seconds between reconciliations of the store (the settings page allows 60 s at least). Each pass
# also queues an allocation job for every product open backorders wait for, and each such job reads
# every open backorder order of its product one by one (plugin/usecases/releasing.py): with hundreds
# of open backorders a short interval floods the queue.
RECONCILE_INTERVAL = 120
# How late the sandbox sends each webhook: WP-Cron runs the Action Scheduler queue about once a
# minute on a store with traffic (README "Webhook timing on a real store").
DELIVERY_DELAY_MS = 60_000

ELIGIBLE = ("pending", "processing", "on-hold")
INELIGIBLE = ("completed", "cancelled", "failed")
PAYMENT_METHODS = ("bacs", "cod", "stripe")
IN_STOCK_PRICES = ("7.25", "12.50", "3.99", "19.00")
BACKORDER_PRICES = ("54.00", "8.75", "23.10", "31.00", "4.40", "66.60", "12.00", "9.99")


def backorder_products(orders: int) -> int:
    """How many shared backordered products: enough that each has a few dozen open backorders
    at most (an allocation reads all of its product's open backorder orders)."""
    return max(len(BACKORDER_PRICES), orders // 30)


CENT = Decimal("0.01")


# --- the plan: what is ordered, and what must become of it ---------------------------------


@dataclass(frozen=True)
class LineSpec:
    """One line to order: `kind` is 'stock', 'backorder' or 'short' (a product of its own
    with `stock` units, fewer than ordered)."""

    kind: str
    quantity: int
    index: int = 0  # which shared product ('stock' and 'backorder')
    stock: int = 0  # the short product's stock
    price: str = "0"


@dataclass(frozen=True)
class OrderSpec:
    status: str
    set_paid: bool
    payment_method: str
    lines: tuple[LineSpec, ...]
    shipping: str | None = None
    coupon: str | None = None


def plan_orders(rng: random.Random, count: int) -> list[OrderSpec]:
    """A seeded mix of orders (see the module docstring)."""
    specs = []
    for _ in range(count):
        eligible = rng.random() < 0.75
        status = rng.choice(ELIGIBLE if eligible else INELIGIBLE)
        lines = []
        used: set[tuple[str, int]] = set()
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.5:
                index = rng.randrange(len(IN_STOCK_PRICES))
                if ("stock", index) in used:
                    continue
                used.add(("stock", index))
                lines.append(LineSpec("stock", rng.randint(1, 3), index=index))
            elif roll < 0.97:
                index = rng.randrange(backorder_products(count))
                if ("backorder", index) in used:
                    continue
                used.add(("backorder", index))
                lines.append(LineSpec("backorder", rng.randint(1, 3), index=index))
            else:
                stock = rng.randint(1, 3)
                price = f"{rng.randint(100, 9999) / 100:.2f}"
                quantity = stock + rng.randint(1, 2)
                lines.append(LineSpec("short", quantity, stock=stock, price=price))
        shipping = f"{rng.choice((4, 5, 9))}.95" if rng.random() < 0.3 else None
        coupon = f"{rng.randint(1, 300) / 100:.2f}" if rng.random() < 0.2 else None
        specs.append(
            OrderSpec(
                status=status,
                set_paid=rng.random() < 0.5,
                payment_method=rng.choice(PAYMENT_METHODS),
                lines=tuple(lines),
                shipping=shipping,
                coupon=coupon,
            )
        )
    return specs


def expected_split(lines: Iterable[LineSpec]) -> tuple[dict[str, int], dict[str, int]]:
    """Units that ship now and units on backorder per line kind+index, seen from the order.

    In-stock products have far more stock than the run orders; backordered ones start at 0
    and only ever go down, so nothing of them is available to any order; a short line's
    product is its own, so exactly its stock is available."""
    keep: dict[str, int] = {}
    short: dict[str, int] = {}
    for n, line in enumerate(lines):
        key = line_key(line, n)
        if line.kind == "stock":
            keep[key], short[key] = line.quantity, 0
        elif line.kind == "backorder":
            keep[key], short[key] = 0, line.quantity
        else:
            keep[key], short[key] = line.stock, line.quantity - line.stock
    return keep, short


def line_key(line: LineSpec, position: int) -> str:
    return f"{line.kind}:{line.index}" if line.kind != "short" else f"short:{position}"


def outcome(status: str, lines: Iterable[LineSpec]) -> str:
    """'split', 'hold' or 'unchanged' for an order created in `status` with `lines`."""
    if status not in ELIGIBLE:
        return "unchanged"
    keep, short = expected_split(lines)
    if not any(short.values()):
        return "unchanged"
    if not any(keep.values()):
        return "hold"  # nothing can ship now: the whole order waits (plugin/core/split.py)
    return "split"


@dataclass
class Placed:
    """An order as the store created it, and what must become of it."""

    order_id: int
    spec: OrderSpec
    status: str  # as created (set_paid may have moved it on)
    expected: str
    products: dict[int, str]  # product id -> line key
    quantities: dict[int, int]  # product id -> ordered units
    total: Decimal


# --- the store's REST API, retried through the injected faults ------------------------------


class StoreApi:
    """The sandbox REST API with the demo keys; 429 and 5xx (injected before the store acts)
    are retried, so each call happens once."""

    def __init__(self, base_url: str, key: str, secret: str) -> None:
        self.base = base_url.rstrip("/") + "/wp-json/wc/v3"
        self.session = requests.Session()
        self.session.auth = (key, secret)
        self.retried = 0

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        for _ in range(60):
            try:
                response = self.session.request(method, self.base + path, timeout=60, **kwargs)
            except requests.ConnectionError:
                if method != "GET":
                    raise  # the store may have acted: retrying could do it twice
                self.retried += 1
                time.sleep(0.5)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                self.retried += 1
                time.sleep(float(response.headers.get("Retry-After") or 0.2))
                continue
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response.json()
        raise RuntimeError(f"{method} {path}: still refused after 60 attempts")

    def all_orders(self) -> dict[int, dict[str, Any]]:
        orders: dict[int, dict[str, Any]] = {}
        page = 1
        while True:
            batch = self.call(
                "GET",
                "/orders",
                params={"per_page": 100, "page": page, "status": "any", "orderby": "id"},
            )
            orders.update({int(o["id"]): o for o in batch})
            if len(batch) < 100:
                return orders
            page += 1


def create_products(api: StoreApi, specs: list[OrderSpec], tag: str) -> dict[str, Any]:
    """The shared products, and one short product per short line (created before faults)."""
    stock = [
        api.call("POST", "/products", json=_product(f"Chaos stock {n} {tag}", price, 1_000_000))
        for n, price in enumerate(IN_STOCK_PRICES)
    ]
    backorder = [
        api.call(
            "POST",
            "/products",
            json=_product(f"Chaos backorder {n} {tag}", price, 0, "yes" if n % 2 else "notify"),
        )
        for n, price in enumerate(
            BACKORDER_PRICES[i % len(BACKORDER_PRICES)]
            for i in range(backorder_products(len(specs)))
        )
    ]
    short: dict[tuple[int, int], Any] = {}
    for i, spec in enumerate(specs):
        for n, line in enumerate(spec.lines):
            if line.kind == "short":
                short[(i, n)] = api.call(
                    "POST",
                    "/products",
                    json=_product(f"Chaos short {i}.{n}", line.price, line.stock),
                )
    return {"stock": stock, "backorder": backorder, "short": short}


def _product(name: str, price: str, stock: int, backorders: str = "notify") -> dict[str, Any]:
    return {
        "name": name,
        "type": "simple",
        "status": "publish",
        "regular_price": price,
        "manage_stock": True,
        "stock_quantity": stock,
        "backorders": backorders,
    }


BILLING = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "address_1": "1 Compiler Lane",
    "city": "Arlington",
    "postcode": "22201",
    "country": "US",
    "email": "grace@example.com",
}


def place(api: StoreApi, index: int, spec: OrderSpec, products: Mapping[str, Any]) -> Placed:
    """Create one order through REST (firing order.created) and record what must happen."""
    ids: dict[int, str] = {}
    items = []
    for n, line in enumerate(spec.lines):
        if line.kind == "short":
            product = products["short"][(index, n)]
        else:
            product = products[line.kind][line.index]
        ids[int(product["id"])] = line_key(line, n)
        items.append({"product_id": product["id"], "quantity": line.quantity})
    body: dict[str, Any] = {
        "status": spec.status,
        "set_paid": spec.set_paid,
        "payment_method": spec.payment_method,
        "billing": BILLING,
        "shipping": {k: v for k, v in BILLING.items() if k != "email"},
        "line_items": items,
    }
    if spec.shipping:
        body["shipping_lines"] = [
            {"method_id": "flat_rate", "method_title": "Flat rate", "total": spec.shipping}
        ]
    if spec.coupon:
        body["coupon_lines"] = [{"code": "chaos", "discount": spec.coupon}]
    order = api.call("POST", "/orders", json=body)
    status = str(order["status"])
    return Placed(
        order_id=int(order["id"]),
        spec=spec,
        status=status,
        expected=outcome(status, spec.lines),
        products=ids,
        quantities=quantities(order),
        total=Decimal(str(order["total"])),
    )


def quantities(order: Mapping[str, Any]) -> dict[int, int]:
    counts: Counter[int] = Counter()
    for item in order.get("line_items", []):
        counts[int(item["product_id"])] += int(item["quantity"])
    return {pid: qty for pid, qty in counts.items() if qty}


def meta(order: Mapping[str, Any], key: str) -> Any:
    return next((m.get("value") for m in order.get("meta_data", []) if m.get("key") == key), None)


# --- the check -------------------------------------------------------------------------------


def violations(
    placed: Iterable[Placed], orders: Mapping[int, Mapping[str, Any]], first_id: int
) -> list[str]:
    """Everything wrong with the store's orders, one line each (empty: all invariants hold).

    `first_id`: orders with a lower id existed before the run and are not looked at."""
    found: list[str] = []
    by_parent: dict[int, list[Mapping[str, Any]]] = {}
    for order in orders.values():
        parent = int(order.get("parent_id") or 0)
        if parent:
            by_parent.setdefault(parent, []).append(order)
    placed_ids = set()
    for item in placed:
        placed_ids.add(item.order_id)
        now = orders.get(item.order_id)
        if now is None:
            found.append(f"order {item.order_id}: missing from the store")
            continue
        found += _check(item, now, by_parent.get(item.order_id, []))
    for order_id, order in orders.items():
        if order_id < first_id or order_id in placed_ids:
            continue
        parent = int(order.get("parent_id") or 0)
        if parent not in placed_ids:
            found.append(f"order {order_id}: not placed by the run and not a backorder of one")
    return found


def _check(item: Placed, order: Mapping[str, Any], children: list[Mapping[str, Any]]) -> list[str]:
    name = f"order {item.order_id} ({item.status}, {item.expected})"
    problems = []
    now = quantities(order)
    total = Decimal(str(order["total"]))
    if item.expected != "split":
        if children:
            problems.append(f"{name}: {len(children)} backorder order(s), expected none")
        if now != item.quantities:
            problems.append(f"{name}: lines changed {item.quantities} -> {now}")
        if total != item.total:
            problems.append(f"{name}: total changed {item.total} -> {total}")
        status = "on-hold" if item.expected == "hold" else item.status
        if order["status"] != status:
            problems.append(f"{name}: status {order['status']}, expected {status}")
        if item.expected == "unchanged" and meta(order, "backorders_split_key"):
            problems.append(f"{name}: has a split key but must be unchanged")
        return problems
    if len(children) != 1:
        return [f"{name}: {len(children)} backorder orders, expected exactly 1"]
    [child] = children
    moved = quantities(child)
    keep, short = expected_split(item.spec.lines)
    for product_id, ordered in item.quantities.items():
        key = item.products[product_id]
        left, away = now.get(product_id, 0), moved.get(product_id, 0)
        if left + away != ordered:
            problems.append(f"{name}: product {product_id} {left}+{away} units, ordered {ordered}")
        if (left, away) != (keep[key], short[key]):
            problems.append(
                f"{name}: product {product_id} kept {left}, moved {away}; "
                f"expected {keep[key]}, {short[key]}"
            )
    if set(moved) - set(item.quantities):
        problems.append(f"{name}: backorder order has products not ordered: {sorted(moved)}")
    child_total = Decimal(str(child["total"]))
    if (total + child_total).quantize(CENT) != item.total.quantize(CENT):
        problems.append(f"{name}: total {total} + backorder {child_total} != {item.total}")
    key = meta(order, "backorders_split_key")
    if not key or meta(child, "backorders_split_key") != key:
        problems.append(f"{name}: split keys differ: {key} / {meta(child, 'backorders_split_key')}")
    if order["status"] != item.status:
        problems.append(f"{name}: status {order['status']}, expected {item.status}")
    return problems


# --- the plugin's side: jobs and inbox ---------------------------------------------------------


@dataclass
class Plugin:
    """Read-only views of the plugin's queue and inbox (for quiet and stuck checks)."""

    stack: run.Stack
    _db: Any = None

    def __post_init__(self) -> None:
        from plugin.adapters.sql.db import Database

        self._db = Database(self.stack.config().database_url)

    def _connection(self) -> Any:
        import redis

        return redis.Redis.from_url(self.stack.redis_url, socket_timeout=5)

    def busy_jobs(self) -> list[str]:
        """Jobs queued, running or waiting for a retry, apart from the recurring ones (the
        periodic chains, reconciliation and the allocation jobs it queues every pass)."""
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry

        from plugin.adapters.queue.jobs import event_queue

        connection = self._connection()
        try:
            queue = event_queue(connection)
            ids = [
                *queue.get_job_ids(),
                *StartedJobRegistry(queue=queue).get_job_ids(cleanup=False),
                *ScheduledJobRegistry(queue=queue).get_job_ids(cleanup=False),
            ]
        finally:
            connection.close()
        return [i for i in ids if not i.startswith(RECURRING)]

    def quiet(self) -> bool:
        """No job at work, no inbox event waiting, every webhook delivery sent."""
        import redis

        from tests.e2e.helpers import Api

        try:
            if self.busy_jobs():
                return False
        except redis.RedisError:
            return False
        return not self.unfinished_events() and Api.flush_deliveries(
            self.stack.sandbox_url, timeout=5
        )

    def unfinished_events(self) -> list[Any]:
        from plugin.adapters.sql.inbox import InboxRepository

        inbox = InboxRepository(self._db)
        return [e for s in ("pending", "enqueued") for e in inbox.list(status=s, limit=100)]

    def failed_events(self) -> list[Any]:
        from plugin.adapters.sql.inbox import InboxRepository

        return InboxRepository(self._db).list(status="failed", limit=100)

    def failed_jobs(self) -> dict[str, str]:
        """Jobs in RQ's failed registry: id -> the last line of the error."""
        import redis
        from rq.exceptions import NoSuchJobError
        from rq.job import Job
        from rq.registry import FailedJobRegistry

        from plugin.adapters.queue.jobs import event_queue

        connection = self._connection()
        described = {}
        try:
            queue = event_queue(connection)
            for job_id in FailedJobRegistry(queue=queue).get_job_ids(cleanup=False):
                try:
                    job = Job.fetch(job_id, connection=connection, serializer=queue.serializer)
                    last = (job.exc_info or "").strip().splitlines()[-1:] or ["?"]
                except NoSuchJobError:
                    last = ["(expired)"]
                described[job_id] = last[0]
        except redis.RedisError:
            pass  # Redis restarting: the next look sees them
        finally:
            connection.close()
        return described

    def close(self) -> None:
        self._db.dispose()


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Settings:
    orders: int = 1000
    seed: int = 7
    workers: int = 2
    kill_rounds: int = 3
    kill_per_round: int = 0  # workers killed in each round; 0: every running worker
    redis_restarts: int = 1
    reconcile_interval: int = RECONCILE_INTERVAL
    delivery_delay_ms: int = DELIVERY_DELAY_MS
    deadline: float = 2400.0  # seconds after the last order to become consistent
    log: Callable[[str], None] = field(default=lambda line: print(line, flush=True))


@dataclass
class Report:
    orders: int
    outcomes: dict[str, int]
    disruptions: list[str]
    placing_s: float
    consistent_after_s: float  # after the last order was placed
    total_s: float
    violations: list[str] = field(default_factory=list)
    retried_calls: int = 0

    def summary(self) -> str:
        lines = [
            f"chaos: {self.orders} orders placed in {self.placing_s:.1f} s "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.outcomes.items()))})",
            f"chaos: disruptions: {'; '.join(self.disruptions) or 'none'}",
            f"chaos: the driver's own calls retried through faults: {self.retried_calls}",
            f"chaos: consistent {self.consistent_after_s:.1f} s after the last order "
            f"({self.total_s:.1f} s after the first)",
            f"chaos: violations: {len(self.violations)}",
        ]
        lines += [f"  - {v}" for v in self.violations[:50]]
        return "\n".join(lines)


def disruption_plan(rng: random.Random, settings: Settings) -> dict[int, list[str]]:
    """At which order (index) each disruption happens: random moments while orders arrive."""
    plan: dict[int, list[str]] = {}
    low, high = max(1, settings.orders // 10), max(2, settings.orders * 9 // 10)
    for _ in range(settings.kill_rounds):
        plan.setdefault(rng.randint(low, high), []).append("kill")
    for _ in range(settings.redis_restarts):
        plan.setdefault(rng.randint(low, high), []).append("redis")
    return plan


def kill_workers(stack: run.Stack, rng: random.Random, count: int = 0) -> str:
    """SIGKILL `count` running workers (0: all; each its whole group: worker, work horse,
    scheduler), a random moment apart, then start as many again."""
    running = [c for c in stack.worker_children() if c.is_running()]
    if count:
        running = rng.sample(running, min(count, len(running)))
    for child in running:
        stack.supervisor.kill(child)
        time.sleep(rng.uniform(0, 1.5))
    time.sleep(1.0)  # a process manager restarts them after a moment
    for _ in running:
        stack.start_worker()
    return f"SIGKILL {len(running)} worker{'' if len(running) == 1 else 's'}"


def execute(settings: Settings, home: Path) -> Report:
    """Start the stack in `home`, run the chaos and the check; stop everything."""
    from tests.processes import free_port

    say = settings.log
    rng = random.Random(settings.seed)
    supervisor = run.Supervisor(log_dir=home / "logs")
    stack = run.Stack(
        home=home,
        port=free_port(),
        sandbox_port=free_port(),
        workers=settings.workers,
        supervisor=supervisor,
        extra_env=WORKER_ENV,
    )
    plugin: Plugin | None = None
    try:
        stack.start()
        assert stack.demo is not None and stack.store_id is not None
        _tune_store(stack, settings.reconcile_interval)
        plugin = Plugin(stack)
        api = StoreApi(stack.sandbox_url, stack.demo.consumer_key, stack.demo.consumer_secret)
        specs = plan_orders(rng, settings.orders)
        products = create_products(api, specs, f"{settings.seed}")
        first_id = max(api.all_orders(), default=0) + 1
        run.set_sandbox_faults(
            stack.sandbox_url,
            {
                **CHAOS_FAULTS,
                "delivery_delay_ms": settings.delivery_delay_ms,
                "seed": settings.seed,
            },
        )
        plan = disruption_plan(rng, settings)
        say(f"chaos: stack up in {home}; placing {settings.orders} orders")

        started = time.monotonic()
        placed: list[Placed] = []
        disruptions: list[str] = []
        for index, spec in enumerate(specs):
            for action in plan.get(index, []):
                at = time.monotonic() - started
                if action == "kill":
                    done = kill_workers(stack, rng, settings.kill_per_round)
                else:
                    stack.restart_redis(crash=True)
                    done = "SIGKILL Redis and restart it"
                disruptions.append(f"{done} at order {index} ({at:.1f} s)")
                say(f"chaos: {disruptions[-1]}")
            placed.append(place(api, index, spec, products))
            if (index + 1) % 100 == 0:
                say(f"chaos: {index + 1} orders placed")
        placing = time.monotonic() - started
        last_order = time.monotonic()

        deadline = last_order + settings.deadline
        problems: list[str] = ["not checked yet"]
        failed: dict[str, str] = {}
        next_report, busy = last_order + 30, -1
        while time.monotonic() < deadline:
            supervisor.check()
            # Failed allocation jobs expire after a minute: note every one while waiting.
            failed.update(plugin.failed_jobs())
            orders = api.all_orders()
            problems = violations(placed, orders, first_id)
            if not problems and plugin.quiet():
                break
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + 30
                with contextlib.suppress(Exception):  # Redis may be away for a moment
                    busy = len(plugin.busy_jobs())
                say(
                    f"chaos: {time.monotonic() - last_order:.0f} s after the last order: "
                    f"{len(problems)} problems left, {busy} jobs at work"
                )
            time.sleep(2)
        consistent = time.monotonic()
        # Quiet and consistent: look once more after a moment (a late duplicate must not
        # split anything again), and at what failed or got stuck on the way.
        time.sleep(3)
        problems = violations(placed, api.all_orders(), first_id)
        if not _within(30, plugin.quiet):
            problems.append(f"the plugin is still busy: jobs {plugin.busy_jobs()[:10]}")
        failed.update(plugin.failed_jobs())
        problems += [f"failed job {job_id}: {error}" for job_id, error in sorted(failed.items())]
        problems += [
            f"inbox event {e.id} ({e.topic} {e.resource_id}) failed: {e.error}"
            for e in plugin.failed_events()
        ]
        problems += [
            f"inbox event {e.id} ({e.topic} {e.resource_id}) stuck {e.status}"
            for e in plugin.unfinished_events()
        ]
        run.set_sandbox_faults(stack.sandbox_url, NO_FAULTS)
        return Report(
            orders=len(placed),
            outcomes=dict(Counter(p.expected for p in placed)),
            disruptions=disruptions,
            placing_s=placing,
            consistent_after_s=consistent - last_order,
            total_s=consistent - started,
            violations=problems,
            retried_calls=api.retried,
        )
    finally:
        if plugin is not None:
            plugin.close()
        left = supervisor.stop_all()
        if left:
            say(f"chaos: could not stop {[c.name for c in left]}")


def _within(seconds: float, predicate: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return True


def _tune_store(stack: run.Stack, reconcile_interval: int) -> None:
    """The store's API rate limit and reconciliation interval, as set on its settings page
    (below the page's 60 s minimum for the interval: dropped deliveries are found in seconds)."""
    from plugin.adapters.sql.db import Database
    from plugin.adapters.sql.stores import StoreRepository
    from plugin.adapters.vault import Vault

    assert stack.store_id is not None
    config = stack.config()
    db = Database(config.database_url)
    try:
        StoreRepository(db, Vault(config.secret_key)).update(
            stack.store_id,
            api_rate_limit=API_RATE_LIMIT,
            reconcile_interval_seconds=reconcile_interval,
            reconcile_checkpoint=dt.datetime.now(dt.UTC),
        )
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Backorders chaos run (issue 7)")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-rounds", type=int, default=3)
    parser.add_argument(
        "--kill-per-round", type=int, default=2, help="workers killed each round (0: all)"
    )
    parser.add_argument("--redis-restarts", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=2400.0)
    parser.add_argument("--reconcile-interval", type=int, default=RECONCILE_INTERVAL)
    parser.add_argument(
        "--delivery-delay-ms",
        type=int,
        default=DELIVERY_DELAY_MS,
        help="how long each webhook waits in the sandbox's queue (0: sent at once)",
    )
    parser.add_argument("--home", type=Path, help="instance folder (default: a temporary one)")
    args = parser.parse_args(argv)
    settings = Settings(
        orders=args.orders,
        seed=args.seed,
        workers=args.workers,
        kill_rounds=args.kill_rounds,
        kill_per_round=args.kill_per_round,
        redis_restarts=args.redis_restarts,
        reconcile_interval=args.reconcile_interval,
        delivery_delay_ms=args.delivery_delay_ms,
        deadline=args.deadline,
    )
    home = args.home or Path(tempfile.mkdtemp(prefix="bo-chaos-"))
    # Ctrl-C or SIGTERM (also when started in the background) stops the stack cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        report = execute(settings, home.resolve())
        print(report.summary(), flush=True)
        print(f"chaos: logs in {home / 'logs'}", flush=True)
        return 1 if report.violations else 0
    return 130


if __name__ == "__main__":
    sys.exit(main())
