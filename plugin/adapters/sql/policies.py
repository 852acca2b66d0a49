"""The merchant's product and customer policies (`product_policies`, `customer_policies`)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import (
    CustomerPolicyRow,
    ProductPolicyRow,
    Store,
)
from plugin.adapters.sql.statements import UnknownRecord, upsert
from plugin.adapters.sql.stores import settings_from_dict
from plugin.core.model import (
    CustomerPolicy,
    DeliveryCondition,
    Order,
    Policies,
    ProductPolicy,
    ProductRef,
)

# Read for every order a job plans (`policies_for`): Core statements built once, so SQLAlchemy
# reuses each one's cache key, run without an ORM Session (its bookkeeping cost more than the
# three reads; README "Benchmarks", `worker_cpu`).
_STORES = cast(Table, Store.__table__)
_PRODUCT_ROWS = cast(Table, ProductPolicyRow.__table__)
_CUSTOMER_ROWS = cast(Table, CustomerPolicyRow.__table__)
_STORE_SETTINGS = select(_STORES.c.settings).where(_STORES.c.id == bindparam("store"))
_PRODUCT_POLICIES = (
    select(_PRODUCT_ROWS)
    .where(
        _PRODUCT_ROWS.c.store_id == bindparam("store"),
        _PRODUCT_ROWS.c.product_id.in_(bindparam("products", expanding=True)),
    )
    .order_by(_PRODUCT_ROWS.c.product_id, _PRODUCT_ROWS.c.variant_id)
)
_CUSTOMER_POLICY = select(_CUSTOMER_ROWS).where(
    _CUSTOMER_ROWS.c.store_id == bindparam("store"),
    _CUSTOMER_ROWS.c.customer_id == bindparam("customer"),
)


class SqlPolicyStore:
    """`plugin.ports.PolicyStore`, plus the writes the settings pages need."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def policies_for(self, store_id: int, order: Order) -> Policies:
        """Store settings, the policies of the order's products and its customer's policy."""
        refs = {line.ref for line in order.lines}
        product_ids = sorted({ref.product_id for ref in refs})
        with self.db.transaction() as connection:
            stored = connection.execute(_STORE_SETTINGS, {"store": store_id}).one_or_none()
            if stored is None:
                raise UnknownRecord(f"store {store_id} does not exist")
            settings = settings_from_dict(stored.settings)
            rows = connection.execute(
                _PRODUCT_POLICIES, {"store": store_id, "products": product_ids}
            ).all()
            # A product-level row (variant '') applies to all its variants; a variant row only
            # to that variant. Keep rows for refs on this order and their products.
            products = tuple(
                _product_policy(row)
                for row in rows
                if row.variant_id == "" or ProductRef(row.product_id, row.variant_id) in refs
            )
            customer = None
            if order.customer.id is not None:
                row_c = connection.execute(
                    _CUSTOMER_POLICY, {"store": store_id, "customer": str(order.customer.id)}
                ).one_or_none()
                if row_c is not None:
                    customer = _customer_policy(row_c)
        return Policies(settings=settings, products=products, customer=customer)

    def product_policies(self, store_id: int) -> list[ProductPolicy]:
        """Every product policy of a store."""
        with self.db.session() as session:
            rows = session.scalars(
                select(ProductPolicyRow)
                .where(ProductPolicyRow.store_id == store_id)
                .order_by(ProductPolicyRow.product_id, ProductPolicyRow.variant_id)
            )
            return [_product_policy(row) for row in rows]

    def customer_policies(self, store_id: int) -> list[CustomerPolicy]:
        """Every customer policy of a store."""
        with self.db.session() as session:
            rows = session.scalars(
                select(CustomerPolicyRow)
                .where(CustomerPolicyRow.store_id == store_id)
                .order_by(CustomerPolicyRow.customer_id)
            )
            return [_customer_policy(row) for row in rows]

    def set_product_policy(self, store_id: int, policy: ProductPolicy) -> None:
        """Insert or replace the policy of one product or variant."""
        values = {
            "store_id": store_id,
            "product_id": policy.ref.product_id,
            "variant_id": policy.ref.variant_id or "",
            "allow_backorder": policy.allow_backorder,
            "cap": policy.cap,
            "expected_date": policy.expected_date,
            "message": policy.message,
        }
        with self.db.session(write=True) as session:
            upsert(
                session,
                ProductPolicyRow.__table__,
                values,
                ("store_id", "product_id", "variant_id"),
            )

    def set_customer_policy(self, store_id: int, policy: CustomerPolicy) -> None:
        """Insert or replace one customer's policy."""
        values = {
            "store_id": store_id,
            "customer_id": policy.customer_id,
            "delivery_condition": (
                str(policy.delivery_condition) if policy.delivery_condition else None
            ),
            "priority": policy.priority,
        }
        with self.db.session(write=True) as session:
            upsert(session, CustomerPolicyRow.__table__, values, ("store_id", "customer_id"))


def _product_policy(row: ProductPolicyRow | Row[Any]) -> ProductPolicy:
    return ProductPolicy(
        ref=ProductRef(row.product_id, row.variant_id or None),
        allow_backorder=row.allow_backorder,
        cap=row.cap,
        expected_date=row.expected_date,
        message=row.message,
    )


def _customer_policy(row: CustomerPolicyRow | Row[Any]) -> CustomerPolicy:
    return CustomerPolicy(
        customer_id=row.customer_id,
        delivery_condition=(
            DeliveryCondition(row.delivery_condition) if row.delivery_condition else None
        ),
        priority=row.priority,
    )
