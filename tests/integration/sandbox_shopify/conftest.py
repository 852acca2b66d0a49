"""The Shopify sandbox as a real process (``python -m sandbox.shopify``) on 127.0.0.1, with a
real webhook receiver, for delivery, retry and persistence tests."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from sandbox.shopify import schema
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests import processes
from tests.unit.sandbox.receiver import Receiver

# 8 retries in about 7 s instead of 4 hours.
RETRY_SCALE = "0.0005"
THROTTLE_WAITS = 10


def _throttled_for(body: Any) -> float | None:
    """Seconds until the bucket holds what a THROTTLED query asked, or None if not throttled."""
    errors = body.get("errors") or []
    if not any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
        return None
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    missing = float(cost.get("requestedQueryCost") or 0) - float(
        status.get("currentlyAvailable") or 0
    )
    return max(missing, 1.0) / float(status.get("restoreRate") or 100.0)


class Shop:
    """A running sandbox: its base URL and a GraphQL helper with the custom app's token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str = DEMO_ACCESS_TOKEN
    ) -> Any:
        response = self.session.post(
            f"{self.url}/admin/api/{schema.API_VERSION}/graphql.json",
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": token},
            timeout=10,
        )
        return response

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The answer's data; a `THROTTLED` answer (the app's bucket, shared with the adapter
        under test) is waited out as any client of Shopify must, up to THROTTLE_WAITS times."""
        for _ in range(THROTTLE_WAITS):
            response = self.gql(query, variables)
            assert response.status_code == 200, response.text
            body = response.json()
            wait = _throttled_for(body)
            if wait is None:
                break
            time.sleep(wait)
        assert "errors" not in body, body
        return body["data"]

    def subscribe(self, topic: str, url: str) -> str:
        created = self.data(
            """mutation($topic: WebhookSubscriptionTopic!, $url: URL!) {
              webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url}) {
                webhookSubscription { id } userErrors { message } } }""",
            {"topic": topic, "url": url},
        )["webhookSubscriptionCreate"]
        assert created["userErrors"] == []
        return str(created["webhookSubscription"]["id"])

    def variant(self, sku: str) -> str:
        data = self.data(
            "query($q: String) { productVariants(first: 1, query: $q) { nodes { id } } }",
            {"q": f"sku:{sku}"},
        )
        return str(data["productVariants"]["nodes"][0]["id"])

    def checkout(self, lines: list[tuple[str, int]], payment: str = "card") -> str:
        """Buy through the storefront with a browser-like session; the order number."""
        browser = requests.Session()
        for sku, quantity in lines:
            response = browser.post(
                f"{self.url}/cart/add",
                data={"variant_id": self.variant(sku), "quantity": str(quantity)},
                allow_redirects=False,
                timeout=10,
            )
            assert response.status_code == 302
        response = browser.post(
            f"{self.url}/checkout",
            data={
                "email": "ada@example.com",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "payment": payment,
            },
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text
        return response.headers["Location"].rsplit("/", 1)[1]

    def flush(self, timeout: float = 30) -> None:
        response = requests.post(
            f"{self.url}/sandbox/deliveries/flush",
            params={"timeout": str(timeout)},
            timeout=timeout + 5,
        )
        assert response.status_code == 200, response.text

    def deliveries(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/sandbox/deliveries?limit=1000", timeout=10).json())


def _answers(url: str) -> Any:
    def ready() -> bool:
        try:
            requests.get(url + "/sandbox/faults", timeout=1)
        except (requests.ConnectionError, requests.Timeout):
            return False
        return True

    return ready


@contextmanager
def running_shop(*arguments: str) -> Iterator[Shop]:
    """``python -m sandbox.shopify`` on a free port, stopped afterwards."""
    if not schema.schema_path().is_file():
        pytest.skip(f"Shopify Admin schema not found at {schema.schema_path()}")
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "sandbox.shopify",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--retry-scale",
        RETRY_SCALE,
        *arguments,
    ]
    with processes.running(command, ready=_answers(url), name="shopify sandbox"):
        yield Shop(url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def shop(receiver: Receiver) -> Iterator[Shop]:
    with running_shop("--compliance-url", receiver.url) as running:
        yield running
