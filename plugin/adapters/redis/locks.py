"""Per-store locks in Redis: one job at a time per order, and per product being allocated.

An order.created and an order.updated of the same order may be processed by two workers at
once, and both would otherwise try to create the backorder order; an allocation job reads,
plans and writes a product's stock under its product's lock. Locks are renewed while the block
runs, so a dead worker frees them within `ORDER_LOCK_TTL` seconds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import redis

from plugin.core.model import ProductRef
from plugin.errors import TransientError

# Seconds; renewed every third of it while the job runs. A worker runs its jobs in its own
# process (plugin/adapters/queue/inprocess.py), so a killed worker's job dies with it and leaves
# its locks to expire: within this TTL, shorter than ORDER_LOCK_WAIT, so a job waiting for the
# lock gets it rather than failing "busy" and waiting for its retry.
ORDER_LOCK_TTL = 10
ORDER_LOCK_WAIT = 20  # seconds to wait for the lock before retrying the job later
RESPLIT_LOCK_WAIT = 5  # seconds an allocation job waits for an order it would split again


class VariationParents(Protocol):
    def parent_product(self, store_id: int, product_id: str) -> str:
        """The product whose allocation job covers `product_id` (its parent for a variation
        whose parent keeps the stock, else itself; plugin/adapters/sql/releases.py)."""
        ...


@contextlib.contextmanager
def order_lock(
    connection: redis.Redis, store_id: int, order_id: str, wait: float | None = None
) -> Iterator[None]:
    """Hold the per-order lock, renewing it while the block runs; TransientError (reason
    "busy") when another job holds it for more than `wait` seconds (`ORDER_LOCK_WAIT`)."""
    with store_locks(connection, store_id, [order_id], ORDER_LOCK_WAIT if wait is None else wait):
        yield


class LockRenewer:
    """One thread per process that extends every lock held through it to `ttl` seconds, every
    third of it, while it is held.

    A thread started and joined per held set of locks cost more CPU than the split's Redis
    calls (README "Benchmarks", `worker_cpu`). A set is renewed within a third of the TTL of
    being taken, as before; a lock let go (or taken over by another job after its expiry) is
    never extended again: Redis extends a lock only for the token that holds it. A forked child
    starts its own thread when it first holds a lock."""

    def __init__(self, ttl: float = ORDER_LOCK_TTL) -> None:
        self.ttl = ttl
        self._held: dict[int, list[Any]] = {}
        self._ids = itertools.count()
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, locks: list[Any]) -> int:
        """Renew `locks` until `let_go` is called with the id returned."""
        with self._mutex:
            token = next(self._ids)
            self._held[token] = locks
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lock-renewer", daemon=True)
                self._thread.start()
            return token

    def let_go(self, token: int) -> None:
        with self._mutex:
            self._held.pop(token, None)

    def _run(self) -> None:
        while True:
            time.sleep(self.ttl / 3)
            with self._mutex:
                held = [lock for locks in self._held.values() for lock in locks]
            for lock in held:
                with contextlib.suppress(redis.RedisError):  # let go meanwhile, or Redis away
                    lock.extend(self.ttl, replace_ttl=True)


_RENEWER = LockRenewer()


@contextlib.contextmanager
def store_locks(
    connection: redis.Redis, store_id: int, names: Sequence[str], wait: float
) -> Iterator[None]:
    """Hold the locks `names` of a store (order ids, `product:<id>`), taken in that order and
    renewed while the block runs (`LockRenewer`); TransientError (reason "busy") when another
    job holds one for more than `wait` seconds (the ones taken are let go)."""
    held: list[Any] = []
    renewal: int | None = None
    try:
        for name in names:
            lock = connection.lock(
                f"backorders:lock:order:{store_id}:{name}",
                timeout=ORDER_LOCK_TTL,
                blocking_timeout=wait,
                thread_local=False,
            )
            if not lock.acquire():
                raise TransientError(
                    f"order {name} is being processed by another job", reason="busy"
                )
            held.append(lock)
        renewal = _RENEWER.hold(held)
        yield
    finally:
        if renewal is not None:
            _RENEWER.let_go(renewal)
        for lock in reversed(held):
            with contextlib.suppress(redis.RedisError):
                lock.release()


@contextlib.contextmanager
def product_lock(connection: redis.Redis, store_id: int, product_id: str) -> Iterator[None]:
    """Hold the per-store+product allocation lock (read, plan and write under one lock)."""
    with order_lock(connection, store_id, f"product:{product_id}"):
        yield


def allocation_lock_ids(refs: Iterable[ProductRef]) -> list[str]:
    """Every id an allocation job of these products or variations locks on: a job locks its
    product, the parent for a variation the ledger knows (`allocation_lock`), else the id it
    was given, so a variation is covered by both. Sorted, so jobs taking several take them
    in one order."""
    return sorted({i for ref in refs for i in (ref.product_id, ref.variant_id) if i})


@contextlib.contextmanager
def allocation_lock(
    connection: redis.Redis, ledger: VariationParents, store_id: int, product_id: str
) -> Iterator[None]:
    """The lock of an allocation job for product `product_id` (`allocate_product` runs a
    variation's job for its parent). Variations whose parent keeps the stock draw on one
    figure, so jobs for any of them and for the parent must be one job under one lock; a
    variation whose first backorder was recorded meanwhile (under its parent's lock) makes the
    job run again for its parent."""
    with product_lock(connection, store_id, product_id):
        if ledger.parent_product(store_id, product_id) != product_id:
            raise TransientError(
                f"product {product_id} turned out to be a variation; retried for its parent",
                reason="busy",
            )
        yield


@contextlib.contextmanager
def product_locks(
    connection: redis.Redis, store_id: int, refs: Iterable[ProductRef]
) -> Iterator[None]:
    """Hold the allocation locks of every product (and variation) in `refs`."""
    names = [f"product:{i}" for i in allocation_lock_ids(refs)]
    with store_locks(connection, store_id, names, ORDER_LOCK_WAIT):
        yield
