"""memory's plan of webhooks: new events and repeats, the same every run."""

from __future__ import annotations

from bench.memory import Track, rss_by_role, webhook_plan


def test_plan_is_reproducible_and_mixes_new_events_and_repeats() -> None:
    plan = webhook_plan([11, 12, 13], 1000, 0.2, seed=7)
    assert plan == webhook_plan([11, 12, 13], 1000, 0.2, seed=7)
    assert plan != webhook_plan([11, 12, 13], 1000, 0.2, seed=8)
    assert len(plan) == 1000
    assert {h.order_id for h in plan} == {11, 12, 13}
    new = [h for h in plan if not h.repeat]
    assert 150 <= len(new) <= 260  # about 20 %, plus each order's first webhook


def test_new_events_have_unseen_dates_and_repeats_reuse_one_of_the_same_order() -> None:
    seen: dict[int, set[str]] = {}
    all_dates: set[str] = set()
    for hook in webhook_plan([1, 2, 3, 4], 500, 0.3, seed=1):
        earlier = seen.setdefault(hook.order_id, set())
        if hook.repeat:
            assert hook.modified_gmt in earlier
        else:
            assert not earlier or hook.modified_gmt not in all_dates
            assert hook.modified_gmt not in all_dates
            earlier.add(hook.modified_gmt)
            all_dates.add(hook.modified_gmt)


def test_first_webhook_of_each_order_is_new() -> None:
    first: dict[int, bool] = {}
    for hook in webhook_plan(list(range(50)), 300, 0.0, seed=3):
        first.setdefault(hook.order_id, hook.repeat)
    assert set(first.values()) == {False}


def test_rss_by_role_takes_the_largest_process_and_tells_scheduler_from_horses() -> None:
    tracks = {
        100: Track("web worker", {0: 50, 1: 70, 2: 60}),
        101: Track("web worker", {0: 40, 1: 90, 2: 45}),
        200: Track("rq worker", {0: 30, 1: 31, 2: 32}),
        201: Track("worker child", {0: 20, 1: 20, 2: 21}),  # alive throughout: the scheduler
        202: Track("worker child", {1: 80}),  # a work horse
        203: Track("worker child", {2: 35}),  # another, alive at the last sample
    }
    assert rss_by_role(tracks, 3) == {
        "web worker": {"start": 50, "final": 60, "peak": 90},
        "rq worker": {"start": 30, "final": 32, "peak": 32},
        "rq scheduler": {"start": 20, "final": 21, "peak": 21},
        "work horse": {"start": None, "final": 35, "peak": 80},
    }
