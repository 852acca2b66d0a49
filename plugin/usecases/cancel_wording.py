"""What cancelling backorder units does and did, in the merchant's words.

One place for these texts: the cancel form says what the store will do, the order page and the
audit trail what it did. They are built from what the platform answered, never from its name:
`Links.part_of` (the backorder order is the held part of its original, which goes on: Shopify's
held fulfillment order) and `CancelPlatform.cancel_order` (whether the order itself was
cancelled), as `plugin.usecases.cancelling` saves them in the cancellation's outcome.

An order is named as the pages name it (`order_name`): by the label the job was given
(`plugin.adapters.sql.reports.order_labels`: a backorder order by its number `112-001`, an order
held whole by `#112`), saved in the outcome as `label`; on WooCommerce its id (`#113`) is not
what the merchant knows it by.

An outcome saved before these words existed has no `sku`, `part_of`, `number`, `label` or
`order_cancelled`: it reads as an order of its own, cancelled when the plan said so, which is
what every such outcome was; the order page gives it the label it names the order by.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from plugin.core.rules import product_label
from plugin.core.wording import units
from plugin.ports import CancellationRecord


def sentence(text: str) -> str:
    """Free text (a cancel reason) ending as a sentence, so the note's next sentence does not
    run into it: `Discontinued` gives `Discontinued.`."""
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def waits(count: int) -> str:
    """`1 unit still waits`, `2 units still wait`."""
    return "waits" if count == 1 else "wait"


def product_text(record: CancellationRecord, outcome: Mapping[str, Any] | None = None) -> str:
    """The product cancelled: its name and SKU once the job read the line, else its id."""
    found = outcome or {}
    return product_label(str(found.get("product") or ""), str(found.get("sku") or ""), record.ref)


def money(outcome: Mapping[str, Any]) -> str:
    return f"{Decimal(str(outcome['amount'])):.2f} {outcome['currency']}"


def order_name(record: CancellationRecord, outcome: Mapping[str, Any] | None = None) -> str:
    """The order the units were cancelled on as the merchant knows it: `112-001` (its label),
    else `#<id>`."""
    return str((outcome or {}).get("label") or f"#{record.backorder_order_id}")


def held_part(outcome: Mapping[str, Any]) -> str:
    """`the held part 1001-1 of order #1001` (an outcome with `part_of`)."""
    number = outcome.get("number")
    named = f" {number}" if number else ""
    return f"the held part{named} of order #{outcome['part_of']}"


def noted_on(*, part_of: str | None, split_from: str | None) -> str:
    """Which orders get the cancellation's private note (the cancel form): a held part's note
    goes on its one order; `split_from` names the backorder order a re-split came from."""
    if part_of is not None:
        return f"A private note on order #{part_of}"
    if split_from is not None:
        return f"A private note on this backorder order and on {split_from}"
    return "A private note on both orders"


def every_unit_effect(*, part_of: str | None, last_line: bool, known: bool = True) -> str:
    """What cancelling every unit still waiting on a line does in the store (the cancel form);
    `known` False when the store could not be read to tell."""
    if not known:
        return (
            "The units are cancelled in the store and their stock given back; the order page "
            "then says exactly what the store did."
        )
    if part_of is not None:
        return (
            f"The units are taken off the held part of order #{part_of} and their stock is "
            f"given back{'; the held part closes' if last_line else ''}. Order #{part_of} "
            "itself is not cancelled: it keeps what ships now."
        )
    if last_line:
        return (
            "It is the backorder order's last open line, so the backorder order is cancelled "
            "in the store and its stock restored."
        )
    return (
        "The line is removed from the backorder order in the store, its total shrinks and its "
        "stock is given back."
    )


def total_now(outcome: Mapping[str, Any], whose: str) -> str:
    """`; its total is now 45.00.` when the store answered a new total, else `.`."""
    total = outcome.get("new_total")
    return f"; {whose} total is now {total}." if total is not None else "."


def what_was_done(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    """What the store did, in one sentence (the audit trail's call, the order page)."""
    product = product_text(record, outcome)
    count = int(outcome["quantity"])
    part_of = outcome.get("part_of")
    order = f"order {order_name(record, outcome)}"
    if outcome.get("reduces_line"):
        taken = f"{count} of the {outcome['line_quantity']} waiting units of {product}"
        kept = int(outcome["kept_quantity"])
        left = f"{units(kept)} still {waits(kept)}"
        if part_of:
            return f"Took {taken} off {held_part(outcome)}; {left}" + total_now(
                outcome, "the held part's"
            )
        where = order if record.is_held_whole else f"backorder {order}"
        return f"Took {taken} off {where}; {left}" + total_now(outcome, "its")
    if outcome.get("cancels_order") and outcome.get("order_cancelled", not part_of):
        if part_of:  # the held part was all the order had left
            return (
                f"Cancelled order #{part_of}: {product} × {count} in {held_part(outcome)} was "
                "all it had left."
            )
        if record.is_held_whole:
            return f"Cancelled {order}: {product} × {count} was its last waiting line."
        return f"Cancelled backorder {order}: {product} × {count} was its only line."
    if part_of:
        closes = ", which closes" if outcome.get("cancels_order") else ""
        return (
            f"Took {product} × {count} off {held_part(outcome)}{closes}; order #{part_of} is "
            "not cancelled and keeps what ships now" + total_now(outcome, "the held part's")
        )
    where = order if record.is_held_whole else f"backorder {order}"
    if outcome.get("cancels_order"):  # the store kept the order going (not cancelled)
        return f"Took {product} × {count} off {where}, which is not cancelled."
    return f"Removed {product} × {count} from {where}" + total_now(outcome, "its")


def payment(record: CancellationRecord, outcome: Mapping[str, Any]) -> str:
    """Who pays back what for the units cancelled (Backorders moves no money)."""
    if outcome.get("paid"):
        paid_on = outcome.get("part_of") or record.original_order_id
        return (
            f"The customer paid for these units with order #{paid_on}: refund "
            f"{money(outcome)} from that order (Backorders moves no money)."
        )
    return "The customer was not charged for these units."


def result(record: CancellationRecord, label: str | None = None) -> str | None:
    """What a done cancellation did and what is owed (the order page, which names the order
    `label`, as its heading does); None before."""
    if record.outcome is None or "quantity" not in record.outcome:
        return None
    outcome = {**record.outcome, "label": label} if label else record.outcome
    return f"{what_was_done(record, outcome)} {payment(record, outcome)}"
