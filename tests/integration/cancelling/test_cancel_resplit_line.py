"""Cancelling a line of a backorder order made by a partial release (-002), through real
worker processes against the sandbox store."""

from __future__ import annotations

from typing import Any

from plugin.adapters.sql.splits import SqlSplitLedger
from tests.integration.cancelling.test_cancel_line import (
    request,
    run_job,
    split_world,
    stock,
)
from tests.integration.worker.conftest import Instance, Sandbox, wait_until


def test_a_line_of_the_002_order_is_cancelled_like_any_backorder_line(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-cancel-resplit")
    world = split_world(instance, sandbox)  # the backorder order holds 2 widgets and 1 pen
    client = sandbox.client()
    product = client.put(f"/products/{world['widget']}", {"stock_quantity": 0})  # 2 arrive
    instance.add_event(str(world["widget"]), product["date_modified_gmt"], "product.updated")
    key = f"resplit:{world['backorder']}"
    ledger = SqlSplitLedger(instance.db)

    def split_again() -> Any:
        record = ledger.get(instance.store_id, key)
        return record if record is not None and record.state == "done" else None

    wait_until(split_again, 30, "the partial release")
    wait_until(
        lambda: client.get_order(world["backorder"])["status"] == "processing", 30, "release"
    )
    resplit = ledger.get(instance.store_id, key)
    assert resplit is not None and resplit.backorder_order_id is not None
    second = int(resplit.backorder_order_id)
    assert [
        (li["product_id"], li["quantity"]) for li in client.get_order(second)["line_items"]
    ] == [(world["pen"], 1)]
    assert stock(sandbox, world["pen"]) == -1

    # What the backorders page offers for the -002 line: its split (the re-split) and line id.
    pen_line = next(
        str(line["line_id"])
        for line in resplit.plan["lines"]  # type: ignore[attr-defined]
        if line["backorder"]
    )
    # The re-split's plan names the lines of the order it split (not the original's): the
    # line of the first backorder order that the -002 line came from.
    first_lines = [str(li["id"]) for li in client.get_order(world["backorder"])["line_items"]]
    assert pen_line != world["pen_line"] and pen_line not in first_lines  # removed from it
    cancellation = request(
        instance, {**world, "backorder": second, "pen_line": pen_line}, "pen", "Customer asked"
    )
    assert run_job(instance, cancellation.cancel_key, 1).return_value() == "done"

    cancelled = client.get_order(second)
    assert cancelled["status"] == "cancelled"  # its only line: the order is cancelled
    assert stock(sandbox, world["pen"]) == 0  # and its unit restored
    assert client.get_order(world["backorder"])["status"] == "processing"  # untouched
