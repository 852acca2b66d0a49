"""The recorded-steps state machine: every use case that writes to a store does it through here.

A write that must happen exactly once (a split, a whole-order hold, a re-split, a release, the
cancellation of a backorder line) is a record in a ledger, keyed by a deterministic key and
moved forward through its states: planned → written → noted → done (each flow names its own
states). Each `Step` runs from the states it lists, does its effect and is recorded in its end
state before the next step starts, so a run that dies anywhere is resumed from the recorded
state by the next attempt: a step whose record was written never runs again, and a step whose
effect reached the store but whose record did not is repeated, so every effect must be safe to
repeat (the flows look first, or write absolute values).

`record_failure` is the one way a permanent failure ends a split-ledger record (a split, a hold,
a re-split): it tells the merchant in the order's audit trail and keeps the id of a backorder
order the store created before it failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from plugin.errors import PermanentError
from plugin.ports import AuditLog, SplitLedger, SplitRecord, SplitState, Together


class Record(Protocol):
    """Records a run in `state`, with values the step gives (an order id, a payment link)."""

    def __call__(self, state: str, **values: Any) -> None: ...


@dataclass(frozen=True)
class Step:
    """One effect of a recorded run: it runs when the run is in one of `start`, and the run is
    recorded in `end` with the values `action` returns; `then` (an audit entry) is written with
    that record, in one transaction when `carry_out` is given `together`."""

    start: tuple[str, ...]
    end: str
    action: Callable[[], Mapping[str, Any] | None]
    then: Callable[[], object] | None = None


def carry_out(
    state: str, steps: Sequence[Step], record: Record, together: Together | None = None
) -> str:
    """Run, in order, every step that starts from the run's current state, recording each one
    (with its `then`, together) before the next; returns the state reached (the given one when
    nothing was left to do)."""
    for step in steps:
        if state not in step.start:
            continue
        values = step.action() or {}
        with _one(together):
            record(step.end, **values)
            if step.then is not None:
                step.then()
        state = step.end
    return state


def _one(together: Together | None) -> contextlib.AbstractContextManager[object]:
    return together() if together is not None else contextlib.nullcontext()


def created_order_id(exc: BaseException) -> str | None:
    """The backorder order a platform created before failing, when its error names one
    (`backorder_order_id`, set by the platform adapter)."""
    created = getattr(exc, "backorder_order_id", None)
    return str(created) if created else None


def record_failure(
    store_id: int,
    order_id: str,
    exc: PermanentError,
    message: str,
    *,
    ledger: SplitLedger,
    audit: AuditLog,
    keys: Iterable[str],
) -> None:
    """A permanent failure: audited on the order, and every record in `keys` moved to FAILED
    with `message` (and the backorder order already created, if any). Not retried."""
    audit.record(store_id, order_id, "error", message, reason=exc.reason)
    created = created_order_id(exc)
    for key in keys:
        ledger.advance(store_id, key, SplitState.FAILED, backorder_order_id=created, error=message)


class SplitWrite:
    """The written part of a split-ledger run (a split, or a re-split): planned → backorder
    created → original updated, with the one store write that does both (`write`, given the
    backorder order when it exists already: then it only updates the original).

    `create_attempted` is committed before a call that may create the backorder order, so a
    run that died during it looks for that order first (`find`, by the key written on it)
    instead of creating a second one; the audit entries of the call go with it (`together`)."""

    def __init__(
        self,
        record: SplitRecord,
        *,
        ledger: SplitLedger,
        audit: AuditLog,
        order_id: str,
        what: str,
        find: Callable[[], str | None],
        write: Callable[[str | None], str],
        together: Together | None = None,
    ) -> None:
        self.record = record
        self.together = together
        self.ledger = ledger
        self.audit = audit
        self.order_id = order_id
        self.what = what
        self.find = find
        self.write = write
        self._written: str | None = None

    @property
    def backorder_order_id(self) -> str | None:
        """The backorder order written by this run, else the one recorded before it."""
        return self._written if self._written is not None else self.record.backorder_order_id

    def steps(self) -> list[Step]:
        return [
            Step((SplitState.PLANNED,), SplitState.BACKORDER_CREATED, self._write_once),
            Step((SplitState.BACKORDER_CREATED,), SplitState.ORIGINAL_UPDATED, self._write_once),
        ]

    def _write_once(self) -> dict[str, Any]:
        if self._written is None:
            self._written = self._write()
        return {"backorder_order_id": self._written}

    def _write(self) -> str:
        store_id, key = self.record.store_id, self.record.split_key
        existing = self.record.backorder_order_id
        found = None
        if existing is None and self.record.create_attempted:
            # An earlier attempt may have created the order and died before recording it;
            # the key written on the order finds it.
            existing = found = self.find()
        with _one(self.together):
            if found is not None:
                self.audit.record(
                    store_id, self.order_id, "info",
                    f"Found backorder order {found} from an earlier attempt.", split_key=key,
                )  # fmt: skip
            if existing is None:
                # Committed before the call: if we die during it, the retry looks first.
                self.ledger.mark_create_attempted(store_id, key)
            self.audit.record(
                store_id, self.order_id, "call", f"Writing the {self.what} to the store.",
                split_key=key, existing_backorder_order=existing,
            )  # fmt: skip
        return self.write(existing)
