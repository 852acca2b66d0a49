"""Marshmallow 4 schemas for the WooCommerce REST v3 order and product JSON.

Webhook payloads are the same JSON as `GET /wp-json/wc/v3/<resource>s/<id>`
(../shared/reference/woocommerce/README.md), so one schema serves both. Only the fields the plugin
relies on are declared and validated; everything else is dropped (`unknown = EXCLUDE`), because
stores and extensions add fields freely. Field shapes follow orders.md, products.md and
product-variations.md. A malformed payload raises `marshmallow.ValidationError`; `summarise`
turns it into one short line for a 400 answer or an audit entry.

Loading gives plain dicts of typed values (`Decimal` money, aware UTC datetimes); `mapping.py`
turns them into core objects (`OrderSchema` subclass there returns `Order` via `@post_load`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

# Orders, products and variations are WordPress posts (or HPOS `wc_orders` rows): their ids are
# BIGINT(20) UNSIGNED (wp-admin/includes/schema.php `wp_posts.ID`). A bigger number names no
# resource, and its digits would not fit the inbox's `resource_id` (64 characters).
RESOURCE_ID = validate.Range(min=1, max=2**64 - 1)


class Money(fields.Field[Decimal]):
    """A WooCommerce amount: a decimal string ("12.00"); numbers are accepted for `price`."""

    default_error_messages = {"invalid": "Not a valid amount."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.make_error("invalid")
        text = str(value).strip()
        if text == "":
            return Decimal("0")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise self.make_error("invalid") from exc
        if not amount.is_finite():
            raise self.make_error("invalid")
        return amount


class GmtDateTime(fields.Field[dt.datetime]):
    """A `*_gmt` date-time. WooCommerce writes them without an offset ("2017-03-22T19:28:02",
    introduction.md: ISO 8601); they are UTC, so the result is made timezone-aware UTC."""

    default_error_messages = {"invalid": "Not a valid date-time."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError as exc:  # e.g. "0001-01-01T00:00:00+14:00" is before year 1 in UTC
            raise self.make_error("invalid") from exc


class Text(fields.String):
    """A string where WooCommerce may send null for blank ("Blank fields are generally included
    as null or empty string", introduction.md): null loads as ""."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", "")
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        result = super().deserialize(value, attr, data, **kwargs)
        return "" if result is None else result

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # e.g. a numeric `number` or meta value
        return super()._deserialize(value, attr, data, **kwargs)


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


class MetaSchema(_Base):
    """One `meta_data` entry: `{"id", "key", "value"}`; values may be any JSON."""

    id = fields.Integer(load_default=None, allow_none=True)
    key = fields.String(required=True)
    value = fields.Raw(load_default=None, allow_none=True)


class AddressSchema(_Base):
    first_name = Text()
    last_name = Text()
    company = Text()
    address_1 = Text()
    address_2 = Text()
    city = Text()
    state = Text()
    postcode = Text()
    country = Text()
    email = Text()
    phone = Text()


class LineItemSchema(_Base):
    id = fields.Integer(required=True)
    name = Text()
    product_id = fields.Integer(required=True)
    variation_id = fields.Integer(load_default=0, allow_none=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=0))
    tax_class = Text()
    subtotal = Money(required=True)
    subtotal_tax = Money(load_default=Decimal("0"))
    total = Money(required=True)
    total_tax = Money(load_default=Decimal("0"))
    sku = Text()
    meta_data = fields.List(fields.Nested(MetaSchema), load_default=list)


class ShippingLineSchema(_Base):
    id = fields.Integer(required=True)
    method_id = Text()
    method_title = Text()
    total = Money(load_default=Decimal("0"))
    total_tax = Money(load_default=Decimal("0"))


class FeeLineSchema(_Base):
    id = fields.Integer(required=True)
    name = Text()
    total = Money(load_default=Decimal("0"))
    total_tax = Money(load_default=Decimal("0"))


class CouponLineSchema(_Base):
    id = fields.Integer(load_default=None, allow_none=True)
    code = Text()
    discount = Money(load_default=Decimal("0"))
    discount_tax = Money(load_default=Decimal("0"))


class OrderSchema(_Base):
    """An order (orders.md, "Order properties")."""

    id = fields.Integer(required=True, validate=RESOURCE_ID)
    parent_id = fields.Integer(load_default=0, allow_none=True)
    number = Text()
    status = fields.String(required=True, validate=validate.Length(min=1))
    currency = fields.String(required=True, validate=validate.Length(min=3, max=3))
    date_created_gmt = GmtDateTime(load_default=None, allow_none=True)
    date_modified_gmt = GmtDateTime(load_default=None, allow_none=True)
    date_paid_gmt = GmtDateTime(load_default=None, allow_none=True)
    date_completed_gmt = GmtDateTime(load_default=None, allow_none=True)
    discount_total = Money(load_default=Decimal("0"))
    shipping_total = Money(load_default=Decimal("0"))
    total = Money(load_default=Decimal("0"))
    total_tax = Money(load_default=Decimal("0"))
    prices_include_tax = fields.Boolean(load_default=False)
    customer_id = fields.Integer(load_default=0, allow_none=True)
    customer_note = Text()
    billing = fields.Nested(AddressSchema, load_default=dict)
    shipping = fields.Nested(AddressSchema, load_default=dict)
    payment_method = Text()
    payment_method_title = Text()
    transaction_id = Text()
    meta_data = fields.List(fields.Nested(MetaSchema), load_default=list)
    line_items = fields.List(fields.Nested(LineItemSchema), load_default=list)
    shipping_lines = fields.List(fields.Nested(ShippingLineSchema), load_default=list)
    fee_lines = fields.List(fields.Nested(FeeLineSchema), load_default=list)
    coupon_lines = fields.List(fields.Nested(CouponLineSchema), load_default=list)

    @pre_load
    def _nulls_to_defaults(self, data: Any, **kwargs: Any) -> Any:
        # Objects and lists that a store sends as null load as empty.
        if isinstance(data, dict):
            data = dict(data)
            for key in ("billing", "shipping"):
                if data.get(key) is None:
                    data.pop(key, None)
            for key in ("meta_data", "line_items", "shipping_lines", "fee_lines", "coupon_lines"):
                if data.get(key) is None:
                    data.pop(key, None)
        return data


class ProductSchema(_Base):
    """A product or a variation (products.md / product-variations.md): the stock fields.

    `manage_stock` is a boolean for products; for a variation whose stock is kept on its parent,
    WooCommerce answers the string "parent" (WC_Product_Variation::managing_stock semantics), so
    that value is accepted too.
    """

    id = fields.Integer(required=True, validate=RESOURCE_ID)
    parent_id = fields.Integer(load_default=0, allow_none=True)
    type = Text()
    sku = Text()
    name = Text()
    manage_stock = fields.Raw(
        load_default=False, allow_none=True, validate=validate.OneOf([True, False, "parent"])
    )
    stock_quantity = fields.Integer(load_default=None, allow_none=True)
    stock_status = Text(load_default="instock")
    backorders = fields.String(load_default="no", validate=validate.OneOf(["no", "notify", "yes"]))
    variations = fields.List(fields.Integer(), load_default=list)

    @pre_load
    def _clean(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if data.get("backorders") is None:
                data.pop("backorders", None)
            if data.get("variations") is None:
                data.pop("variations", None)
            quantity = data.get("stock_quantity")
            if isinstance(quantity, float) and quantity.is_integer():
                data["stock_quantity"] = int(quantity)  # stores with decimal stock plugins
        return data


class ResourceStateSchema(_Base):
    """What a webhook needs of an order or product payload: which resource, in which state.

    `date_modified_gmt` and the content's fingerprint (fingerprint.py) name the state in the
    inbox's dedupe key; every order and product JSON has it (orders.md, products.md). The job
    re-fetches the resource from the store, where `OrderSchema` and `ProductSchema` validate
    it, so the rest of the payload is only hashed here, never validated.
    """

    # WordPress keeps ids in BIGINT(20) UNSIGNED columns (wp_posts.ID, and the order tables'
    # `id`): at most 20 digits. A longer one is no resource of a store.
    id = fields.Integer(required=True, validate=RESOURCE_ID)
    date_modified_gmt = GmtDateTime(required=True)


_PRODUCT_SCHEMA = ProductSchema()  # kept, as mapping.py keeps the order's: loads keep no state


def load_product(payload: Any) -> dict[str, Any]:
    """Validate one product/variation JSON object."""
    data: dict[str, Any] = _PRODUCT_SCHEMA.load(payload)
    return data


def summarise(error: ValidationError, limit: int = 3) -> str:
    """One short line naming the first invalid fields, e.g. `line_items.0.quantity: ...`."""
    parts: list[str] = []

    def walk(prefix: str, messages: Any) -> None:
        if len(parts) >= limit:
            return
        if isinstance(messages, dict):
            for key, value in messages.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
            parts.append(f"{prefix or 'payload'}: {messages[0]}")
        elif isinstance(messages, list):
            for value in messages:
                walk(prefix, value)
        else:
            parts.append(f"{prefix or 'payload'}: {messages}")

    walk("", error.messages)
    return "invalid payload: " + "; ".join(parts[:limit])
