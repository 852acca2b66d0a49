"""The sandbox answers every documented example request of the implemented endpoints, and its
responses carry every key of the documented response examples with the same JSON type.

Source: ../shared/reference/woocommerce/*.md (official REST API v3 pages).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from sandbox.woocommerce.store import Store
from tests.functional.sandbox.conftest import Api, make_product
from tests.unit.sandbox.receiver import Receiver

REFERENCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference" / "woocommerce"
DOC_FILES = (
    "orders.md",
    "products.md",
    "product-variations.md",
    "order-notes.md",
    "customers.md",
    "webhooks.md",
)
# Routes the sandbox implements (method, path pattern with ids replaced by {id}).
IMPLEMENTED = {
    ("POST", "orders"),
    ("GET", "orders"),
    ("GET", "orders/{id}"),
    ("PUT", "orders/{id}"),
    ("DELETE", "orders/{id}"),
    ("POST", "orders/batch"),
    ("POST", "orders/{id}/notes"),
    ("GET", "orders/{id}/notes"),
    ("GET", "orders/{id}/notes/{id}"),
    ("DELETE", "orders/{id}/notes/{id}"),
    ("POST", "products"),
    ("GET", "products"),
    ("GET", "products/{id}"),
    ("PUT", "products/{id}"),
    ("DELETE", "products/{id}"),
    ("POST", "products/batch"),
    ("POST", "products/{id}/variations"),
    ("GET", "products/{id}/variations"),
    ("GET", "products/{id}/variations/{id}"),
    ("PUT", "products/{id}/variations/{id}"),
    ("DELETE", "products/{id}/variations/{id}"),
    ("POST", "products/{id}/variations/batch"),
    ("POST", "customers"),
    ("GET", "customers"),
    ("GET", "customers/{id}"),
    ("POST", "webhooks"),
    ("GET", "webhooks"),
    ("GET", "webhooks/{id}"),
    ("PUT", "webhooks/{id}"),
    ("DELETE", "webhooks/{id}"),
    ("POST", "webhooks/batch"),
}
# Fields WooCommerce's schema declares nullable: the sandbox may answer null where the example
# happens to show a value (e.g. an unpaid order has no date_paid).
NULLABLE = {
    "date_paid",
    "date_paid_gmt",
    "date_completed",
    "date_completed_gmt",
    "stock_quantity",
    "low_stock_amount",
    "image",
    "date_on_sale_from",
    "date_on_sale_from_gmt",
    "date_on_sale_to",
    "date_on_sale_to_gmt",
    "parent_name",
    "sku",
}

# Places where a page contradicts WooCommerce itself; the sandbox follows WooCommerce.
DOC_ERRATA = {
    # product-variations.md's own property table says `status` is a string enum; only the
    # create example shows `"status": true`.
    ("product-variations.md", "POST", "$.status"),
}
# class-wc-rest-webhooks-v1-controller.php delete_item answers 501
# woocommerce_rest_trash_not_supported unless force=true; webhooks.md's example omits it.
NEEDS_FORCE = {("webhooks.md", "DELETE", "webhooks/142")}

pytestmark = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"reference pages absent: {REFERENCE} (../shared/reference)"
)


@dataclass
class Example:
    """One documented curl request and the JSON response example that follows it."""

    source: str
    method: str
    path: str
    query: str
    body: Any
    response: Any

    @property
    def route(self) -> tuple[str, str]:
        return self.method, re.sub(r"/\d+", "/{id}", self.path)

    def __str__(self) -> str:
        return f"{self.source}: {self.method} {self.path}"


def _examples() -> list[Example]:
    found: list[Example] = []
    if not REFERENCE.is_dir():
        return found
    for name in DOC_FILES:
        text = (REFERENCE / name).read_text(encoding="utf-8")
        for section in re.split(r"\n## ", text):
            shells = re.findall(r"```shell\n(.*?)```", section, re.S)
            responses = re.findall(r"```json\n(.*?)```", section, re.S)
            for shell in shells:
                match = re.search(r"curl (?:-X (\w+) )?(\S+)", shell)
                if match is None:
                    continue
                method = match.group(1) or "GET"
                url = urlsplit(match.group(2).replace("//wp-json", "/wp-json"))
                if "/wp-json/wc/v3/" not in url.path:
                    continue
                path = url.path.split("/wp-json/wc/v3/", 1)[1].strip("/")
                # webhooks.md's update example says /webhook/142; the route is /webhooks/<id>.
                path = re.sub(r"^webhook/", "webhooks/", path)
                body_match = re.search(r"-d '(.*)'", shell, re.S)
                body = json.loads(body_match.group(1)) if body_match else None
                response = json.loads(responses[0]) if responses else None
                found.append(Example(name, method, path, url.query, body, response))
    return found


EXAMPLES = [e for e in _examples() if e.route in IMPLEMENTED]


class Fixtures:
    """Maps the documentation's ids (727, 794, 22/23, ...) to objects made in the sandbox."""

    def __init__(self, api: Api, store: Store, hook_url: str) -> None:
        self.api = api
        self.store = store
        self.hook_url = hook_url
        self.ids: dict[tuple[str, int], int] = {}

    def get(self, kind: str, doc_id: int, parent: int | None = None) -> int:
        key = (kind, doc_id)
        if key not in self.ids:
            self.ids[key] = self._make(kind, doc_id, parent)
        return self.ids[key]

    def _make(self, kind: str, doc_id: int, parent: int | None) -> int:
        store = self.store
        if kind == "product":
            return make_product(store, name=f"Doc product {doc_id}", stock_quantity=50)["id"]
        if kind == "variable":
            return store.create_product({"name": f"Doc variable {doc_id}", "type": "variable"})[
                "id"
            ]
        if kind == "variation":
            assert parent is not None
            return store.create_variation(
                parent,
                {
                    "regular_price": "12.00",
                    "manage_stock": True,
                    "stock_quantity": 50,
                    "attributes": [{"name": "Size", "option": f"S{doc_id}"}],
                },
            )["id"]
        if kind == "order":
            product = self.get("product", 900000 + doc_id)
            return store.create_order({"line_items": [{"product_id": product, "quantity": 1}]})[
                "id"
            ]
        if kind == "customer":
            return store.create_customer({"email": f"doc{doc_id}@example.com"})["id"]
        if kind == "webhook":
            return store.create_webhook(
                {"name": f"Doc {doc_id}", "topic": "order.updated", "delivery_url": self.hook_url}
            )["id"]
        raise AssertionError(kind)

    def path(self, example: Example) -> str:
        parts = example.path.split("/")
        out: list[str] = []
        for index, part in enumerate(parts):
            if not part.isdigit():
                out.append(part)
                continue
            owner = parts[index - 1]
            doc_id = int(part)
            if owner == "orders":
                out.append(str(self.get("order", doc_id)))
            elif owner == "products":
                kind = "variable" if "variations" in parts else "product"
                out.append(str(self.get(kind, doc_id)))
            elif owner == "variations":
                parent = self.get("variable", int(parts[index - 2]))
                out.append(str(self.get("variation", doc_id, parent)))
            elif owner == "customers":
                out.append(str(self.get("customer", doc_id)))
            elif owner == "webhooks":
                out.append(str(self.get("webhook", doc_id)))
            elif owner == "notes":
                order_id = self.get("order", int(parts[index - 2]))
                note = self.store.add_order_note(order_id, {"note": f"doc note {doc_id}"})
                out.append(str(note["id"]))
            else:
                raise AssertionError(example)
        return "/".join(out)

    def populate(self, path: str) -> None:
        """Make sure a listed collection has one member to compare with the example."""
        parts = path.strip("/").split("/")
        if parts == ["orders"]:
            self.get("order", 1)
        elif parts == ["products"]:
            self.get("product", 1)
        elif parts == ["customers"]:
            self.get("customer", 1)
        elif parts == ["webhooks"]:
            self.get("webhook", 1)
        elif parts[-1] == "notes":
            self.store.add_order_note(int(parts[1]), {"note": "listed note"})
        elif parts[-1] == "variations":
            parent = int(parts[1])
            self.store.create_variation(
                parent, {"regular_price": "1.00", "attributes": [{"name": "Size", "option": "X"}]}
            )

    def body(self, example: Example, body: Any) -> Any:
        if isinstance(body, dict):
            result = {k: self.body(example, v) for k, v in body.items()}
            if "delivery_url" in result:
                # No network beyond loopback: documented URLs point at a local receiver.
                result["delivery_url"] = self.hook_url
            for line in result.get("line_items") or []:
                self._line(line)
            if example.path.endswith("batch"):
                self._batch(example, result)
            return result
        if isinstance(body, list):
            return [self.body(example, v) for v in body]
        return body

    def _line(self, line: dict[str, Any]) -> None:
        if line.get("variation_id"):
            parent = self.get("variable", line["product_id"])
            line["variation_id"] = self.get("variation", line["variation_id"], parent)
            line["product_id"] = parent
        elif line.get("product_id"):
            line["product_id"] = self.get("product", line["product_id"])

    def _batch(self, example: Example, body: dict[str, Any]) -> None:
        resource = example.path.split("/")[0]
        kind = {"orders": "order", "products": "product", "webhooks": "webhook"}[resource]
        parent = None
        if "variations" in example.path:
            kind = "variation"
            parent = self.get("variable", int(example.path.split("/")[1]))
        for entry in body.get("update") or []:
            entry["id"] = self.get(kind, entry["id"], parent)
        body["delete"] = [self.get(kind, i, parent) for i in body.get("delete") or []]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_same_shape(
    documented: Any, actual: Any, where: str = "$", errata: frozenset[str] = frozenset()
) -> None:
    """Every documented key is present with the same JSON type (first element for arrays)."""
    if documented is None or where in errata:
        return
    if actual is None and where.rsplit(".", 1)[-1] in NULLABLE:
        return
    assert _json_type(actual) == _json_type(documented), (
        f"{where}: documented {_json_type(documented)} {documented!r:.60}, got {actual!r:.60}"
    )
    if isinstance(documented, dict):
        for key, value in documented.items():
            if where.endswith("._links") and key not in ("self", "collection"):
                # customer/up links exist only when the order has a customer or parent.
                continue
            assert key in actual, f"{where}: key {key!r} missing (has {sorted(actual)})"
            assert_same_shape(value, actual[key], f"{where}.{key}", errata)
    elif isinstance(documented, list) and documented and actual:
        assert_same_shape(documented[0], actual[0], f"{where}[0]", errata)


def test_reference_examples_were_found() -> None:
    routes = {e.route for e in EXAMPLES}
    # Every implemented route with a documented example is exercised below.
    assert ("POST", "orders") in routes
    assert ("POST", "orders/batch") in routes
    assert ("PUT", "products/{id}/variations/{id}") in routes
    assert ("POST", "webhooks") in routes
    assert len(EXAMPLES) >= 25


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_documented_example_is_accepted_with_documented_shape(
    example: Example, api: Api, store: Store, receiver: Receiver
) -> None:
    fixtures = Fixtures(api, store, receiver.url)
    path = "/" + fixtures.path(example)
    query = example.query
    if (example.source, example.method, example.path) in NEEDS_FORCE:
        refused = api.delete(path)
        assert refused.status_code == 501
        assert refused.get_json()["code"] == "woocommerce_rest_trash_not_supported"
        query = "force=true"
    if example.method == "GET":
        if isinstance(example.response, list):
            fixtures.populate(path)
        response = api.get(path + ("?" + query if query else ""))
    elif example.method == "DELETE":
        response = api.delete(path + ("?" + query if query else ""))
    elif example.method == "PUT":
        response = api.put(path, fixtures.body(example, example.body or {}))
    else:
        response = api.post(path, fixtures.body(example, example.body or {}))
    expected_status = 201 if example.method == "POST" and not path.endswith("batch") else 200
    assert response.status_code == expected_status, (example, response.get_json())
    if example.response is None:
        return
    actual = response.get_json()
    if path.endswith("batch"):
        for action, documented_items in example.response.items():
            assert action in actual
            for item in actual[action]:
                assert "error" not in item, (action, item)
            assert_same_shape(documented_items, actual[action], f"$.{action}")
        return
    if isinstance(example.response, list):
        assert isinstance(actual, list) and actual, f"{example}: empty list"
    errata = frozenset(
        where
        for source, method, where in DOC_ERRATA
        if (source, method) == (example.source, example.method)
    )
    assert_same_shape(example.response, actual, "$", errata)
