"""WooCommerce's order status names and the canonical statuses (`plugin.core.model.Status`).

Reading (PIPELINE.md): `pending`/`processing` → NEW; `on-hold` → ON_HOLD, or NEW_BACKORDER for a
backorder order we created (meta `backorders_role` = "backorder"); `completed` → DISPATCHED;
`cancelled`/`refunded`/`failed`/`trash` → CANCELLED; `checkout-draft` and statuses added by other
plugins → UNCOMMITTED (never eligible for a split, so an unknown status cannot cause one).
Writing: the WooCommerce status that stands for a canonical one (`set_status`), and the ones a
release moves an order to (`release_status`: paid → `processing`, unpaid → `pending`, orders.md
`status`). The labels are how a WooCommerce merchant knows the statuses: `status_name` gives
the one the pages show for an order (`OrderSummary.store_status`), as WooCommerce's admin names
it (`wc_get_order_statuses`), a backorder order on hold as waiting for stock.
"""

from __future__ import annotations

from plugin.core.model import Status
from plugin.ports import ReleaseAs

ON_HOLD = "on-hold"
PENDING = "pending"
PROCESSING = "processing"
CANCELLED = "cancelled"

_CANONICAL = {
    PENDING: Status.NEW,
    PROCESSING: Status.NEW,
    ON_HOLD: Status.ON_HOLD,
    "completed": Status.DISPATCHED,
    CANCELLED: Status.CANCELLED,
    "refunded": Status.CANCELLED,
    "failed": Status.CANCELLED,
    "trash": Status.CANCELLED,
}

# WooCommerce's own names of its statuses (its admin's order list; `wc_get_order_statuses`).
STATUS_NAMES = {
    PENDING: "Pending payment",
    PROCESSING: "Processing",
    ON_HOLD: "On hold",
    "completed": "Completed",
    CANCELLED: "Cancelled",
    "refunded": "Refunded",
    "failed": "Failed",
    "checkout-draft": "Draft",
    "trash": "Trash",
}
WAITING_FOR_STOCK = "On hold (waiting for stock)"  # a backorder order we made, on hold

# Canonical status → the WooCommerce status we set (set_status).
_WOOCOMMERCE = {
    Status.QUOTE: PENDING,
    Status.UNCOMMITTED: PENDING,
    Status.NEW: PROCESSING,
    Status.ON_HOLD: ON_HOLD,
    Status.NEW_BACKORDER: ON_HOLD,
    Status.BACKORDER_APPROVED: PROCESSING,
    Status.PICK: PROCESSING,
    Status.PACK: PROCESSING,
    Status.PENDING_DISPATCH: PROCESSING,
    Status.DISPATCHED: "completed",
    Status.CANCELLED: CANCELLED,
}

_RELEASE = {ReleaseAs.PAID: PROCESSING, ReleaseAs.UNPAID: PENDING}

# Canonical statuses a merchant may make eligible, named as WooCommerce shows them
# (pending/processing -> New, on-hold -> On Hold).
ELIGIBLE_CHOICES = (
    (Status.NEW, "Pending payment / Processing (New)"),
    (Status.ON_HOLD, "On hold (On Hold)"),
    (Status.NEW_BACKORDER, "On hold, a backorder order (New Backorder)"),
)


def canonical_status(wc_status: str, *, is_backorder_order: bool = False) -> Status:
    """The canonical status of a WooCommerce status name (module docstring)."""
    status = _CANONICAL.get(wc_status, Status.UNCOMMITTED)
    if status is Status.ON_HOLD and is_backorder_order:
        return Status.NEW_BACKORDER
    return status


def status_name(wc_status: str, *, is_backorder_order: bool = False) -> str:
    """How the merchant knows an order's WooCommerce status; a status another plugin added is
    shown as its slug (WooCommerce shows that plugin's own label, which the API does not give)."""
    if wc_status == ON_HOLD and is_backorder_order:
        return WAITING_FOR_STOCK
    return STATUS_NAMES.get(wc_status, wc_status)


def wc_status(canonical: str) -> str:
    """The WooCommerce status to set for a canonical status."""
    try:
        return _WOOCOMMERCE[Status(canonical)]
    except ValueError as exc:
        raise ValueError(f"unknown canonical status {canonical!r}") from exc


def release_status(release_as: str) -> str:
    """The WooCommerce status a released order moves to: `processing` when it is paid,
    `pending` (with its payment link) when the customer pays on release."""
    try:
        return _RELEASE[ReleaseAs(release_as)]
    except ValueError as exc:
        raise ValueError(f"unknown release {release_as!r}") from exc
