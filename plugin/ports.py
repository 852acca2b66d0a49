"""The interfaces the use cases in `service.py` need. Adapters implement them; tests use
in-memory fakes (see tests/fakes.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from plugin.core.model import Order, Plan, Policies, ProductRef, Stock


@dataclass(frozen=True)
class OrderChange:
    """One order seen by reconciliation: enough to build an inbox event."""

    order_id: str
    modified_gmt: dt.datetime
    status: str  # the platform's own status name
    # The content's fingerprint, as the webhook computes it for the same order state, so both
    # give one inbox key (plugin/platforms/woocommerce/fingerprint.py).
    fingerprint: str


class HeldStockPlatform(Protocol):
    """What counting the units held for released unpaid orders reads from a store
    (`plugin.usecases.releasing.held_by_unpaid_releases`)."""

    def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """Several orders in one read (per 100), in the order asked; an order the store no
        longer has is left out."""
        ...

    def reduced_stock(self, order_id: str) -> Mapping[str, int]:
        """Units the store took from stock per line id of an order it read."""
        ...


class Platform(HeldStockPlatform, Protocol):
    """A store's API, in domain terms. Raises TransientError / PermanentError families."""

    def get_order(self, order_id: str) -> Order: ...

    def get_stock(self, order: Order) -> Mapping[ProductRef, Stock]:
        """Stock of every product of `order`, seen from that order, in one request."""
        ...

    def find_backorder_order(self, original_id: str, split_key: str) -> str | None:
        """The id of an existing backorder order made for `split_key`, if any."""
        ...

    def write_split(
        self, original: Order, plan: Plan, *, backorder_order_id: str | None, summary: str = ""
    ) -> str:
        """Create the backorder order (unless `backorder_order_id` exists already), recording
        `summary` on it for the merchant, and update the original. Returns the backorder
        order's id."""
        ...

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None: ...

    def set_status(self, order_id: str, canonical_status: str) -> None: ...

    def orders_modified_since(self, since: dt.datetime) -> Iterable[OrderChange]: ...


class SplitState:
    """States of a split, in order. A split only moves forward."""

    PLANNED = "planned"
    BACKORDER_CREATED = "backorder_created"
    ORIGINAL_UPDATED = "original_updated"
    NOTED = "noted"
    DONE = "done"
    FAILED = "failed"  # permanent error; recorded for the merchant, not retried


@dataclass(frozen=True)
class SplitRecord:
    store_id: int
    original_order_id: str
    split_key: str
    state: str
    plan: Mapping[str, object]  # the serialised Plan
    backorder_order_id: str | None = None
    create_attempted: bool = False  # a create call may have reached the platform
    error: str | None = None


class SplitLedger(Protocol):
    """Persistent split state machine, keyed by (store_id, split_key)."""

    def get(self, store_id: int, split_key: str) -> SplitRecord | None: ...

    def start(
        self, store_id: int, original_order_id: str, split_key: str, plan: Mapping[str, object]
    ) -> SplitRecord:
        """Insert in state PLANNED, or return the existing record for that key."""
        ...

    def mark_create_attempted(self, store_id: int, split_key: str) -> None:
        """Committed before the create call, so a retry knows to look for the order first."""
        ...

    def advance(
        self,
        store_id: int,
        split_key: str,
        state: str,
        *,
        backorder_order_id: str | None = None,
        error: str | None = None,
    ) -> None: ...

    def for_order(self, store_id: int, order_id: str) -> list[SplitRecord]:
        """Splits whose original or backorder order is `order_id`."""
        ...


class PolicyStore(Protocol):
    def policies_for(self, store_id: int, order: Order) -> Policies:
        """Store settings, the policies of the order's products and its customer's policy."""
        ...


class Inbox(Protocol):
    def add(
        self,
        store_id: int,
        topic: str,
        resource_id: str,
        modified_gmt: str,
        source: str,
        *,
        fingerprint: str | None = None,
    ) -> int | None:
        """Insert an event; None when its dedupe key (resource, id, modified, fingerprint)
        exists."""
        ...


class AuditLog(Protocol):
    def record(self, store_id: int, order_id: str, kind: str, message: str, **data: object) -> None:
        """Append one entry (decision, platform call, retry, error) to the order's trail."""
        ...


class Notifier(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...
