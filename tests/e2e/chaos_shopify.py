"""The Shopify part of the chaos run (`tests/e2e/chaos.py`, issue 16): orders placed through the
Shopify sandbox's storefront, the sandbox's faults in Shopify's terms, stock arriving at the
fulfilling location, and the invariants read from the sandbox's own state (its data file).

- orders: a seeded mix of in-stock lines and at most one line of a product out of stock that
  Shopify keeps selling (`CONTINUE`), paid by card authorised at checkout (captured later) or
  charged at once; checked out through the storefront (cart, checkout), as a customer does;
- faults: 2 % of Admin API calls answered `THROTTLED`, 3 % a 5xx; 30 % of webhook deliveries
  duplicated, 10 % dropped, 10 % held back up to 3 s (overtaken by later ones); and bursts of
  deliveries that fail before reaching us, which Shopify retries itself (8 retries with
  backoff, the sandbox's schedule compressed to about 15 s): retried deliveries are duplicates
  of their own;
- stock arrives at the fulfilling location (Warehouse) at random moments for a few products:
  enough for every unit of the product ordered so far and a few more, with Shopify's
  `inventory_levels/update`.

The store's default delivery condition is the stores' own default, "ship what is available",
so a held part that stock covers only in part is released in part and the rest split off again
(resplitting.py); `--shopify-delivery lines_complete` releases lines only whole.

The invariants (`violations`), in Shopify's terms:

- each order is split at most once: one held fulfillment order per split key (its hold handle),
  every hold of ours recorded in the order's `backorders.splits` metafield, numbers
  `<order>-001`, `-002`, ... unique and gapless, each also a tag;
- per line, the units on open fulfillment orders (what ships) plus those on held ones equal the
  ordered quantity;
- never more captured than the order's total; a paid order is captured whole; an authorised
  order the plugin acted on is captured exactly the value of what ships (open fulfillment
  orders), one it never touched not at all;
- per product and location, the units on open fulfillment orders never exceed the units on
  hand (stock is never oversold);
- once settled, no hold of ours is left whose units the free stock at its location covers;
- no order appeared that the run did not place.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

import run
from plugin.core.model import DeliveryCondition
from tests.e2e.chaos import NO_FAULTS, Settings

CHAOS_FAULTS: dict[str, object] = {
    "duplicate_rate": 0.3,
    "drop_rate": 0.1,
    "delay_rate": 0.1,
    "delay_max_ms": 3000,
    "throttle_rate": 0.02,  # THROTTLED ...
    "error_rate": 0.03,  # ... and 500/502/503: 5 % of Admin API calls in all
}
# Shopify's retry schedule (8 retries over 4 hours) times this: about 15 s.
RETRY_SCALE = "0.001"
FAILING_BURSTS = 3  # moments when the next deliveries fail, so that Shopify retries them
FAILING_DELIVERIES = 15
WAREHOUSE = "Warehouse"  # the primary location: where lines nothing stocks are fulfilled
IN_STOCK_PRICES = ("7.25", "12.50", "3.99", "19.00")
BACKORDER_PRICES = ("54.00", "8.75", "23.10", "31.00", "4.40", "66.60", "12.00", "9.99")
PAYMENTS = ("card", "card", "card", "paid")  # authorised at checkout three times in four
HANDLE_PREFIX = "backorders-"  # our holds' handles (plugin/platforms/shopify/mapping.py)
WHOLE_HOLD_PREFIX = "backorders-hold-"  # an order held whole: nothing could ship
RESPLIT_PREFIX = "resplit:"  # a held part split again (plugin/core/split.py resplit_key)
CENT = Decimal("0.01")


def backorder_products(orders: int) -> int:
    """Shared out-of-stock products: a few dozen orders each."""
    return max(len(BACKORDER_PRICES), orders // 30)


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSpec:
    kind: str  # 'stock' or 'backorder'
    index: int
    quantity: int


@dataclass(frozen=True)
class OrderSpec:
    payment: str  # 'card' (authorised) or 'paid'
    lines: tuple[LineSpec, ...]


def plan_orders(rng: random.Random, count: int) -> list[OrderSpec]:
    """A seeded mix: 1-3 lines, each product once, at most one backordered line."""
    specs = []
    for _ in range(count):
        lines: list[LineSpec] = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                line = LineSpec("stock", rng.randrange(len(IN_STOCK_PRICES)), rng.randint(1, 3))
            else:
                line = LineSpec("backorder", rng.randrange(backorder_products(count)), 0)
                line = LineSpec("backorder", line.index, rng.randint(1, 3))
            if any(line.kind == other.kind and line.index == other.index for other in lines):
                continue
            if line.kind == "backorder" and any(o.kind == "backorder" for o in lines):
                continue
            lines.append(line)
        specs.append(OrderSpec(rng.choice(PAYMENTS), tuple(lines)))
    return specs


def arrival_plan(rng: random.Random, orders: int) -> dict[int, list[tuple[int, int]]]:
    """Before which order stock arrives: (backorder product, units beyond what was ordered)."""
    plan: dict[int, list[tuple[int, int]]] = {}
    for _ in range(max(3, orders // 20)):
        at = rng.randint(orders // 10, max(orders // 10, orders - 1))
        product = rng.randrange(backorder_products(orders))
        plan.setdefault(at, []).append((product, rng.randint(0, 4)))
    return plan


# --- the sandbox's state, as Shopify keeps it ---------------------------------------------------


@dataclass
class ShopState:
    """The sandbox's tables (its data file, written atomically after every change)."""

    tables: dict[str, dict[str, dict[str, Any]]]

    @classmethod
    def read(cls, path: Path) -> ShopState:
        return cls(json.loads(path.read_text(encoding="utf-8"))["tables"])

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.tables.get(name, {})

    def children(self, name: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        rows = self.table(name)
        return [rows[i] for i in ids if i in rows]

    def location(self, name: str) -> str:
        return next(gid for gid, row in self.table("locations").items() if row["name"] == name)

    def level(self, item_id: str, location_id: str) -> dict[str, Any]:
        return dict(self.table("items")[item_id]["_levels"][location_id])


def on_hand(level: Mapping[str, Any]) -> int:
    """Shopify's on_hand: available plus committed plus the unavailable states."""
    names = ("available", "committed", "damaged", "quality_control", "reserved", "safety_stock")
    return sum(int(level.get(name, 0)) for name in names)


def gid_number(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def split_entries(state: ShopState, order: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The order's `backorders.splits` metafield: split key -> number and fulfillment order."""
    for field in state.table("metafields").values():
        if (field["_owner"], field["namespace"], field["key"]) == (
            order["id"],
            "backorders",
            "splits",
        ):
            return dict(json.loads(field["value"]))
    return {}


def captured(state: ShopState, order: Mapping[str, Any]) -> Decimal:
    return sum(
        (
            Decimal(t["_amount"])
            for t in state.children("transactions", order["_transactions"])
            if t["status"] == "SUCCESS" and t["kind"] in ("SALE", "CAPTURE")
        ),
        Decimal(0),
    )


def authorised(state: ShopState, order: Mapping[str, Any]) -> bool:
    return any(
        t["kind"] == "AUTHORIZATION" and t["status"] == "SUCCESS"
        for t in state.children("transactions", order["_transactions"])
    )


def violations(state: ShopState, numbers: Sequence[int]) -> list[str]:
    """Everything wrong in the shop, one line each (empty: every invariant holds). `numbers`:
    the orders the run placed (order numbers); orders numbered before the first existed
    before the run and are not looked at."""
    found: list[str] = []
    orders = {int(o["_number"]): o for o in state.table("orders").values()}
    placed = set(numbers)
    first = min(placed, default=0)
    for number in sorted(orders):
        if number >= first and number not in placed:
            found.append(f"order #{number}: not placed by the run")
    open_units: Counter[tuple[str, str]] = Counter()  # (inventory item, location) -> units
    held: list[tuple[str, str, dict[tuple[str, str], int]]] = []  # order, handle, units
    for number in sorted(placed):
        order = orders.get(number)
        if order is None:
            found.append(f"order #{number}: missing from the shop")
            continue
        found += _check_order(state, order, open_units, held)
    for (item, location), shipping in sorted(open_units.items()):
        stocked = on_hand(state.level(item, location))
        if shipping > stocked:
            found.append(
                f"item {gid_number(item)} at {gid_number(location)}: {shipping} units to ship, "
                f"{stocked} on hand (oversold)"
            )
    for name, handle, units in held:
        free = {
            key: on_hand(state.level(*key)) - open_units[key] for key in units
        }  # what no open fulfillment order takes
        if all(free[key] >= wanted for key, wanted in units.items()):
            found.append(
                f"order {name}: hold {handle} left while the stock covers it "
                f"({dict(units)} held, {free} free)"
            )
    return found


def _check_order(
    state: ShopState,
    order: Mapping[str, Any],
    open_units: Counter[tuple[str, str]],
    held: list[tuple[str, str, dict[tuple[str, str], int]]],
) -> list[str]:
    name = str(order["name"])
    problems: list[str] = []
    lines = {line["id"]: line for line in state.children("lines", order["_lines"])}
    shipping: Counter[str] = Counter()  # line -> units on open fulfillment orders
    holding: Counter[str] = Counter()  # line -> units on held ones
    our_holds: dict[str, list[str]] = {}  # handle -> fulfillment orders holding with it
    for fo in state.children("fulfillment_orders", order["_fulfillment_orders"]):
        entries = [
            (e["_line"], int(e["remainingQuantity"]))
            for e in state.children("fo_lines", fo["_lines"])
        ]
        if fo["status"] not in ("OPEN", "ON_HOLD"):
            if any(units for _, units in entries):
                problems.append(f"order {name}: fulfillment order {fo['status']} with units")
            continue
        handles = [h["handle"] for h in fo["_holds"] if h["handle"].startswith(HANDLE_PREFIX)]
        for handle in handles:
            our_holds.setdefault(handle, []).append(gid_number(fo["id"]))
        units_here: dict[tuple[str, str], int] = {}
        for line_id, units in entries:
            item = _item_of(state, lines[line_id])
            if fo["status"] == "OPEN":
                shipping[line_id] += units
                if item:
                    open_units[(item, fo["_location"])] += units
            else:
                holding[line_id] += units
                if item and units:
                    key = (item, fo["_location"])
                    units_here[key] = units_here.get(key, 0) + units
        if fo["status"] == "ON_HOLD" and handles and units_here:
            held.append((name, handles[0], units_here))
    for line_id, line in lines.items():
        if shipping[line_id] + holding[line_id] != int(line["quantity"]):
            problems.append(
                f"order {name}: line {line['sku']} {shipping[line_id]} shipping + "
                f"{holding[line_id]} held, ordered {line['quantity']}"
            )
    problems += _check_splits(state, order, our_holds)
    total = sum(
        (Decimal(line["_unit_price"]) * int(line["quantity"]) for line in lines.values()),
        Decimal(0),
    )
    taken = captured(state, order)
    if taken > total:
        problems.append(f"order {name}: captured {taken}, more than its total {total}")
    ships = sum(
        (Decimal(lines[i]["_unit_price"]) * units for i, units in shipping.items()), Decimal(0)
    )
    acted = bool(split_entries(state, order)) or bool(our_holds) or taken > 0
    if not authorised(state, order):
        if taken != total:
            problems.append(f"order {name}: paid order captured {taken}, total {total}")
    elif acted and taken.quantize(CENT) != ships.quantize(CENT):
        problems.append(f"order {name}: captured {taken}, what ships is worth {ships}")
    return problems


def _check_splits(
    state: ShopState, order: Mapping[str, Any], our_holds: Mapping[str, list[str]]
) -> list[str]:
    name = str(order["name"])
    number = int(order["_number"])
    problems: list[str] = []
    entries = split_entries(state, order)
    # A partial release splits a held part again (`resplit:fo-<n>`, numbered on: -002, ...);
    # the order itself is split at most once.
    firsts = [key for key in entries if not key.startswith(RESPLIT_PREFIX)]
    if len(firsts) > 1:
        problems.append(f"order {name}: split {len(firsts)} times, expected at most once")
    recorded = sorted(str(e.get("number")) for e in entries.values())
    expected = [f"{number}-{n:03d}" for n in range(1, len(entries) + 1)]
    if recorded != expected:
        problems.append(f"order {name}: backorder numbers {recorded}, expected {expected}")
    tags = set(order.get("tags") or ())
    for key, entry in entries.items():
        handle = (HANDLE_PREFIX + key.replace(":", "-"))[:64]
        holders = our_holds.get(handle, [])
        if len(holders) > 1:
            problems.append(f"order {name}: split {key} holds {len(holders)} fulfillment orders")
        if holders and not set(holders) <= _parts_of(entries, key):
            problems.append(f"order {name}: split {key} recorded {entry}, held on {holders}")
        if f"#{entry.get('number')}" not in tags or "backorder" not in tags:
            problems.append(f"order {name}: tags {sorted(tags)} lack #{entry.get('number')}")
    keys = {(HANDLE_PREFIX + key.replace(":", "-"))[:64] for key in entries}
    for handle, holders in our_holds.items():
        if handle.startswith(WHOLE_HOLD_PREFIX):
            if len(holders) > 1 and len(set(holders)) != len(holders):
                problems.append(f"order {name}: {handle} twice on one fulfillment order")
        elif handle not in keys:
            problems.append(f"order {name}: hold {handle} on {holders} not recorded as a split")
    return problems


def _parts_of(entries: Mapping[str, Mapping[str, str]], key: str) -> set[str]:
    """The fulfillment orders a split's hold may be on: the one recorded for it, and those its
    re-splits recorded (splitting a held fulfillment order copies its holds to the new part)."""
    parts: set[str] = set()
    todo = [str(entries[key].get("fulfillment_order"))]
    while todo:
        part = todo.pop()
        if part in parts:
            continue
        parts.add(part)
        again = entries.get(f"{RESPLIT_PREFIX}fo-{part}")
        if again is not None:
            todo.append(str(again.get("fulfillment_order")))
    return parts


def _item_of(state: ShopState, line: Mapping[str, Any]) -> str | None:
    variant = state.table("variants").get(line.get("_variant") or "")
    return str(variant["_item"]) if variant else None


def outcomes(state: ShopState, numbers: Iterable[int]) -> dict[str, int]:
    """What the placed orders came to: split (part still held, or released since), held whole,
    or nothing held (in stock, or a whole hold released)."""
    by_number = {int(o["_number"]): o for o in state.table("orders").values()}
    counts: Counter[str] = Counter()
    for number in numbers:
        order = by_number.get(number)
        if order is None:
            continue
        fos = state.children("fulfillment_orders", order["_fulfillment_orders"])
        handles = [h["handle"] for fo in fos if fo["status"] == "ON_HOLD" for h in fo["_holds"]]
        if split_entries(state, order):
            counts["split, part held" if handles else "split, released"] += 1
        elif any(h.startswith(WHOLE_HOLD_PREFIX) for h in handles):
            counts["held whole"] += 1
        else:
            counts["nothing held"] += 1
    return dict(counts)


# --- the piece the run drives ------------------------------------------------------------------


class ShopifyChaos:
    """The Shopify sandbox's demo shop (`run.Stack`'s, connected as the custom app) under
    chaos."""

    name = "shopify"

    def __init__(self, settings: Settings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        self.url = ""
        self.data_file = Path()
        self.numbers: list[int] = []
        self.retried = 0
        self.session = requests.Session()

    def stack_options(self) -> dict[str, Any]:
        from tests.processes import free_port

        return {
            "shopify_port": free_port(),
            "shopify_sandbox_args": ("--retry-scale", RETRY_SCALE),
        }

    def store_id(self, stack: run.Stack) -> int:
        assert stack.shopify_store_id is not None
        return stack.shopify_store_id

    def prepare(self, stack: run.Stack) -> None:
        """The plan, its products (in stock at the Warehouse, or none anywhere and `CONTINUE`)
        and the store's delivery condition."""
        self.url = stack.shopify_url
        self.data_file = stack.home / "shopify-sandbox.json"
        self.specs = plan_orders(self.rng, self.settings.orders)
        self.arrivals = arrival_plan(self.rng, self.settings.orders)
        self.failing = {
            self.rng.randint(1, max(1, self.settings.orders - 1)) for _ in range(FAILING_BURSTS)
        }
        warehouse = ShopState.read(self.data_file).location(WAREHOUSE)
        tag = f"{self.settings.seed}-{time.time_ns()}"
        self.stock = [
            self._product(f"Chaos stock {n}", f"CHAOS-S{n}-{tag}", price, "DENY", warehouse, 10**6)
            for n, price in enumerate(IN_STOCK_PRICES)
        ]
        self.backorder = [
            self._product(
                f"Chaos backorder {n}",
                f"CHAOS-B{n}-{tag}",
                BACKORDER_PRICES[n % len(BACKORDER_PRICES)],
                "CONTINUE",
                warehouse,
                0,
            )
            for n in range(backorder_products(self.settings.orders))
        ]
        self.warehouse = warehouse
        _delivery(stack, self.store_id(stack), DeliveryCondition(self.settings.shopify_delivery))

    def _product(
        self, title: str, sku: str, price: str, policy: str, location: str, stock: int
    ) -> dict[str, str]:
        response = self.session.post(
            f"{self.url}/sandbox/shopify/products",
            json={
                "title": title,
                "variants": [
                    {"sku": sku, "price": price, "policy": policy, "stock": {location: stock}}
                ],
            },
            timeout=30,
        )
        response.raise_for_status()
        [variant] = response.json()["variants"]
        return {"variant": variant["id"], "item": variant["inventory_item_id"], "sku": sku}

    def faults(self, on: bool) -> None:
        run.set_sandbox_faults(
            self.url, {**CHAOS_FAULTS, "seed": self.settings.seed} if on else NO_FAULTS
        )

    def before_order(self, index: int) -> list[str]:
        """Stock arriving at the Warehouse, and deliveries failing for a moment."""
        done = []
        if index in self.failing:
            run.set_sandbox_faults(self.url, {"fail_next": FAILING_DELIVERIES})
            done.append(f"the next {FAILING_DELIVERIES} deliveries fail (Shopify retries them)")
        for product, extra in self.arrivals.get(index, []):
            target = self.backorder[product]
            level = ShopState.read(self.data_file).level(target["item"], self.warehouse)
            units = max(0, -int(level["available"])) + extra
            if units:
                self._receive(target["sku"], units)
                done.append(f"{units} units of backorder product {product} arrive")
        return done

    def _receive(self, sku: str, units: int) -> None:
        response = self.session.post(
            f"{self.url}/sandbox/shopify/stock",
            json={"sku": sku, "location": WAREHOUSE, "delta": units},
            timeout=30,
        )
        response.raise_for_status()

    def place(self, index: int) -> None:
        """Check out through the storefront, as a customer does (no fault acts there)."""
        spec = self.specs[index]
        browser = requests.Session()
        for line in spec.lines:
            product = (self.stock if line.kind == "stock" else self.backorder)[line.index]
            added = browser.post(
                f"{self.url}/cart/add",
                data={"variant_id": product["variant"], "quantity": str(line.quantity)},
                allow_redirects=False,
                timeout=30,
            )
            if added.status_code != 302:
                raise RuntimeError(f"cart add: {added.status_code} {added.text[:300]}")
        placed = browser.post(
            f"{self.url}/checkout",
            data={
                "email": f"customer{index}@example.com",
                "first_name": "Grace",
                "last_name": f"Hopper {index}",
                "payment": spec.payment,
            },
            allow_redirects=False,
            timeout=30,
        )
        if placed.status_code != 302:
            raise RuntimeError(f"checkout: {placed.status_code} {placed.text[:300]}")
        self.numbers.append(int(placed.headers["Location"].rsplit("/", 1)[1]))

    def flush_deliveries(self, timeout: float) -> bool:
        response = self.session.post(
            f"{self.url}/sandbox/deliveries/flush", params={"timeout": timeout}, timeout=60
        )
        return response.status_code == 200

    def violations(self) -> list[str]:
        return violations(ShopState.read(self.data_file), self.numbers)

    def outcomes(self) -> dict[str, int]:
        return outcomes(ShopState.read(self.data_file), self.numbers)

    @property
    def retried_calls(self) -> int:
        return self.retried  # the storefront and the sandbox's controls have no faults


def _delivery(stack: run.Stack, store_id: int, condition: DeliveryCondition) -> None:
    """The store's default delivery condition, as on its settings page."""
    import dataclasses

    from plugin.adapters.sql.db import Database
    from plugin.adapters.sql.stores import StoreRepository
    from plugin.adapters.vault import Vault

    config = stack.config()
    db = Database(config.database_url)
    try:
        stores = StoreRepository(db, Vault(config.secret_key))
        store = stores.get(store_id)
        assert store is not None
        stores.update_settings(
            store_id,
            dataclasses.replace(store.settings, default_delivery=condition),
        )
    finally:
        db.dispose()
