"""The allocation locks a split holds while it reads free units (`product_locks`,
plugin/adapters/redis/locks.py), on a real Redis: the same keys an allocation job of the product
or of the variation takes."""

from __future__ import annotations

import time

import pytest
import redis

from plugin.adapters.redis import locks
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import ProductRef
from plugin.errors import TransientError

STORE = 3
REFS = [ProductRef("77"), ProductRef("30", "31")]
KEYS = [f"backorders:lock:order:{STORE}:product:{i}" for i in ("30", "31", "77")]


def test_a_split_holds_the_lock_of_every_product_and_variation_then_lets_go(
    redis_client: redis.Redis,
) -> None:
    with locks.product_locks(redis_client, STORE, REFS):
        assert [redis_client.exists(key) for key in KEYS] == [1, 1, 1]
        for product_id in ("77", "30", "31"):  # what allocation jobs lock on
            with (
                pytest.raises(TransientError) as busy,
                locks.order_lock(redis_client, STORE, f"product:{product_id}", wait=0.1),
            ):
                pass
            assert busy.value.reason == "busy"

    assert [redis_client.exists(key) for key in KEYS] == [0, 0, 0]
    with locks.product_lock(redis_client, STORE, "77"):
        assert redis_client.exists(KEYS[2]) == 1


def test_a_lock_held_elsewhere_makes_the_split_retry_and_keeps_nothing(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locks, "ORDER_LOCK_WAIT", 0.2)
    with locks.order_lock(redis_client, STORE, "product:77", wait=0.1):  # an allocation job
        with (
            pytest.raises(TransientError) as busy,
            locks.product_locks(redis_client, STORE, REFS),
        ):
            pass
        assert busy.value.reason == "busy"
        # The locks it took before meeting the busy one are let go.
        assert [redis_client.exists(key) for key in KEYS] == [0, 0, 1]
    assert [redis_client.exists(key) for key in KEYS] == [0, 0, 0]


def test_an_allocation_job_runs_under_its_parents_lock_which_every_variation_shares(
    redis_client: redis.Redis, db: Database, store: StoreRecord
) -> None:
    # A split moved variation 31 of product 30: the ledger knows 31's parent.
    splits = SqlSplitLedger(db)
    line = {"line_id": "1", "ref": {"product_id": "30", "variant_id": "31"}, "backorder": 1}
    splits.start(store.id, "500", "500:1", {"lines": [line]})
    splits.advance(store.id, "500:1", "done", backorder_order_id="501")
    ledger = SqlReleaseLedger(db)
    key = f"backorders:lock:order:{store.id}:product:30"

    with locks.allocation_lock(redis_client, ledger, store.id, "30"):
        assert redis_client.exists(key) == 1
        # A split of an order for variation 32 (its figure may be the parent's) waits for it.
        with (
            pytest.raises(TransientError),
            locks.store_locks(redis_client, store.id, ["product:30"], wait=0.1),
        ):
            pass
    assert redis_client.exists(key) == 0

    # A job still named for the variation (queued before its first split was recorded) is
    # retried for the parent, and keeps no lock.
    with (
        pytest.raises(TransientError) as again,
        locks.allocation_lock(redis_client, ledger, store.id, "31"),
    ):
        pass
    assert again.value.reason == "busy"
    assert redis_client.exists(f"backorders:lock:order:{store.id}:product:31") == 0


def test_held_locks_are_renewed_past_their_ttl_and_never_after_they_are_let_go(
    redis_client: redis.Redis,
) -> None:
    """One renewer thread per process keeps every held lock alive (`LockRenewer`): a lock
    held for over twice its TTL is still held, and one let go is no longer extended."""
    renewer = locks.LockRenewer(ttl=0.6)
    held = redis_client.lock("renewed", timeout=0.6, thread_local=False)
    dropped = redis_client.lock("dropped", timeout=0.6, thread_local=False)
    assert held.acquire(blocking=False) and dropped.acquire(blocking=False)
    token = renewer.hold([held])
    renewer.let_go(renewer.hold([dropped]))

    deadline = time.monotonic() + 1.5  # two and a half TTLs
    while time.monotonic() < deadline:
        assert redis_client.exists("renewed") == 1
        time.sleep(0.05)

    assert redis_client.exists("dropped") == 0  # expired: never extended after `let_go`
    assert held.owned()
    renewer.let_go(token)
    held.release()
    assert redis_client.exists("renewed") == 0
