"""The recorded-steps state machine (plugin/steps.py) on its own, over the in-memory fakes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from plugin.errors import PermanentError
from plugin.ports import SplitRecord, SplitState
from plugin.steps import SplitWrite, Step, carry_out, record_failure
from tests.fakes import FakeAudit, FakeLedger

STEPS = ("planned", "written", "noted", "done")


class Run:
    """A run whose effects and records are listed in the order they happened."""

    def __init__(self, fail_at: str | None = None) -> None:
        self.events: list[str] = []
        self.fail_at = fail_at

    def effect(self, name: str) -> Any:
        def action() -> dict[str, Any]:
            if name == self.fail_at:
                raise RuntimeError(name)
            self.events.append(f"effect:{name}")
            return {"by": name}

        return action

    def record(self, state: str, **values: Any) -> None:
        self.events.append(f"record:{state}:{values['by']}")

    def steps(self) -> list[Step]:
        return [
            Step(("planned",), "written", self.effect("write")),
            Step(("written",), "noted", self.effect("note")),
            Step(
                ("noted",), "done", self.effect("finish"), then=lambda: self.events.append("then")
            ),
        ]


@pytest.mark.parametrize("start", STEPS)
def test_each_step_left_runs_once_and_is_recorded_before_the_next(start: str) -> None:
    run = Run()

    reached = carry_out(start, run.steps(), run.record)

    everything = [
        "effect:write", "record:written:write",
        "effect:note", "record:noted:note",
        "effect:finish", "record:done:finish", "then",
    ]  # fmt: skip
    skipped = {"planned": 0, "written": 2, "noted": 4, "done": 7}[start]
    assert (reached, run.events) == ("done", everything[skipped:])


def test_a_failing_step_leaves_the_state_recorded_before_it_and_nothing_after() -> None:
    run = Run(fail_at="note")

    with pytest.raises(RuntimeError, match="note"):
        carry_out("planned", run.steps(), run.record)

    assert run.events == ["effect:write", "record:written:write"]
    resumed = Run()
    assert carry_out("written", resumed.steps(), resumed.record) == "done"
    assert resumed.events[0] == "effect:note"  # the failed step runs again, the one before not


def test_with_together_each_record_and_its_then_are_one_block_and_the_action_is_outside() -> None:
    run = Run()

    @contextlib.contextmanager
    def together() -> Iterator[None]:
        run.events.append("begin")
        yield
        run.events.append("commit")

    assert carry_out("written", run.steps(), run.record, together) == "done"

    assert run.events == [
        "effect:note", "begin", "record:noted:note", "commit",
        "effect:finish", "begin", "record:done:finish", "then", "commit",
    ]  # fmt: skip


def test_record_failure_audits_once_and_fails_every_record_keeping_the_created_order() -> None:
    ledger, audit = FakeLedger(), FakeAudit()
    for key in ("1042:1", "hold:1042"):
        ledger.start(3, "1042", key, {})
    error = PermanentError("refused", reason="invalid_plan")
    error.backorder_order_id = "5001"  # type: ignore[attr-defined]

    record_failure(3, "1042", error, "Could not.", ledger=ledger, audit=audit, keys=["1042:1"])

    assert [(e.kind, e.message, e.data) for e in audit.entries] == [
        ("error", "Could not.", {"reason": "invalid_plan"})
    ]
    failed, untouched = ledger.get(3, "1042:1"), ledger.get(3, "hold:1042")
    assert failed is not None and untouched is not None
    assert (failed.state, failed.backorder_order_id, failed.error) == (
        SplitState.FAILED, "5001", "Could not.",
    )  # fmt: skip
    assert (untouched.state, untouched.error) == (SplitState.PLANNED, None)


def _write(record: SplitRecord, found: str | None = None) -> tuple[SplitWrite, list[Any]]:
    calls: list[Any] = []
    ledger = FakeLedger(records={(record.store_id, record.split_key): record})

    def find() -> str | None:
        calls.append("find")
        return found

    def write(existing: str | None) -> str:
        calls.append(("write", existing))
        return existing or "5000"

    split = SplitWrite(
        record, ledger=ledger, audit=FakeAudit(), order_id="1042", what="split",
        find=find, write=write,
    )  # fmt: skip
    return split, calls


def test_split_write_from_planned_writes_once_and_records_both_states_with_the_order() -> None:
    record = SplitRecord(3, "1042", "1042:1", SplitState.PLANNED, {})
    split, calls = _write(record)
    recorded: list[tuple[str, dict[str, Any]]] = []

    carry_out(record.state, split.steps(), lambda state, **values: recorded.append((state, values)))

    assert calls == [("write", None)]
    assert recorded == [
        (SplitState.BACKORDER_CREATED, {"backorder_order_id": "5000"}),
        (SplitState.ORIGINAL_UPDATED, {"backorder_order_id": "5000"}),
    ]
    assert split.ledger.get(3, "1042:1").create_attempted  # type: ignore[union-attr]


def test_split_write_after_an_attempt_looks_first_and_only_updates_what_it_finds() -> None:
    record = SplitRecord(3, "1042", "1042:1", SplitState.PLANNED, {}, create_attempted=True)
    split, calls = _write(record, found="5007")

    carry_out(record.state, split.steps(), lambda state, **values: None)

    assert calls == ["find", ("write", "5007")]
    assert split.backorder_order_id == "5007"
    audit = split.audit
    assert [e.message for e in audit.entries][0] == (  # type: ignore[attr-defined]
        "Found backorder order 5007 from an earlier attempt."
    )


def test_split_write_resumed_with_the_order_recorded_does_not_look_for_it() -> None:
    record = SplitRecord(
        3, "1042", "1042:1", SplitState.BACKORDER_CREATED, {}, backorder_order_id="5003",
        create_attempted=True,
    )  # fmt: skip
    split, calls = _write(record)

    carry_out(record.state, split.steps(), lambda state, **values: None)

    assert calls == [("write", "5003")]
