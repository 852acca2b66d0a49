"""Units a merchant put on backorder by hand, set aside from the store's stock figures, once
(`plugin/usecases/manual_splitting.py` plans them; the split's recorded steps in
`plugin/usecases/splitting.py` write them, so a split resumed from a webhook does it too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin.core.model import Plan
from plugin.core.rules import product_label
from plugin.core.serialize import ref_from_dict, ref_to_dict
from plugin.ports import Alerts, AuditLog, StockSetAside


def manual_record(plan: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What a split ledger record's plan says of a manual split (None for any other split)."""
    manual = plan.get("manual")
    return manual if isinstance(manual, Mapping) else None


def set_aside_stock(
    store_id: int,
    order_id: str,
    manual: Mapping[str, Any],
    platform: object,
    audit: AuditLog,
    alerts: Alerts,
) -> list[str]:
    """Take the manual split's units out of their stock figures, once (see the module
    docstring); returns one sentence per figure for the notes."""
    said: list[str] = []
    entries = manual.get("set_aside") or []
    if entries and not isinstance(platform, StockSetAside):
        raise TypeError("a manual split needs a platform that sets stock figures")
    for entry in entries:
        assert isinstance(platform, StockSetAside)
        pool = ref_from_dict(entry["pool"])
        base, target, units = int(entry["base"]), int(entry["target"]), int(entry["units"])
        # Entries recorded before names were (and a parent's shared figure) have only the id.
        name = product_label(str(entry.get("name") or ""), str(entry.get("sku") or ""), pool)
        now = platform.stock_figure(pool).quantity
        if now == target:
            said.append(f"Stock of {name}: {units} units set aside ({base} → {target}).")
            continue
        if now == base:
            platform.set_stock(pool, target)
            audit.record(
                store_id, order_id, "call",
                f"Set aside {units} units of {name}: stock {base} → {target}.",
                pool=ref_to_dict(pool), base=base, target=target,
            )  # fmt: skip
            said.append(f"Stock of {name}: {units} units set aside ({base} → {target}).")
            continue
        message = (
            f"The stock of {name} was {base} when {units} units were put on backorder "
            f"by hand on order {order_id}, and it is {now} now: it moved for another reason "
            f"too, so Backorders did not change it. Lower it by {units} in the store if those "
            "units are not for sale."
        )
        audit.record(store_id, order_id, "error", message, pool=ref_to_dict(pool))
        alerts.add_alert(store_id, "set_aside_skipped", message, order_id=order_id)
        said.append(f"Stock of {name}: NOT set aside ({message})")
    return said


def manual_backorder_note(plan: Plan, original_number: str, manual: Mapping[str, Any]) -> str:
    """Private note on the backorder order of a manual split: who put what on it, and why."""
    moved = sum(lp.backorder for lp in plan.lines)
    return (
        f"Backorders: {manual.get('requested_by')} put {moved} units of order "
        f"{original_number} on backorder by hand (damaged or reserved units); this backorder "
        f"order {plan.backorder_number} (split key {plan.split_key}) holds them until stock "
        "arrives, and they were set aside from the store's stock figure."
    )
