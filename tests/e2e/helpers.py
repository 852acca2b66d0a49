"""Helpers for the e2e tests: waiting with deadlines, the sandbox's REST API and storefront,
and the plugin's own storage."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urljoin

import requests

T = TypeVar("T")

SPLIT_DEADLINE = 10.0  # seconds an order may take to be split


def wait_for(
    predicate: Callable[[], T | None],
    *,
    timeout: float = SPLIT_DEADLINE,
    what: str = "condition",
    describe: Callable[[], object] | None = None,
) -> T:
    """Poll `predicate` until it returns something truthy; fail at the deadline (with what
    `describe()` says of the state then, when given)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            detail = f"; {describe()!r}" if describe is not None else ""
            raise AssertionError(
                f"{what}: not reached within {timeout:g} s (last: {last!r}{detail})"
            )
        time.sleep(0.05)


def money(value: object) -> Decimal:
    return Decimal(str(value))


class Api:
    """The sandbox store's REST API v3 with the demo keys (Basic auth, loopback only)."""

    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (consumer_key, consumer_secret)

    def _url(self, path: str) -> str:
        return f"{self.base_url}/wp-json/wc/v3{path}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self._url(path), params=params, timeout=10)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.session.post(self._url(path), json=body, timeout=10)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def put(self, path: str, body: dict[str, Any]) -> Any:
        response = self.session.put(self._url(path), json=body, timeout=10)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    def order(self, order_id: int) -> dict[str, Any]:
        return dict(self.get(f"/orders/{order_id}"))

    def children(self, order_id: int) -> list[dict[str, Any]]:
        """Orders whose parent is `order_id` (the backorder orders split from it)."""
        return list(self.get("/orders", parent=order_id, status="any", per_page=100))

    def notes(self, order_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"/orders/{order_id}/notes"))

    def create_product(
        self,
        name: str,
        *,
        price: str,
        stock: int,
        backorders: str = "notify",
    ) -> dict[str, Any]:
        """A simple product with managed stock; `backorders` is 'no', 'notify' or 'yes'."""
        return dict(
            self.post(
                "/products",
                {
                    "name": name,
                    "type": "simple",
                    "status": "publish",
                    "regular_price": price,
                    "manage_stock": True,
                    "stock_quantity": stock,
                    "backorders": backorders,
                },
            )
        )

    def webhooks(self) -> list[dict[str, Any]]:
        return list(self.get("/webhooks", per_page=100))

    @staticmethod
    def flush_deliveries(sandbox_url: str, timeout: float = 10) -> bool:
        """True once the sandbox has sent every queued webhook delivery."""
        response = requests.post(
            f"{sandbox_url}/sandbox/deliveries/flush", params={"timeout": timeout}, timeout=30
        )
        return response.status_code == 200

    @staticmethod
    def deliveries(sandbox_url: str, limit: int = 1000) -> list[dict[str, Any]]:
        response = requests.get(
            f"{sandbox_url}/sandbox/deliveries",
            params={"limit": limit, "format": "json"},
            timeout=10,
        )
        response.raise_for_status()
        return list(response.json())


def meta(order: dict[str, Any], key: str) -> Any:
    """The value of `key` in an order's meta_data, or None."""
    for item in order.get("meta_data", []):
        if item.get("key") == key:
            return item.get("value")
    return None


class PluginDb:
    """The plugin's repositories on the stack's database (read by the test process)."""

    def __init__(self, config: Any) -> None:
        from plugin.adapters.sql.audit import SqlAuditLog
        from plugin.adapters.sql.db import Database
        from plugin.adapters.sql.inbox import InboxRepository
        from plugin.adapters.sql.policies import SqlPolicyStore
        from plugin.adapters.sql.splits import SqlSplitLedger
        from plugin.adapters.sql.stores import StoreRepository
        from plugin.adapters.vault import Vault

        self.config = config
        self.db = Database(config.database_url)
        self.stores = StoreRepository(self.db, Vault(config.secret_key))
        self.inbox = InboxRepository(self.db)
        self.ledger = SqlSplitLedger(self.db)
        self.policies = SqlPolicyStore(self.db)
        self.audit = SqlAuditLog(self.db)

    def events_for(self, store_id: int, order_id: int) -> list[Any]:
        """Inbox events about one order (newest first)."""
        return [
            e
            for e in self.inbox.list(store_id, limit=1000)
            if e.resource_id == str(order_id) and e.topic.startswith("order.")
        ]

    def unfinished_events(self) -> dict[str, list[int]]:
        """Inbox events waiting for the workers' relay (pending: it runs every 50 ms) or for
        their job to finish (enqueued)."""
        return {
            "pending": self.inbox.pending_ids(limit=20),
            "enqueued": [e.id for e in self.inbox.list(status="enqueued", limit=20)],
        }

    def events_finished(self) -> bool:
        """Every inbox event done, ignored or failed. Unlike an empty queue, this has no gap
        while the relay is about to queue an event or a worker hands a job to its horse."""
        return not any(self.unfinished_events().values())

    def settled(self, store_id: int, order_id: int) -> list[Any]:
        """The order's events once every one of them is finished (done/ignored/failed)."""
        events = self.events_for(store_id, order_id)
        if events and all(e.status in ("done", "ignored", "failed") for e in events):
            return events
        return []


def create_order(
    api: Api,
    lines: list[tuple[int, int]],
    *,
    status: str = "processing",
    set_paid: bool = True,
    payment_method: str = "bacs",
    customer_id: int = 0,
) -> dict[str, Any]:
    """An order created through REST (as an admin or another app would), firing order.created."""
    return dict(
        api.post(
            "/orders",
            {
                "status": status,
                "set_paid": set_paid,
                "payment_method": payment_method,
                "customer_id": customer_id,
                "billing": dict(BILLING),
                "shipping": {k: v for k, v in BILLING.items() if k not in ("email", "phone")},
                "line_items": [{"product_id": pid, "quantity": qty} for pid, qty in lines],
            },
        )
    )


BILLING = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address_1": "12 Analytical Row",
    "city": "London",
    "postcode": "EC1A 1BB",
    "country": "GB",
    "email": "ada@example.com",
    "phone": "020 7946 0000",
}


class Jobs:
    """The RQ side: enqueue a job function by dotted path, count failures, wait for idle."""

    def __init__(self, redis_url: str) -> None:
        import redis
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.connection = redis.Redis.from_url(redis_url)
        self.queue = Queue("backorders", connection=self.connection, serializer=JSONSerializer)

    def enqueue(self, func: str, *args: Any) -> str:
        return str(self.queue.enqueue(func, *args).id)

    def failed_ids(self) -> list[str]:
        from rq.registry import FailedJobRegistry

        return list(FailedJobRegistry(queue=self.queue).get_job_ids())

    def idle(self) -> bool:
        """Nothing queued, running or waiting for a retry, apart from the periodic jobs
        (worker.py keeps one run of each scheduled at all times)."""
        return not any(self.busy().values())

    def busy(self) -> dict[str, list[str]]:
        """The jobs queued, running and waiting for a retry, apart from the periodic ones."""
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry

        def ours(job_ids: list[str]) -> list[str]:
            return [j for j in job_ids if not j.startswith("periodic-")]

        return {
            "queued": ours(list(self.queue.get_job_ids())),
            "started": ours(StartedJobRegistry(queue=self.queue).get_job_ids()),
            "scheduled": ours(ScheduledJobRegistry(queue=self.queue).get_job_ids()),
        }

    def close(self) -> None:
        self.connection.close()


class _Forms(HTMLParser):
    """Collects forms (by id) with their action, method and fields, and data-* of elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, Any]] = {}
        self.elements: dict[str, dict[str, str]] = {}
        self._current: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if "id" in attributes:
            self.elements[attributes["id"]] = attributes
        if tag == "form":
            self._current = {
                "action": attributes.get("action", ""),
                "method": attributes.get("method", "get").lower(),
                "fields": {},
                "radios": {},
                "disabled": [],
            }
            self.forms[attributes.get("id", f"form-{len(self.forms)}")] = self._current
            return
        if self._current is None or tag != "input" or "name" not in attributes:
            return
        name = attributes["name"]
        if "disabled" in attributes:
            self._current["disabled"].append(name)
        if attributes.get("type") == "radio":
            self._current["radios"].setdefault(name, []).append(attributes.get("value", ""))
            if "checked" in attributes:
                self._current["fields"][name] = attributes.get("value", "")
        else:
            self._current["fields"][name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def parse_page(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


class Shop:
    """A shopper on the sandbox storefront: real pages, real forms, one cookie session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def __enter__(self) -> Shop:
        return self

    def __exit__(self, *_: object) -> None:
        self.session.close()

    def _get(self, path: str) -> _Forms:
        response = self.session.get(self.base_url + path, timeout=10)
        assert response.status_code == 200, (path, response.status_code)
        return parse_page(response.text)

    def _submit(self, page: _Forms, form_id: str, values: dict[str, str]) -> requests.Response:
        form = page.forms[form_id]
        fields = dict(form["fields"])
        for name, value in values.items():
            assert name in fields or name in form["radios"], (form_id, name, sorted(fields))
            if name in form["radios"]:
                assert value in form["radios"][name], (name, value, form["radios"][name])
            fields[name] = value
        assert not [n for n in form["disabled"] if n in values], (form_id, form["disabled"])
        return self.session.post(
            urljoin(self.base_url + "/", form["action"]),
            data=fields,
            timeout=10,
            allow_redirects=True,
        )

    def add_to_cart(self, product_id: int, quantity: int) -> None:
        """Open the product page and submit its add-to-cart form."""
        page = self._get(f"/product/{product_id}/")
        response = self._submit(page, "add-to-cart-form", {"quantity": str(quantity)})
        assert response.status_code == 200, response.status_code
        assert "flash error" not in response.text, response.text[:2000]

    def checkout(self, payment_method: str) -> tuple[int, str]:
        """Fill the checkout form and place the order; returns (order id, order number)."""
        page = self._get("/checkout")
        values = {k: v for k, v in BILLING.items() if k != "phone"}
        values["payment_method"] = payment_method
        response = self._submit(page, "checkout-form", values)
        assert response.status_code == 200, (response.status_code, response.text[:2000])
        received = parse_page(response.text).elements.get("order-received")
        assert received is not None, response.text[:2000]
        return int(received["data-order-id"]), received["data-order-number"]

    def place_order(self, lines: list[tuple[int, int]], payment_method: str) -> tuple[int, str]:
        for product_id, quantity in lines:
            self.add_to_cart(product_id, quantity)
        return self.checkout(payment_method)


def settle(
    sandbox_url: str,
    plugin_db: PluginDb,
    jobs: Jobs,
    store_id: int,
    order_id: int,
    *,
    timeout: float = SPLIT_DEADLINE,
) -> list[Any]:
    """Wait until the store sent every delivery, every inbox event is finished, the queue is
    idle and every event about the order is finished; returns those events."""
    wait_for(lambda: Api.flush_deliveries(sandbox_url), timeout=timeout, what="deliveries sent")
    wait_for(
        plugin_db.events_finished,
        timeout=timeout,
        what="inbox events finished",
        describe=plugin_db.unfinished_events,
    )
    wait_for(jobs.idle, timeout=timeout, what="queue idle", describe=jobs.busy)
    return wait_for(
        lambda: plugin_db.settled(store_id, order_id), timeout=timeout, what="events processed"
    )


def towel_and_pan(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh in-stock product and a fresh out-of-stock one that allows backorders."""
    tag = uuid.uuid4().hex[:6]
    return (
        api.create_product(f"Towel {tag}", price="7.25", stock=100),
        api.create_product(f"Pan {tag}", price="54.00", stock=0, backorders="notify"),
    )
