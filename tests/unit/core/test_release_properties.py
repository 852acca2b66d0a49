"""Properties of `plan_release` over generated stock and queues of open backorders."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from plugin.core.model import DeliveryCondition, ProductRef
from plugin.core.release import OpenBackorder, OpenLine, ReleaseResult, plan_release, queue_key
from plugin.core.serialize import release_from_dict, release_to_dict
from tests.examples import properties

EXAMPLES = properties(1000)
REFS = (ProductRef("A"), ProductRef("B"), ProductRef("C", "red"), ProductRef("D"))
BASE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

_REF = st.sampled_from(REFS)
_QTY = st.integers(1, 8) | st.just(0)
_DELIVERY = st.sampled_from(list(DeliveryCondition))
_PRIORITY = st.integers(0, 3)
_AGE = st.integers(0, 5)
_AVAILABLE = st.dictionaries(_REF, st.integers(-3, 20), max_size=len(REFS))


@st.composite
def queues(draw: st.DrawFn) -> list[OpenBackorder]:
    count = draw(st.integers(0, 8))
    result = []
    for i in range(count):
        lines = tuple(
            OpenLine(f"{i}-{j}", draw(_REF), draw(_QTY)) for j in range(draw(st.integers(1, 4)))
        )
        result.append(
            OpenBackorder(
                order_id=str(i),
                priority=draw(_PRIORITY),
                created_at=BASE + dt.timedelta(hours=draw(_AGE)),
                delivery=draw(_DELIVERY),
                lines=lines,
            )
        )
    return result


def _allocated_by_ref(result: ReleaseResult) -> dict[ProductRef, int]:
    totals: dict[ProductRef, int] = defaultdict(int)
    for order in result.orders:
        for line in order.lines:
            totals[line.ref] += line.allocated
    return totals


@EXAMPLES
@given(_AVAILABLE, queues())
def test_never_more_than_available_and_every_unit_accounted_for(
    available: dict[ProductRef, int], queue: list[OpenBackorder]
) -> None:
    result = plan_release(available, queue)
    allocated = _allocated_by_ref(result)
    remaining = dict(result.remaining)
    for ref in REFS:
        free = max(available.get(ref, 0), 0)
        assert allocated[ref] <= free
        if ref in available:
            assert remaining[ref] + allocated[ref] == free
        else:
            assert allocated[ref] == 0 and ref not in remaining
    for order in result.orders:
        for line in order.lines:
            assert 0 <= line.allocated <= line.requested


@EXAMPLES
@given(_AVAILABLE, queues())
def test_delivery_conditions_are_respected(
    available: dict[ProductRef, int], queue: list[OpenBackorder]
) -> None:
    result = plan_release(available, queue)
    by_id = {b.order_id: b for b in queue}
    assert sorted(o.order_id for o in result.orders) == sorted(by_id)
    for order in result.orders:
        delivery = by_id[order.order_id].delivery
        if delivery is DeliveryCondition.LINES_COMPLETE:
            assert all(line.allocated in (0, line.requested) for line in order.lines)
        if delivery is DeliveryCondition.WHOLE_ORDER:
            assert order.complete or order.allocated == 0


@EXAMPLES
@given(_AVAILABLE, queues())
def test_served_by_priority_then_age_and_nobody_earlier_is_skipped(
    available: dict[ProductRef, int], queue: list[OpenBackorder]
) -> None:
    result = plan_release(available, queue)
    by_id = {b.order_id: b for b in queue}
    keys = [queue_key(by_id[o.order_id]) for o in result.orders]
    assert keys == sorted(keys)
    assert [o.rank for o in result.orders] == list(range(1, len(queue) + 1))
    # Stock left over of a product means no ship-available line of it went short.
    remaining = dict(result.remaining)
    for order in result.orders:
        if by_id[order.order_id].delivery is DeliveryCondition.SHIP_AVAILABLE:
            for line in order.lines:
                if line.allocated < line.requested:
                    assert remaining.get(line.ref, 0) == 0
    # A later order only gets units of a product that every earlier ship-available
    # order's lines of that product already have in full.
    short_before: set[ProductRef] = set()
    for order in result.orders:
        for line in order.lines:
            if line.allocated:
                assert line.ref not in short_before
        if by_id[order.order_id].delivery is DeliveryCondition.SHIP_AVAILABLE:
            short_before |= {ln.ref for ln in order.lines if ln.allocated < ln.requested}


@EXAMPLES
@given(_AVAILABLE, queues(), st.randoms(use_true_random=False))
def test_deterministic_whatever_the_input_order(
    available: dict[ProductRef, int], queue: list[OpenBackorder], rng: random.Random
) -> None:
    first = plan_release(available, queue)
    shuffled = list(queue)
    rng.shuffle(shuffled)
    assert plan_release(dict(reversed(list(available.items()))), shuffled) == first


@EXAMPLES
@given(_AVAILABLE, queues())
def test_release_round_trips_through_json(
    available: dict[ProductRef, int], queue: list[OpenBackorder]
) -> None:
    result = plan_release(available, queue)
    assert release_from_dict(json.loads(json.dumps(release_to_dict(result)))) == result
