"""A customer cancels lines of an order held whole ("wait and ship everything together": put On
Hold instead of split, `hold:<id>`) on their page: the page's confirmed form (Flask's test
client on the same storage and Redis) records the request and queues its job, a real worker
process carries it out through the ordinary cancellation path against the sandbox store, once;
the store's order is checked exactly after each step (issue 15)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from app import Backorders, create_app
from jobs.self_service import page_links
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.self_service import SqlCustomerRequests
from plugin.ports import CustomerRequestRecord
from tests.functional.web.conftest import csrf_token, make_config
from tests.integration.cancelling.test_cancel_line import notes, stock
from tests.integration.self_service.test_delay_held_whole import held_world
from tests.integration.worker.conftest import Instance, Sandbox, wait_until

SHOPPER = "whole@example.com"


@contextlib.contextmanager
def web_app(instance: Instance) -> Iterator[Flask]:
    """The web app on the worker's database, Redis and secret key."""
    config = make_config(
        instance.home / "web",
        instance.env["REDIS_URL"],
        database_url=instance.env["DATABASE_URL"],
        secret_key=instance.env["SECRET_KEY"],
    )
    application = create_app(config, TESTING=True)
    try:
        yield application
    finally:
        application.extensions["backorders"].db.dispose()


def _cancel(customer: FlaskClient, path: str, ref: str, units: int) -> None:
    """Choose `units` of line `ref`, then confirm, as the customer does."""
    token = csrf_token(customer.get(path).get_data(as_text=True))
    form = {"line": ref, f"units:{ref}": str(units)}
    confirm = customer.post(f"{path}/cancel", data={"csrf_token": token, **form})
    assert confirm.status_code == 200, confirm.get_data(as_text=True)
    page = confirm.get_data(as_text=True)
    done = customer.post(
        f"{path}/cancel", data={"csrf_token": csrf_token(page), **form, "confirm": "yes"}
    )
    assert done.status_code == 303


def _all_done(instance: Instance, order_id: str, count: int) -> list[CustomerRequestRecord]:
    requests = SqlCustomerRequests(instance.db)

    def finished() -> bool:
        found = requests.for_order(instance.store_id, order_id)
        return len(found) == count and all(r.state == "done" or r.error for r in found)

    wait_until(finished, 60, "the customer's requests")
    return list(requests.for_order(instance.store_id, order_id))


def test_a_customer_cancels_units_then_lines_of_an_order_held_whole_once(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-customer-held")
    world = held_world(instance, sandbox)  # paid: 2 widgets at 10.00 wait, 1 gadget at 4.00
    order_id = str(world["order"])
    client = sandbox.client()
    before = client.get_order(world["order"])
    assert before["total"] == "24.00"
    line_of = {item["product_id"]: str(item["id"]) for item in before["line_items"]}
    widget_ref = f"{order_id}:{line_of[world['widget']]}"
    gadget_ref = f"{order_id}:{line_of[world['gadget']]}"
    with web_app(instance) as web:
        state: Backorders = web.extensions["backorders"]
        url = page_links(state.db, state.config.secret_key, state.config.public_url)(
            instance.store_id, order_id, str(before["number"]), SHOPPER
        )
        path = urlsplit(url).path
        customer = web.test_client()

        # 1 of the 2 widgets: the line keeps 1 unit; the unit's stock comes back.
        _cancel(customer, path, widget_ref, 1)
        [first] = _all_done(instance, order_id, 1)
        assert first.error is None, instance.log("w-customer-held")
        [outcome] = first.outcome["lines"]  # type: ignore[index]
        assert (outcome["state"], outcome["error"]) == ("done", None)
        after = client.get_order(world["order"])
        assert after["status"] == "on-hold"
        assert {i["product_id"]: (i["quantity"], i["total"]) for i in after["line_items"]} == {
            world["widget"]: (1, "10.00"), world["gadget"]: (1, "4.00"),
        }  # fmt: skip
        assert after["total"] == "14.00"
        assert stock(sandbox, world["widget"]) == -1 and stock(sandbox, world["gadget"]) == 49
        [note] = notes(sandbox, world["order"], "Backorders cancelled")
        assert note.startswith("Backorders cancelled 'Widget' × 1 (10.00 USD) of this order")
        assert f"at the request of the customer ({SHOPPER})" in note
        assert f"with order #{order_id}: refund 10.00 USD from that order" in note
        html = customer.get(path).get_data(as_text=True)
        assert f'name="units:{widget_ref}"' not in html  # 1 unit left: no number to choose
        assert f'name="line" value="{widget_ref}"' in html

        # The whole gadget line: removed from the order, its stock given back.
        _cancel(customer, path, gadget_ref, 1)
        requests = _all_done(instance, order_id, 2)
        assert all(r.error is None for r in requests)
        after = client.get_order(world["order"])
        assert after["status"] == "on-hold"
        assert [(i["product_id"], i["quantity"], i["total"]) for i in after["line_items"]] == [
            (world["widget"], 1, "10.00")
        ]
        assert after["total"] == "10.00"
        assert stock(sandbox, world["widget"]) == -1 and stock(sandbox, world["gadget"]) == 50

        # The last line: it cancels the order, whose stock is restored.
        token = csrf_token(customer.get(path).get_data(as_text=True))
        _cancel(customer, path, widget_ref, 1)
        requests = _all_done(instance, order_id, 3)
        assert all(r.error is None for r in requests)
        after = client.get_order(world["order"])
        assert after["status"] == "cancelled"
        assert stock(sandbox, world["widget"]) == 0 and stock(sandbox, world["gadget"]) == 50
        assert len(notes(sandbox, world["order"], "Backorders cancelled")) == 3
        ledger = SqlCancellationLedger(instance.db)
        cancellations = ledger.for_order(instance.store_id, order_id)
        assert len(cancellations) == 3
        assert {c.requested_by for c in cancellations} == {f"the customer ({SHOPPER})"}
        assert all(c.is_held_whole and c.state == "done" for c in cancellations)
        html = customer.get(path).get_data(as_text=True)
        assert 'name="line"' not in html and "Cancelled" in html

        # Confirming the last cancellation again: refused, nothing more is asked, written or noted.
        again = customer.post(
            f"{path}/cancel", data={"csrf_token": token, "line": widget_ref, "confirm": "yes"}
        )
        assert again.status_code == 400
        assert len(SqlCustomerRequests(instance.db).for_order(instance.store_id, order_id)) == 3
        assert len(notes(sandbox, world["order"], "Backorders cancelled")) == 3
        assert client.get_order(world["order"])["status"] == "cancelled"
