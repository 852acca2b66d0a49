"""WooCommerce's order status names and the canonical statuses (`plugin.core.model.Status`).

Reading (PIPELINE.md): `pending`/`processing` → NEW; `on-hold` → ON_HOLD, or NEW_BACKORDER for a
backorder order we created (meta `backorders_role` = "backorder"); `completed` → DISPATCHED;
`cancelled`/`refunded`/`failed`/`trash` → CANCELLED; `checkout-draft` and statuses added by other
plugins → UNCOMMITTED (never eligible for a split, so an unknown status cannot cause one).
Writing: the WooCommerce status that stands for a canonical one (`set_status`), and the ones a
release moves an order to (`release_status`: paid → `processing`, unpaid → `pending`, orders.md
`status`). The labels are how a WooCommerce merchant knows the statuses.
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
