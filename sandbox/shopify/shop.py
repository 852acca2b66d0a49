"""The sandbox shop's state: tables of Shopify objects, in memory or in a JSON file.

Objects are plain dicts keyed by their gid, holding their GraphQL field values under the
schema's names (``title``, ``inventoryPolicy``, ``createdAt``...) and their links under keys
starting with ``_`` (``_product``, ``_order``...), which no Shopify field name does. Money is a
decimal string, times are ISO 8601 UTC strings. One re-entrant lock guards everything: a request
holds it from validation to its last write, so every mutation is atomic.

Changes that Shopify announces by webhook are noted with `notify` while the lock is held and
collected with `take_events` after the request, with the REST body built at that moment
(Shopify sends the payload of the time the event was triggered, even on a retry).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.shopify import gid

# Shopify's table of quantity names (shopify.dev, "Inventory states"); on_hand is their sum
# with available and committed.
UNAVAILABLE_NAMES = ("damaged", "quality_control", "reserved", "safety_stock")
STORED_NAMES = ("available", "committed", "incoming", *UNAVAILABLE_NAMES)
QUANTITY_NAMES = (*STORED_NAMES, "on_hand")

TABLES = (
    "locations",
    "products",
    "variants",
    "items",
    "customers",
    "orders",
    "lines",
    "fulfillment_orders",
    "fo_lines",
    "transactions",
    "metafields",
    "webhooks",
    "calculated_orders",
    "adjustment_groups",
    "jobs",
    "tokens",  # access token -> app id and scopes (not a Shopify object; kept with the shop)
    "invoices",  # e-mails orderInvoiceSend sent (not a Shopify object: what the customer got)
)
# gid type -> table
KINDS = {
    "Location": "locations",
    "Product": "products",
    "ProductVariant": "variants",
    "InventoryItem": "items",
    "Customer": "customers",
    "Order": "orders",
    "LineItem": "lines",
    "FulfillmentOrder": "fulfillment_orders",
    "FulfillmentOrderLineItem": "fo_lines",
    "OrderTransaction": "transactions",
    "Metafield": "metafields",
    "WebhookSubscription": "webhooks",
    "CalculatedOrder": "calculated_orders",
    "InventoryAdjustmentGroup": "adjustment_groups",
    "Job": "jobs",
}


def money(value: Any) -> Decimal:
    """A stored amount as a Decimal rounded to cents."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def iso(moment: datetime) -> str:
    """The stored form of a time: ISO 8601, UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Event:
    """A change Shopify announces by webhook: topic (``orders/create``) and its REST body."""

    topic: str
    resource: str  # gid of the object the body describes
    body: dict[str, Any]
    triggered_at: str
    event_id: int = 0


@dataclass
class ShopInfo:
    """Who the shop is (``Shop`` in GraphQL, the shop in webhook headers)."""

    domain: str = "backorders-sandbox.myshopify.com"
    name: str = "Backorders Sandbox"
    email: str = "owner@backorders-sandbox.example"
    currency: str = "USD"
    number: int = 1
    authorization_days: int = 7  # Shopify Payments card authorisations expire after 7 days


@dataclass
class Shop:
    """All objects of the shop, their id counters and the pending webhook events."""

    path: Path | None = None
    info: ShopInfo = field(default_factory=ShopInfo)
    lock: threading.RLock = field(default_factory=threading.RLock)
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    clock_offset: float = 0.0  # seconds added to the wall clock (POST /sandbox/shopify/clock)
    _pending: dict[tuple[str, str], Callable[[], dict[str, Any]]] = field(default_factory=dict)
    _events: list[Event] = field(default_factory=list)
    listeners: list[Callable[[list[Event]], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for table in TABLES:
            self.tables.setdefault(table, {})
        if self.path is not None and self.path.is_file():
            self._load(self.path)

    # ------------------------------------------------------------------ time and ids
    def now(self) -> datetime:
        """The shop's clock (the wall clock, moved by ``clock_offset``)."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def now_iso(self) -> str:
        """`now` in the stored form."""
        return iso(self.now())

    def next_number(self, kind: str, start: int = 1001) -> int:
        """A new number for objects of `kind` (order numbers and ids alike)."""
        value = self.counters.get(kind, start - 1) + 1
        self.counters[kind] = value
        return value

    def new_gid(self, kind: str) -> str:
        """A fresh gid of type `kind`; numbers are large like Shopify's."""
        # One sequence for every type, so an id of one type is never an id of another.
        return gid.make(kind, self.next_number("gid", start=10_000_000_001))

    # -------------------------------------------------------------------- objects
    def table(self, name: str) -> dict[str, dict[str, Any]]:
        """The objects of one table, by gid."""
        return self.tables[name]

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object under its gid in the table of its ``__typename``."""
        self.tables[KINDS[obj["__typename"]]][obj["id"]] = obj
        return obj

    def get(self, global_id: str, *kinds: str) -> dict[str, Any] | None:
        """The object with this gid (of one of `kinds`, when given), or None."""
        kind = gid.kind_of(global_id)
        if kind is None or (kinds and kind not in kinds) or kind not in KINDS:
            return None
        return self.tables[KINDS[kind]].get(global_id)

    def children(self, table: str, ids: list[str]) -> list[dict[str, Any]]:
        """The objects of `table` with these gids, in order."""
        rows = self.tables[table]
        return [rows[i] for i in ids if i in rows]

    # --------------------------------------------------------------------- events
    def notify(self, topic: str, resource: str, body: Callable[[], dict[str, Any]]) -> None:
        """Note that `resource` changed under `topic`; one event per pair and request."""
        self._pending[(topic, resource)] = body

    def take_events(self, save: bool = True) -> list[Event]:
        """Build the bodies of the noted changes now, save (unless told the request only
        read), and hand the events over."""
        with self.lock:
            now = self.now_iso()
            for (topic, resource), body in self._pending.items():
                self._events.append(Event(topic, resource, body(), now))
            self._pending.clear()
            events, self._events = self._events, []
            if save or events:
                self.save()
        for listener in self.listeners:
            listener(events)
        return events

    def pending(self) -> dict[tuple[str, str], Callable[[], dict[str, Any]]]:
        """A copy of the changes noted so far (to undo a refused mutation's notes)."""
        return dict(self._pending)

    def restore_pending(self, snapshot: dict[tuple[str, str], Any]) -> None:
        """Forget the changes noted since `pending` returned `snapshot`."""
        self._pending = dict(snapshot)

    @contextmanager
    def request(self, write: bool = True) -> Iterator[Shop]:
        """Hold the lock for one request; its noted changes are sent when it ends (and
        forgotten when it fails); a request that may write is saved."""
        with self.lock:
            try:
                yield self
            except BaseException:
                self._pending.clear()
                raise
        self.take_events(save=write)

    # ---------------------------------------------------------------- persistence
    def save(self) -> None:
        """Write the shop to its JSON file (atomically), when it has one."""
        if self.path is None:
            return
        with self.lock:
            data = {
                "tables": self.tables,
                "counters": self.counters,
                "clock_offset": self.clock_offset,
            }
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            os.replace(temporary, self.path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the shop file {path}: {exc}") from exc
        for table in TABLES:
            self.tables[table] = data.get("tables", {}).get(table, {})
        self.counters = {str(k): int(v) for k, v in data.get("counters", {}).items()}
        self.clock_offset = float(data.get("clock_offset", 0.0))

    def is_empty(self) -> bool:
        """Whether the shop has no products and no orders yet (a new file or memory)."""
        return not self.tables["products"] and not self.tables["orders"]

    # ------------------------------------------------------------------ inventory
    def level(self, item: dict[str, Any], location_id: str) -> dict[str, Any] | None:
        """The stored quantities of an item at a location, or None when not stocked there."""
        levels: dict[str, dict[str, Any]] = item["_levels"]
        return levels.get(location_id)

    @staticmethod
    def quantity(level: dict[str, Any], name: str) -> int:
        """One named quantity of a level; ``on_hand`` is computed as Shopify defines it."""
        if name == "on_hand":
            return int(
                level["available"] + level["committed"] + sum(level[n] for n in UNAVAILABLE_NAMES)
            )
        return int(level[name])
