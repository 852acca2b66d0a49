"""`held_by_unpaid_releases`: the units released to unpaid orders still `pending`, which
allocation and splitting both count out of the free units."""

from __future__ import annotations

from plugin.core.model import CustomerPolicy, ProductRef
from plugin.ports import ReleaseState
from plugin.usecases.releasing import allocate_product, held_by_unpaid_releases, release_key
from tests.fakes import (
    FakeAudit,
    FakeCustomerPolicies,
    FakeLedger,
    FakeReleaseLedger,
    FakeReleaseStore,
)

WIDGET = ProductRef("77")
GADGET = ProductRef("66")


def released_world() -> tuple[FakeReleaseStore, FakeReleaseLedger]:
    """Unpaid 502 (2 widgets) and 503 (1 gadget, 1 widget) released to `pending`."""
    store = FakeReleaseStore()
    ledger = FakeReleaseLedger(split_ledger=FakeLedger())
    store.add_backorder("502", "1", [("a", "77", 2)], created_minute=1)
    store.add_backorder("503", "1", [("b", "66", 1), ("c", "77", 1)], created_minute=2)
    ledger.splits += [("502", ("77",)), ("503", ("66", "77"))]
    store.restock("77", 3)
    store.restock("66", 1)
    for product in ("77", "66"):
        allocate_product(
            1, product, platform=store, releases=ledger, splits=FakeLedger(),
            policies=FakeCustomerPolicies({"1": CustomerPolicy("1")}), audit=FakeAudit(),
        )  # fmt: skip
    assert (store.wc_status["502"], store.wc_status["503"]) == ("pending", "pending")
    store.calls.clear()
    return store, ledger


def test_every_pending_release_holds_its_units_read_in_one_call() -> None:
    store, ledger = released_world()

    held = held_by_unpaid_releases(1, store, ledger, settle=False)

    assert held == {WIDGET: 3, GADGET: 1}
    assert store.calls == ["get_orders"]


def test_only_the_products_asked_for_are_read() -> None:
    store, ledger = released_world()

    assert held_by_unpaid_releases(1, store, ledger, settle=False, pools={GADGET}) == {
        WIDGET: 1,  # 503 is read because it holds a gadget; its whole release counts
        GADGET: 1,
    }
    assert held_by_unpaid_releases(1, store, ledger, settle=False, pools={ProductRef("55")}) == {}
    assert store.calls == ["get_orders"]  # the second asked for nothing: no call


def test_an_order_is_never_held_against_itself() -> None:
    store, ledger = released_world()

    held = held_by_unpaid_releases(1, store, ledger, settle=False, excluding="503")

    assert held == {WIDGET: 2}


def test_paid_cancelled_and_deleted_orders_hold_nothing_and_are_finished() -> None:
    store, ledger = released_world()
    store.pay("502")
    store.cancel("503")

    assert held_by_unpaid_releases(1, store, ledger, settle=False) == {}
    assert [r.state for r in ledger.released_to_pay(1)] == [ReleaseState.DONE] * 2
    assert held_by_unpaid_releases(1, store, ledger, settle=True) == {}
    assert [r.state for r in ledger.released_to_pay(1)] == [ReleaseState.SETTLED] * 2
    store.calls.clear()
    assert held_by_unpaid_releases(1, store, ledger, settle=True) == {}
    assert store.calls == []  # settled: never read again

    deleted_store, deleted_ledger = released_world()
    deleted_store.delete_order("502")  # the merchant deleted the pending order
    assert held_by_unpaid_releases(1, deleted_store, deleted_ledger, settle=True) == {
        WIDGET: 1,
        GADGET: 1,
    }
    record = deleted_ledger.records[(1, release_key("502"))]
    # Gone (not settled): the order no longer exists, so nothing about it is ever read again.
    assert record.state == ReleaseState.GONE  # type: ignore[attr-defined]
