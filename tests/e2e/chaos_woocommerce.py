"""The WooCommerce part of the chaos run (`tests/e2e/chaos.py`): orders placed through the
sandbox REST API, the sandbox's faults, and the check against its orders.

- orders: a seeded mix of in-stock, backordered (stock 0, backorders allowed) and partly short
  lines (a product of the order's own with less stock than ordered), eligible statuses
  (pending, processing, on-hold) and ineligible ones (completed, cancelled, failed), paid and
  unpaid, some with shipping and a coupon;
- the sandbox delivers webhooks as a real store does, late: each waits in its queue
  (`delivery_delay_ms`, a minute by default, as WP-Cron runs Action Scheduler) and a resource
  already waiting is not queued twice; it duplicates 30 % of deliveries, drops 10 %, and answers
  5 % of REST calls 429 (with Retry-After) or 5xx (our own calls too; the driver retries them).

The check, per order: an eligible order with a shortage and something to ship is split exactly
once (one child with `parent_id`, the expected quantities on both); one where nothing can ship
is held (on-hold, untouched lines); every other order is unchanged; quantities per product and
money (to the cent) are conserved between the original and its backorder order; no other order
appeared.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

import run
from tests.e2e.chaos import NO_FAULTS, Settings

CHAOS_FAULTS: dict[str, object] = {
    "duplicate_rate": 0.3,
    "drop_rate": 0.1,
    "throttle_rate": 0.02,  # 429 with Retry-After ...
    "throttle_retry_after": 1,
    "error_rate": 0.03,  # ... and 500/502/503: 5 % of REST calls in all
}

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


# --- the piece the run drives ------------------------------------------------------------------


class WooCommerceChaos:
    """The WooCommerce sandbox's store (`run.Stack`'s demo store) under chaos."""

    name = "woocommerce"

    def __init__(self, settings: Settings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        self.placed: list[Placed] = []
        self.api: StoreApi | None = None
        self.sandbox_url = ""

    def stack_options(self) -> dict[str, Any]:
        return {}

    def store_id(self, stack: run.Stack) -> int:
        assert stack.store_id is not None
        return stack.store_id

    def prepare(self, stack: run.Stack) -> None:
        """The order plan and the products it needs (before any fault is on)."""
        assert stack.demo is not None
        self.sandbox_url = stack.sandbox_url
        self.api = StoreApi(stack.sandbox_url, stack.demo.consumer_key, stack.demo.consumer_secret)
        self.specs = plan_orders(self.rng, self.settings.orders)
        self.products = create_products(self.api, self.specs, f"{self.settings.seed}")
        self.first_id = max(self.api.all_orders(), default=0) + 1

    def faults(self, on: bool) -> None:
        faults = {
            **CHAOS_FAULTS,
            "delivery_delay_ms": self.settings.delivery_delay_ms,
            "seed": self.settings.seed,
        }
        run.set_sandbox_faults(self.sandbox_url, faults if on else NO_FAULTS)

    def before_order(self, index: int) -> list[str]:
        return []  # WooCommerce's disruptions are the run's own (workers, Redis)

    def place(self, index: int) -> None:
        assert self.api is not None
        self.placed.append(place(self.api, index, self.specs[index], self.products))

    def flush_deliveries(self, timeout: float) -> bool:
        from tests.e2e.helpers import Api

        return Api.flush_deliveries(self.sandbox_url, timeout=timeout)

    def violations(self) -> list[str]:
        assert self.api is not None
        return violations(self.placed, self.api.all_orders(), self.first_id)

    def outcomes(self) -> dict[str, int]:
        return dict(Counter(p.expected for p in self.placed))

    @property
    def retried_calls(self) -> int:
        return self.api.retried if self.api is not None else 0
