"""The merchant puts units on backorder by hand (plugin/usecases/manual_splitting.py), against the
in-memory store with WooCommerce's stock rules (tests/fakes.py `FakeStore`)."""

from __future__ import annotations

import pytest

from plugin.core.model import Policies, ProductRef, Status, StoreSettings
from plugin.usecases.manual_splitting import split_by_hand
from tests.fakes import Crash, FakeAlerts, FakeAudit, FakeLedger, FakePolicies, FakeStore

MERCHANT = "ann@shop.example"
MUG = ProductRef("105")
KETTLE = ProductRef("106")


def _store() -> FakeStore:
    store = FakeStore(stock={MUG: 5, KETTLE: 10})
    store.place_order("77", [("1", MUG, 5), ("2", KETTLE, 1)], paid=True)
    return store


def _run(store: FakeStore, ledger: FakeLedger, audit: FakeAudit, alerts: FakeAlerts, **kw: object):  # type: ignore[no-untyped-def]
    return split_by_hand(
        1, "77", kw.pop("units", {"1": 2}),  # type: ignore[arg-type]
        requested_by=MERCHANT, platform=store, ledger=ledger,
        policies=kw.pop("policies", FakePolicies()), audit=audit, alerts=alerts,
    )  # fmt: skip


def test_two_of_five_in_stock_units_go_on_backorder_and_leave_the_stock_figure() -> None:
    store, ledger, audit, alerts = _store(), FakeLedger(), FakeAudit(), FakeAlerts()
    assert store.stock[MUG] == 0  # the order took all five

    result = _run(store, ledger, audit, alerts)

    assert result.status == "split" and result.split_key == "77:1"
    child = store.orders[str(result.backorder_order_id)]
    assert [(li.product_id, li.quantity) for li in store.orders["77"].lines] == [
        ("105", 3),
        ("106", 1),
    ]
    assert [(li.product_id, li.quantity) for li in child.lines] == [("105", 2)]
    assert store.numbers[child.id] == "77-001" and store.wc_status[child.id] == "on-hold"
    # The split gave 2 back and the backorder order took them again; setting them aside takes
    # them out: the figure is minus the units waiting, so no allocation frees them.
    assert store.stock == {MUG: -2, KETTLE: 9}
    record = ledger.get(1, "77:1")
    assert record is not None and record.state == "done"
    assert record.plan["manual"] == {
        "requested_by": MERCHANT,
        "set_aside": [
            {
                "pool": {"product_id": "105", "variant_id": None},
                "units": 2,
                "base": 0,
                "name": "Product 105",
                "sku": "SKU-105",
                "target": -2,
            }
        ],
    }
    notes = dict(store.notes)
    assert notes["77"].startswith("Backorders split this order (key 77:1)")
    assert f"{MERCHANT} put 2 of 5 units on backorder by hand" in notes["77"]
    assert notes["77"].endswith("Stock of 'Product 105' (SKU SKU-105): 2 units set aside (0 → -2).")
    assert [e.message for e in audit.entries if e.kind == "call" and "Set aside" in e.message] == [
        "Set aside 2 units of 'Product 105' (SKU SKU-105): stock 0 → -2."
    ]
    assert notes[child.id].startswith(
        f"Backorders: {MERCHANT} put 2 units of order 77 on backorder by hand"
    )
    decision = next(e for e in audit.entries if e.kind == "decision")
    assert (
        decision.message == f"{MERCHANT} put 2 units on backorder by hand: backorder order 77-001."
    )
    assert decision.data["requested_by"] == MERCHANT
    assert alerts.alerts == []


def test_a_crash_after_the_stock_write_sets_the_units_aside_once() -> None:
    store, ledger, audit, alerts = _store(), FakeLedger(), FakeAudit(), FakeAlerts()
    store.crash_after = "set_stock"
    with pytest.raises(Crash):
        _run(store, ledger, audit, alerts)
    assert store.stock[MUG] == -2
    record = ledger.get(1, "77:1")
    assert record is not None and record.state == "original_updated"

    result = _run(store, ledger, audit, alerts)  # the job retried

    assert result.status == "split"
    assert store.stock[MUG] == -2
    assert store.calls.count("set_stock") == 1
    assert store.calls.count("write_split") == 1
    assert len([o for o, _ in store.notes if o == "77"]) == 1


def test_a_figure_that_moved_for_another_reason_is_left_alone_and_the_merchant_told() -> None:
    store, ledger, audit, alerts = _store(), FakeLedger(), FakeAudit(), FakeAlerts()
    # Someone restocks the mug in the store between the plan and the write.
    store.before_write = lambda: store.restock(MUG, 4)

    result = _run(store, ledger, audit, alerts)

    assert result.status == "split"
    assert store.stock[MUG] == 4
    assert "set_stock" not in store.calls
    assert [(kind, order) for _, order, kind, _ in alerts.alerts] == [("set_aside_skipped", "77")]
    assert alerts.alerts[0][3] == (
        "The stock of 'Product 105' (SKU SKU-105) was 0 when 2 units were put on backorder by "
        "hand on order 77, and it is 4 now: it moved for another reason too, so Backorders did "
        "not change it. "
        "Lower it by 2 in the store if those units are not for sale."
    )


@pytest.mark.parametrize(
    ("units", "policies", "code"),
    [
        ({"1": 6}, Policies(), "quantity_out_of_range"),
        ({"1": 0, "2": 0}, Policies(), "nothing_to_backorder"),
        ({"9": 1}, Policies(), "line_unknown"),
        ({"1": 1}, Policies(StoreSettings(eligible_statuses=frozenset({Status.ON_HOLD}))),
         "status_not_eligible"),
    ],
)  # fmt: skip
def test_refusals_write_nothing(units: dict[str, int], policies: Policies, code: str) -> None:
    store, ledger, audit, alerts = _store(), FakeLedger(), FakeAudit(), FakeAlerts()
    before = (dict(store.stock), dict(store.orders))

    result = _run(store, ledger, audit, alerts, units=units, policies=FakePolicies(policies))

    assert result.status == "refused"
    assert (dict(store.stock), dict(store.orders)) == before
    assert store.notes == [] and ledger.records == {}
    assert [c for c in store.calls if c not in ("get_order", "stock_figure")] == []
    assert [e.kind for e in audit.entries] == ["decision"]
    assert audit.entries[0].data["reasons"][0]["code"] == code
    assert audit.entries[0].message.startswith(
        f"Putting units on backorder by hand, as {MERCHANT} asked, was refused; nothing was "
        "changed: "
    )


def test_a_second_request_for_a_split_order_writes_nothing() -> None:
    store, ledger, audit, alerts = _store(), FakeLedger(), FakeAudit(), FakeAlerts()
    _run(store, ledger, audit, alerts)
    stock = dict(store.stock)

    again = split_by_hand(
        1, "77", {"1": 1}, requested_by="bob@shop.example", platform=store, ledger=ledger,
        policies=FakePolicies(), audit=audit, alerts=alerts,
    )  # fmt: skip

    # The same order's own manual split is finished: a second request is a no-op.
    assert again.status == "ignored" and again.split_key == "77:1"
    assert store.stock == stock and store.calls.count("write_split") == 1


def test_an_order_with_a_split_recorded_is_refused_with_the_reason() -> None:
    store, ledger, audit, alerts = _store(), FakeLedger(), FakeAudit(), FakeAlerts()
    ledger.start(1, "77", "hold:77", {"outcome": "hold"})

    result = _run(store, ledger, audit, alerts)

    assert result.status == "refused"
    assert result.detail == (
        "Order 77 already has a split or a backorder order: hold:77 is in progress. Only an "
        "order that was never split may have units put on backorder by hand."
    )
    assert "write_split" not in store.calls and store.stock == {MUG: 0, KETTLE: 9}


def test_an_order_that_has_not_taken_its_stock_is_refused() -> None:
    # Like WooCommerce's pending payment: the order took nothing from the figure yet, so its
    # split would take the units itself and setting them aside would count them twice.
    store, ledger, audit, alerts = _store(), FakeLedger(), FakeAudit(), FakeAlerts()
    store.reduced["77"] = {}
    store.stock = {MUG: 5, KETTLE: 10}

    result = _run(store, ledger, audit, alerts)

    assert result.status == "refused"
    assert result.detail == (
        "Order 77 has not taken its units of 'Product 105' (SKU SKU-105) from the store's "
        "stock yet (e.g. it awaits payment): put units on backorder by hand once it has."
    )
    assert store.stock == {MUG: 5, KETTLE: 10} and ledger.records == {}
    assert "write_split" not in store.calls and "set_stock" not in store.calls
