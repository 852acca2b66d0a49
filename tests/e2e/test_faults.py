"""The pipeline under the sandbox's faults: duplicated and dropped deliveries, a storm of 429s.
(A worker killed mid-split is in test_worker_crash.py, which runs last: see there.)"""

from __future__ import annotations

import time
from typing import Any

import pytest

import run
from tests.e2e.helpers import Api, Jobs, PluginDb, Shop, meta, settle, towel_and_pan, wait_for

pytestmark = pytest.mark.e2e

STORM_LIMIT = 1  # requests per second the sandbox accepts per key during the storm
STORM_ORDERS = 3
STORM_SECONDS = 20.0  # the storm lasts until the plugin met it, at most this long
# A 429 with Retry-After is retried at the store's pace (plugin/adapters/queue/retry.py
# `paced_delay`); the deadline also covers a 429 without it, which takes the worker's backoff
# (10 s, then 30 s, +-25 %).
RECOVERY_DEADLINE = 60.0


def _split_done(api: Api, order_id: int) -> list[dict[str, Any]] | None:
    children = api.children(order_id)
    if children and meta(api.order(order_id), "backorders_split_key"):
        return children
    return None


@pytest.mark.database("sqlite", "postgresql")  # representative on PostgreSQL too
def test_duplicated_deliveries_give_exactly_one_split(
    stack: run.Stack, api: Api, shop: Shop, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    kept, short = towel_and_pan(api)
    run.set_sandbox_faults(stack.sandbox_url, {"duplicate_rate": 1.0})
    order_id, _ = shop.place_order([(kept["id"], 1), (short["id"], 2)], "card")

    wait_for(lambda: _split_done(api, order_id), what="split")
    settle(stack.sandbox_url, plugin_db, jobs, stack.store_id, order_id)

    sent = [
        d for d in Api.deliveries(stack.sandbox_url) if str(d.get("resource_id")) == str(order_id)
    ]
    assert any("duplicate" in str(d.get("fault") or "") for d in sent), sent[:3]
    assert len(api.children(order_id)) == 1
    assert jobs.failed_ids() == []


@pytest.mark.database("sqlite", "postgresql")  # representative on PostgreSQL too
def test_dropped_deliveries_are_caught_by_reconciliation(
    stack: run.Stack, api: Api, shop: Shop, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    kept, short = towel_and_pan(api)
    run.set_sandbox_faults(stack.sandbox_url, {"drop_rate": 1.0})
    order_id, _ = shop.place_order([(kept["id"], 1), (short["id"], 2)], "card")
    wait_for(lambda: Api.flush_deliveries(stack.sandbox_url), what="deliveries dropped")
    run.set_sandbox_faults(stack.sandbox_url, {"drop_rate": 0.0})

    # Nothing reached the plugin, so nothing happened.
    assert plugin_db.events_for(stack.store_id, order_id) == []
    assert api.children(order_id) == []

    jobs.enqueue("worker.reconcile_store", stack.store_id)

    children = wait_for(lambda: _split_done(api, order_id), what="split after reconciliation")
    assert len(children) == 1
    sources = {e.source for e in plugin_db.events_for(stack.store_id, order_id)}
    assert "reconcile" in sources


def test_a_429_storm_ends_with_every_order_split_and_no_job_failed(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    store_id = stack.store_id
    kept, short = towel_and_pan(api)
    failed_before = set(jobs.failed_ids())
    # The storm: the store accepts one REST request per second per key and answers the rest
    # 429 Retry-After. The test reads the plugin's own tables meanwhile (the limit is per key),
    # and orders come in through the storefront, which is not rate limited.
    run.set_sandbox_faults(stack.sandbox_url, {"rate_limit_per_sec": STORM_LIMIT})
    order_ids = []
    for _ in range(STORM_ORDERS):
        with Shop(stack.sandbox_url) as shopper:
            order_ids.append(shopper.place_order([(kept["id"], 1), (short["id"], 1)], "cod")[0])

    def retries() -> list[Any]:
        return [
            entry
            for order_id in order_ids
            for entry in plugin_db.audit.for_order(store_id, str(order_id))
            if entry.kind == "retry"
        ]

    # The plugin meets the 429s and schedules retries (recorded in the audit trail) ...
    met = wait_for(retries, timeout=STORM_SECONDS, what="429s reaching the plugin")
    assert {entry.data.get("reason") for entry in met} <= {
        "rate_limited",
        "woocommerce_rest_too_many_requests",
    }
    # ... then the storm passes, and every order gets split by the retries.
    run.set_sandbox_faults(stack.sandbox_url, {"rate_limit_per_sec": 0})

    def all_done() -> bool:
        return all(
            any(r.state == "done" for r in plugin_db.ledger.for_order(store_id, str(order_id)))
            for order_id in order_ids
        )

    started = time.monotonic()
    wait_for(all_done, timeout=RECOVERY_DEADLINE, what="every order split after the storm")
    print(f"429 storm: {len(met)} retries; split {time.monotonic() - started:.1f} s after it")
    for order_id in order_ids:
        settle(stack.sandbox_url, plugin_db, jobs, store_id, order_id, timeout=RECOVERY_DEADLINE)
        children = api.children(order_id)
        assert len(children) == 1
        assert [li["quantity"] for li in children[0]["line_items"]] == [1]
    assert set(jobs.failed_ids()) == failed_before
