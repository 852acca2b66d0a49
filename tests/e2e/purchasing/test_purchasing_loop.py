"""The purchasing loop with real processes (run.Stack: Redis, web, two workers, the sandbox store)
and a real SMTP server (aiosmtpd) capturing what the worker sends:

backordered orders → the proposal shows their demand → a purchase order is created and e-mailed
to the supplier (text and CSV) → a partial receipt raises the store's stock by exactly the units
received, once, although every worker is killed while its stock write is on the wire → the
backorders are released by priority → the merchant's alert names them; the rest still waits and
shows as on order."""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from aiosmtpd.controller import Controller

import run
from plugin.adapters.queue.jobs import receipt_job_id
from plugin.adapters.sql.purchasing import SqlPurchasing, SqlReceiptLedger
from plugin.core.model import CustomerPolicy
from plugin.core.purchasing import PurchaseOrderStatus, Reservation
from plugin.ports import ReceiptState
from plugin.usecases.accounts import DEMO_EMAIL, DEMO_PASSWORD
from tests.e2e.helpers import Api, PluginDb, create_order, wait_for
from tests.processes import free_port

pytestmark = [pytest.mark.e2e]


@dataclass
class Capture:
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@dataclass
class Loop:
    stack: run.Stack
    smtp: Capture
    db: PluginDb


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    """A stack of its own, its mail going to a real SMTP server on loopback."""
    capture = Capture()
    smtp_port = free_port()
    controller = Controller(capture, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    home: Path = tmp_path_factory.mktemp("purchasing-home")
    supervisor = run.Supervisor(log_dir=home / "logs")
    stack = run.Stack(
        home=home,
        port=free_port(),
        sandbox_port=free_port(),
        workers=2,
        supervisor=supervisor,
        extra_env={
            "LOG_LEVEL": "INFO",
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "BACKORDERS_HEARTBEAT": "1",
            "BACKORDERS_REAP_INTERVAL": "2",
            "BACKORDERS_REAP_STALE": "4",
        },
    )
    try:
        stack.start()
        db = PluginDb(stack.config())
        try:
            yield Loop(stack, capture, db)
        finally:
            db.db.dispose()
    finally:
        left = supervisor.stop_all()
        controller.stop()
        if left:
            for child in supervisor.children:
                print(f"----- {child.name} -----\n{child.log_tail(80)}")
        assert [c.name for c in left] == []


class Merchant:
    """The demo merchant in the web app, over HTTP, as a browser would post its forms."""

    def __init__(self, web_url: str) -> None:
        self.web_url = web_url
        self.session = requests.Session()

    def token(self, path: str) -> str:
        html = self.get(path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        assert match, path
        return match.group(1)

    def get(self, path: str) -> str:
        response = self.session.get(f"{self.web_url}{path}", timeout=60)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.text

    def post(self, path: str, data: dict[str, Any], page: str) -> str:
        """Post a form of `page`; returns the page it leads to (with its flash messages)."""
        body = {"csrf_token": self.token(page), **data}
        response = self.session.post(f"{self.web_url}{path}", data=body, timeout=60)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.text

    def sign_in(self) -> None:
        self.post("/signin", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, "/signin")


def _kill_workers(stack: run.Stack) -> list[Any]:
    """SIGKILL every worker. RQ's work horse runs a job in a process group of its own
    (rq/worker/worker_classes.py `fork_work_horse`: os.setpgrp), so it is killed by its pid, as
    a machine crash would."""
    killed = [c for c in stack.worker_children() if c.is_running()]
    for child in killed:
        horses = psutil.Process(child.pid).children(recursive=True)
        stack.supervisor.kill(child)
        for horse in horses:
            with contextlib.suppress(psutil.NoSuchProcess):
                horse.kill()
    return killed


def _split(api: Api, db: PluginDb, store_id: int, order_id: int) -> dict[str, Any]:
    """The backorder order once the split is done: its child on hold in the store, and the
    plugin's record finished (the proposal counts finished splits only; the child exists in the
    store a moment before the split's note is written and its record marked done)."""

    def done() -> dict[str, Any] | None:
        children = api.children(order_id)
        if len(children) != 1 or children[0]["status"] != "on-hold":
            return None
        records = db.ledger.for_order(store_id, str(order_id))
        return children[0] if any(r.state == "done" for r in records) else None

    return wait_for(done, what=f"split of order {order_id}")


def test_from_backorders_to_a_received_purchase_order_and_released_orders(loop: Loop) -> None:
    stack, db = loop.stack, loop.db
    assert stack.demo is not None and stack.store_id is not None
    store_id = stack.store_id
    api = Api(stack.demo.base_url, stack.demo.consumer_key, stack.demo.consumer_secret)
    tag = uuid.uuid4().hex[:6]
    widget = api.create_product(f"Widget {tag}", price="10.00", stock=0, backorders="yes")
    # Something in stock too: an order with nothing in stock waits whole instead of splitting.
    mug = api.create_product(f"Mug {tag}", price="5.00", stock=50, backorders="no")
    backorders: dict[str, str] = {}
    for letter, priority in (("a", 0), ("b", 10), ("c", 5)):
        customer = api.post("/customers", {"email": f"{letter}-{tag}@example.com"})
        db.policies.set_customer_policy(
            store_id, CustomerPolicy(str(customer["id"]), priority=priority)
        )
        order = create_order(api, [(widget["id"], 2), (mug["id"], 1)], customer_id=customer["id"])
        backorders[letter] = str(_split(api, db, store_id, int(order["id"]))["id"])
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == -6

    merchant = Merchant(stack.web_url)
    merchant.sign_in()
    base = f"/stores/{store_id}/purchasing"
    suppliers = f"{base}/suppliers"
    html = merchant.post(
        suppliers,
        {"name": f"Acme {tag}", "email": f"po-{tag}@acme.test", "currency": "USD",
         "lead_time_days": "10", "minimum_order_value": "0"},
        suppliers,
    )  # fmt: skip
    assert f"Supplier Acme {tag} saved." in html
    purchasing = SqlPurchasing(db.db)
    [supplier] = [s for s in purchasing.suppliers(store_id) if s.name == f"Acme {tag}"]
    merchant.post(
        f"{base}/links",
        {"supplier_id": supplier.id, "product_id": str(widget["id"]), "unit_cost": "4.00",
         "supplier_sku": f"W-{tag}", "pack_size": "1", "preferred": "yes"},
        suppliers,
    )  # fmt: skip

    # The proposal: 6 units wait on 3 orders, none free, none on order: order 6.
    proposal = merchant.get(f"{base}/proposal")
    row = re.search(rf'data-product="{widget["id"]}" data-quantity="(\d+)"', proposal)
    assert row is not None and row.group(1) == "6"
    assert "6 units wait on 3 backorder orders, 0 free in stock, 0 on order" in proposal
    html = merchant.post(f"{base}/proposal", {"product": str(widget["id"])}, f"{base}/proposal")
    [stored] = [
        s for s in purchasing.purchase_orders(store_id) if s.order.supplier_id == supplier.id
    ]
    number = stored.order.number
    assert f"Draft purchase orders created: {number}." in html
    # Reserved for the three orders, in allocation order: priority 10, 5, then 0.
    assert stored.order.lines[0].reservations == (
        Reservation(backorders["b"], 2), Reservation(backorders["c"], 2),
        Reservation(backorders["a"], 2),
    )  # fmt: skip

    # Sent: the worker's mail job delivers it to the SMTP server, text and CSV.
    page = f"{base}/orders/{number}"
    html = merchant.post(f"{page}/send", {"expected_date": "2027-01-14"}, page)
    assert f"Purchase order {number} sent, expected 2027-01-14." in html
    [mail] = wait_for(lambda: loop.smtp.to(f"po-{tag}@acme.test"), timeout=30, what="PO e-mail")
    assert mail["Subject"] == f"Purchase order {number} from Sandbox demo store"
    parts = {part.get_filename(): part for part in mail.iter_parts()}  # type: ignore[attr-defined]
    assert f"- 6 x W-{tag} at 4.00 USD" in parts[None].get_content()
    assert parts[f"{number}.csv"].get_content().splitlines()[1] == (
        f"{number},W-{tag},{widget['id']},,6,4.00,USD,24.00"
    )

    # A partial receipt of 4, with every worker killed while its stock write is on the wire.
    run.set_sandbox_faults(stack.sandbox_url, {"latency_ms": 3000})
    merchant.post(f"{page}/receive", {f"received-{widget['id']}": "4"}, page)
    ledger = SqlReceiptLedger(db.db)
    [receipt] = ledger.receipts(store_id, number)

    def write_on_the_wire() -> bool:
        record = ledger.get(store_id, receipt.receipt_key)
        entry = (record.stock if record else {}).get(str(widget["id"])) or {}
        return bool(entry.get("attempted")) and not entry.get("written")

    wait_for(write_on_the_wire, timeout=60, what="the stock write attempted")
    killed = _kill_workers(stack)
    run.set_sandbox_faults(stack.sandbox_url, {"latency_ms": 0})
    for _ in killed:
        stack.start_worker()

    def done() -> Any:
        record = ledger.get(store_id, receipt.receipt_key)
        return record if record and record.state == ReceiptState.DONE else None

    finished = wait_for(done, timeout=90, what="the receipt carried out after the crash")
    logs = "".join(path.read_text() for path in (stack.home / "logs").glob("worker-*.log"))
    # The killed job was found by the reaper and run again from its recorded state; no run
    # but the killed one sent a stock write (the retry read the target and wrote nothing).
    assert f"requeued abandoned job={receipt_job_id(store_id, receipt.receipt_key)}" in logs
    assert logs.count(f"method=PUT path=/products/{widget['id']} ") == 0
    entry = finished.stock[str(widget["id"])]
    assert (entry["base"], entry["target"], entry["written"]) == (-6, -2, True)
    # Exactly the 4 received: b and c (priority 10 and 5) took them; a still waits.
    wait_for(
        lambda: api.order(int(backorders["c"]))["status"] == "processing",
        timeout=30, what="release of c",
    )  # fmt: skip
    assert api.order(int(backorders["b"]))["status"] == "processing"
    assert api.order(int(backorders["a"]))["status"] == "on-hold"
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == -2
    assert sorted(finished.released) == sorted([backorders["b"], backorders["c"]])
    alerts = [a.message for a in db.stores.list_alerts(store_id) if a.kind == "shortfall_received"]
    assert len(alerts) == 1
    assert alerts[0].startswith(
        f"Shortfall received on purchase order {number}: 4 x {widget['name']} (product "
        f"{widget['id']}) (stock -6 → -2). Released: "
    )
    assert f"order {backorders['b']}" in alerts[0] and f"order {backorders['c']}" in alerts[0]
    assert alerts[0].endswith(f"Still waiting: order {backorders['a']}.")

    # The rest is still on order for a: the proposal orders nothing more for it.
    after = purchasing.get(store_id, number)
    assert after is not None and after.order.status is PurchaseOrderStatus.PARTLY_RECEIVED
    assert after.order.lines[0].reservations == (Reservation(backorders["a"], 2),)
    proposal = merchant.get(f"{base}/proposal")
    assert f'data-product="{widget["id"]}"' not in proposal

    # Two more units arrive while no worker runs: the backorders page shows a's line green
    # (free stock covers it, a release is possible) until allocation releases it.
    stopped = _kill_workers(stack)
    api.put(f"/products/{widget['id']}", {"stock_quantity": 0})
    backorders_page = merchant.get(f"/stores/{store_id}/backorders?stock=1")
    green = re.findall(
        r'<tr class="backorder-line covered"[^>]*data-backorder="(\d+)"', backorders_page
    )
    assert green == [backorders["a"]]
    for _ in stopped:
        stack.start_worker()
    wait_for(
        lambda: api.order(int(backorders["a"]))["status"] == "processing",
        timeout=60, what="release of a",
    )  # fmt: skip
