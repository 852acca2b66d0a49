"""Products (backorder setting written to the store, our cap/date/message, bulk changes as an
RQ job with progress) and customers (delivery condition and priority) of a store."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.wrappers import Response

from plugin.adapters.redis.bulk_jobs import RedisBulkJobs
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.reports import open_backorder_quantities
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import CustomerPolicy, DeliveryCondition, ProductPolicy, ProductRef
from plugin.core.rules import delivery_name
from plugin.errors import BackordersError
from plugin.ports import CatalogueItem, CustomerEntry, PlatformDriver
from plugin.usecases.bulk_policies import bulk_status, start_bulk_backorders
from web.auth import form_errors, login_required, owned_store, services, store_platform

logger = logging.getLogger(__name__)

bp = Blueprint("products", __name__)

MAX_LISTED = 500


def _driver(store: StoreRecord) -> PlatformDriver:
    """The store's platform: its stock statuses and backorder choices name the filters."""
    driver: PlatformDriver = services().registry.driver(store.platform)
    return driver


@dataclass(frozen=True)
class ProductFilters:
    search: str = ""
    stock_status: str = ""
    backorders: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str], driver: PlatformDriver) -> ProductFilters:
        """Filters from a query string or form; values the platform does not know are dropped."""
        stock = args.get("stock_status", "")
        backorders = args.get("backorders", "")
        return cls(
            search=args.get("q", "").strip()[:100],
            stock_status=stock if stock in driver.stock_statuses else "",
            backorders=backorders if backorders in _backorder_values(driver) else "",
        )

    def as_args(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("q", self.search),
                ("stock_status", self.stock_status),
                ("backorders", self.backorders),
            )
            if v
        }


def _backorder_values(driver: PlatformDriver) -> tuple[str, ...]:
    return tuple(value for value, _label in driver.backorder_choices)


def list_products(store: StoreRecord, filters: ProductFilters) -> list[CatalogueItem]:
    """The store's products matching the filters (search and stock status by the store)."""
    return store_platform(store).list_products(
        search=filters.search,
        stock_status=filters.stock_status,
        backorders=filters.backorders,
        limit=MAX_LISTED,
    )


@bp.get("/stores/<int:store_id>/products")
@login_required
def index(store_id: int) -> tuple[str, int]:
    """Products with stock, backorder setting, open backorders and our policy."""
    store = owned_store(store_id)
    return _products_page(store, ProductFilters.from_args(request.args, _driver(store)))


def _variations(store: StoreRecord, product_id: int) -> list[CatalogueItem]:
    """A variable product's variations."""
    return store_platform(store).list_variations(product_id, limit=MAX_LISTED)


def _products_page(
    store: StoreRecord,
    filters: ProductFilters,
    errors: Mapping[str, Mapping[str, list[str]]] | None = None,
) -> tuple[str, int]:
    error = ""
    try:
        products = list_products(store, filters)
    except (BackordersError, ValueError) as exc:
        logger.info("event=products_fetch_failed store_id=%s error=%s", store.id, exc)
        products, error = [], "The store could not be reached; try again in a moment."
    policies = {
        (p.ref.product_id, p.ref.variant_id): p
        for p in SqlPolicyStore(services().db).product_policies(store.id)
    }
    open_qty = open_backorder_quantities(services().db, store.id)
    rows = []
    for product in products:
        product_id = str(product.id)
        variations: list[CatalogueItem] = []
        if product.variable and not error:
            try:
                variations = _variations(store, product.id)
            except (BackordersError, ValueError) as exc:
                logger.info("event=variations_fetch_failed store_id=%s error=%s", store.id, exc)
        rows.append(
            {
                "product": product,
                "policy": policies.get((product_id, None)) or ProductPolicy(ProductRef(product_id)),
                "open_qty": sum(q for (pid, _v), q in open_qty.items() if pid == product_id),
                "variations": [
                    {
                        "variation": variation,
                        "policy": policies.get((product_id, str(variation.id)))
                        or ProductPolicy(ProductRef(product_id, str(variation.id))),
                        "open_qty": open_qty.get((product_id, str(variation.id)), 0),
                    }
                    for variation in variations
                ],
            }
        )
    job_id = request.args.get("job", "")
    job = bulk_status(RedisBulkJobs(services().redis), job_id) if job_id else None
    if job is not None and job["store_id"] != store.id:
        job = None
    html = render_template(
        "products/index.html",
        store=store,
        rows=rows,
        filters=filters,
        error=error,
        errors=errors or {},
        job=job,
        stock_statuses=_driver(store).stock_statuses,
        backorder_labels=dict(_driver(store).backorder_choices),
    )
    return html, 502 if error else (400 if errors else 200)


class ProductSchema(Schema):
    class Meta:
        unknown = RAISE

    cap = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=1_000_000, error="A whole number, 0 or more."),
        error_messages={"invalid": "A whole number, 0 or more."},
    )
    expected_date = fields.Date(
        load_default=None, allow_none=True, error_messages={"invalid": "A date like 2026-12-24."}
    )
    message = fields.String(load_default="", validate=validate.Length(max=300))
    # Query-string filters carried along so the page comes back as it was.
    q = fields.String(load_default="")
    stock_status = fields.String(load_default="")
    filter_backorders = fields.String(load_default="")


def _product_schema(driver: PlatformDriver) -> Schema:
    """The product form of a store of `driver`'s platform: its backorder setting takes the
    platform's own values."""
    backorders = fields.String(required=True, validate=validate.OneOf(_backorder_values(driver)))
    return ProductSchema.from_dict({"backorders": backorders}, name="ProductForm")()


def _product_input() -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
    for key in ("cap", "expected_date"):
        if key in data and not str(data[key]).strip():
            data[key] = None
    return data


@bp.post("/stores/<int:store_id>/products/<int:product_id>")
@login_required
def update_product(store_id: int, product_id: int) -> Response | tuple[str, int]:
    """Save one product: `backorders` through the store's API, then cap/date/message here."""
    return _save_product(owned_store(store_id), product_id, None)


@bp.post("/stores/<int:store_id>/products/<int:product_id>/variations/<int:variation_id>")
@login_required
def update_variation(store_id: int, product_id: int, variation_id: int) -> Any:
    """Save one variation, like a product (its own `backorders`, cap, date and message)."""
    return _save_product(owned_store(store_id), product_id, variation_id)


def _save_product(
    store: StoreRecord, product_id: int, variation_id: int | None
) -> Response | tuple[str, int]:
    data = _product_input()
    back = ProductFilters.from_args(
        {
            "q": str(data.get("q", "")),
            "stock_status": str(data.get("stock_status", "")),
            "backorders": str(data.get("filter_backorders", "")),
        },
        _driver(store),
    ).as_args()
    key = str(product_id) if variation_id is None else f"{product_id}/{variation_id}"
    try:
        loaded = _product_schema(_driver(store)).load(data)
    except ValidationError as error:
        return _product_errors(store, key, form_errors(error), back)
    ref = ProductRef(str(product_id), None if variation_id is None else str(variation_id))
    try:
        store_platform(store).set_backorders(ref, loaded["backorders"])
    except BackordersError as exc:
        logger.info("event=product_update_failed store_id=%s reason=%s", store.id, exc.reason)
        return _product_errors(
            store, key, {"backorders": [f"The store refused the change ({exc.reason})."]}, back
        )
    SqlPolicyStore(services().db).set_product_policy(
        store.id,
        ProductPolicy(
            ref=ref,
            allow_backorder=None,  # the store's own `backorders` setting decides
            cap=loaded["cap"],
            expected_date=loaded["expected_date"],
            message=loaded["message"].strip(),
        ),
    )
    from jobs.delay_notices import check_soon

    check_soon(
        services().db, services().redis, store.id,
        f"date-{product_id}-{loaded['expected_date'] or 'none'}",
    )  # fmt: skip
    flash(f"{'Variation' if variation_id else 'Product'} {variation_id or product_id} saved.", "ok")
    anchor = f"#product-{product_id}" if variation_id is None else f"#variation-{variation_id}"
    return redirect(url_for("products.index", store_id=store.id, **back) + anchor, 303)


def _product_errors(
    store: StoreRecord, key: str, errors: dict[str, list[str]], back: dict[str, str]
) -> tuple[str, int]:
    """The products page again with this product's errors inline; nothing was saved."""
    html, _status = _products_page(
        store, ProductFilters.from_args(back, _driver(store)), {key: errors}
    )
    return html, 400


# -- bulk ------------------------------------------------------------------------------------


@bp.post("/stores/<int:store_id>/products/bulk")
@login_required
def bulk(store_id: int) -> Response:
    """Set `backorders` on every product of the filtered list, as a background job."""
    store = owned_store(store_id)
    value = request.form.get("value", "")
    filters = ProductFilters.from_args(request.form, _driver(store))
    if value not in _backorder_values(_driver(store)):
        flash("Choose what to set the products' backorders to.", "error")
        return redirect(url_for("products.index", store_id=store.id, **filters.as_args()), 303)
    try:
        ids = [product.id for product in list_products(store, filters)]
    except (BackordersError, ValueError):
        flash("The store could not be reached; nothing was changed.", "error")
        return redirect(url_for("products.index", store_id=store.id, **filters.as_args()), 303)
    try:
        job_id = start_bulk_backorders(
            RedisBulkJobs(services().redis),
            store.id,
            ids,
            value,
            choices=_backorder_values(_driver(store)),
        )
    except redis.RedisError:
        flash("The job queue is unavailable; nothing was changed.", "error")
        return redirect(url_for("products.index", store_id=store.id, **filters.as_args()), 303)
    return redirect(
        url_for("products.index", store_id=store.id, job=job_id, **filters.as_args()), 303
    )


@bp.get("/stores/<int:store_id>/products/bulk/<job_id>")
@login_required
def bulk_progress(store_id: int, job_id: str) -> Response:
    """The bulk job's progress as JSON (polled by the products page)."""
    store = owned_store(store_id)
    status = bulk_status(RedisBulkJobs(services().redis), job_id)
    if status is None or status["store_id"] != store.id:
        abort(404)
    return jsonify(status)


# -- customers -------------------------------------------------------------------------------


DELIVERY_CHOICES = [("", "Store default")] + [(str(c), delivery_name(c)) for c in DeliveryCondition]


class CustomerSchema(Schema):
    class Meta:
        unknown = RAISE

    delivery_condition = fields.String(
        load_default="", validate=validate.OneOf([v for v, _ in DELIVERY_CHOICES])
    )
    priority = fields.Integer(
        required=True,
        validate=validate.Range(min=-1000, max=1000, error="Between -1000 and 1000."),
        error_messages={"invalid": "A whole number between -1000 and 1000."},
    )
    q = fields.String(load_default="")


def list_customers(store: StoreRecord, search: str) -> list[CustomerEntry]:
    """The store's customers whose name or e-mail contains `search`."""
    return store_platform(store).list_customers(search=search, limit=MAX_LISTED)


def _customers_page(
    store: StoreRecord, search: str, errors: Mapping[str, Mapping[str, list[str]]] | None = None
) -> tuple[str, int]:
    error = ""
    try:
        customers = list_customers(store, search)
    except (BackordersError, ValueError) as exc:
        logger.info("event=customers_fetch_failed store_id=%s error=%s", store.id, exc)
        customers, error = [], "The store could not be reached; try again in a moment."
    policies = {p.customer_id: p for p in SqlPolicyStore(services().db).customer_policies(store.id)}
    html = render_template(
        "products/customers.html",
        store=store,
        customers=customers,
        policies=policies,
        search=search,
        error=error,
        errors=errors or {},
        delivery_choices=DELIVERY_CHOICES,
    )
    return html, 502 if error else (400 if errors else 200)


@bp.get("/stores/<int:store_id>/customers")
@login_required
def customers(store_id: int) -> tuple[str, int]:
    """Customers with their delivery condition and priority; searchable."""
    store = owned_store(store_id)
    return _customers_page(store, request.args.get("q", "").strip()[:100])


@bp.post("/stores/<int:store_id>/customers/<int:customer_id>")
@login_required
def update_customer(store_id: int, customer_id: int) -> Response | tuple[str, int]:
    """Save one customer's delivery condition and priority."""
    store = owned_store(store_id)
    data = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        loaded = CustomerSchema().load(data)
    except ValidationError as error:
        search = str(data.get("q", ""))
        return _customers_page(store, search, {str(customer_id): form_errors(error)})
    SqlPolicyStore(services().db).set_customer_policy(
        store.id,
        CustomerPolicy(
            customer_id=str(customer_id),
            delivery_condition=(
                DeliveryCondition(loaded["delivery_condition"])
                if loaded["delivery_condition"]
                else None
            ),
            priority=loaded["priority"],
        ),
    )
    flash(f"Customer {customer_id} saved.", "ok")
    query = {"q": loaded["q"]} if loaded["q"] else {}
    return redirect(
        url_for("products.customers", store_id=store.id, **query) + f"#customer-{customer_id}", 303
    )
