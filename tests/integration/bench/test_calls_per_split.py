"""bench/calls_per_split.py's counting against a real sandbox process on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.calls_per_split import AUTH, SplitCounter
from plugin.platforms.woocommerce.driver import WOOCOMMERCE
from tests.processes import running_sandbox


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplitCounter]:
    with running_sandbox(*AUTH) as url:
        counter = SplitCounter(url, tmp_path_factory.mktemp("calls"))
        yield counter
        counter.db.engine.dispose()


@pytest.mark.parametrize("lines", [1, 10])
def test_a_split_costs_four_calls_whatever_the_line_count(
    counter: SplitCounter, lines: int
) -> None:
    # GET order, GET products (include=), POST orders/batch, POST note on the original.
    assert counter.split_calls(lines) == 4
    assert WOOCOMMERCE.split_calls == 4  # what the settings page tells the merchant


def test_the_customer_note_costs_one_more_call(counter: SplitCounter) -> None:
    assert counter.split_calls(1, customer_note_on_split=True) == 5


def test_an_order_that_is_not_split_is_an_error_not_a_count(counter: SplitCounter) -> None:
    order_id, short = counter.place_order(1)
    (product_id,) = short
    counter.call("PUT", f"/products/{product_id}", {"stock_quantity": 100})  # no longer short

    with pytest.raises(RuntimeError, match=f"order {order_id} was not split"):
        counter.count_split(order_id, short)
    assert counter.call("GET", "/orders", parent=order_id, status="any") == []


def test_a_split_holding_other_lines_is_an_error_not_a_count(counter: SplitCounter) -> None:
    order_id, short = counter.place_order(10)

    with pytest.raises(RuntimeError, match="backorder orders hold"):
        counter.count_split(order_id, short | {0})
