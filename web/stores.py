"""The stores page (health, connect, disconnect) and each store's settings page."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
)
from werkzeug.wrappers import Response

from plugin.adapters.sql.merchants import StoreSettingsForm, alert_email, save_store_settings
from plugin.adapters.sql.reports import has_open_backorders, inbox_counts
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import DeliveryCondition, OversoldAction, Status, StoreSettings
from plugin.core.rules import delivery_name
from plugin.core.split import backorder_number, numbering_pattern_errors
from plugin.errors import BackordersError
from web.auth import (
    current_merchant,
    form_errors,
    login_required,
    owned_store,
    services,
    store_platform,
)

logger = logging.getLogger(__name__)

bp = Blueprint("stores", __name__)

OVERSOLD_CHOICES = (
    (OversoldAction.REPORT, "Alert me and leave the order as it is"),
    (OversoldAction.HOLD, "Alert me and put the order on hold"),
)
EXAMPLE_NUMBER = "1042"
# Said when the split mode changes while backorders are open (issue 16): each split keeps the
# way it was written (plugin/platforms/shopify/linked.py `written_mode`).
MODE_CHANGED_WITH_OPEN_BACKORDERS = (
    "Open backorders keep the way they were split; the new way applies to new splits."
)


# -- stores page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreHealth:
    store: StoreRecord
    webhooks: dict[str, int] | None  # status -> count of our webhooks; None when unreachable
    webhooks_error: str
    inbox: dict[str, int]
    alerts: list[Any]

    @property
    def waiting(self) -> int:
        return self.inbox.get("pending", 0) + self.inbox.get("enqueued", 0)

    @property
    def failed(self) -> int:
        return self.inbox.get("failed", 0)


HEALTH_CACHE_S = 30  # the stores page asks each store at most this often


def _webhook_statuses(store: StoreRecord) -> tuple[dict[str, int] | None, str]:
    """Our webhooks on the store by status: one API request, remembered for a short while."""
    if not store.is_connected:
        return {}, ""
    # The key names the webhook ids, so a reconnect (new ids) is never answered from the cache.
    key = f"backorders:health:{store.id}:{','.join(str(i) for i in store.webhook_ids)}"
    try:
        cached = services().redis.get(key)
    except redis.RedisError:
        cached = None
    if cached is not None:
        return json.loads(cached), ""
    counts, error = _fetch_webhook_statuses(store)
    if counts is not None:
        with contextlib.suppress(redis.RedisError):
            services().redis.set(key, json.dumps(counts), ex=HEALTH_CACHE_S)
    return counts, error


def _fetch_webhook_statuses(store: StoreRecord) -> tuple[dict[str, int] | None, str]:
    try:
        ours = {str(i) for i in store.webhook_ids}
        counts: dict[str, int] = {}
        for webhook in store_platform(store, timeout=5).list_webhooks():
            if webhook.id in ours:
                status = webhook.status or "unknown"
                counts[status] = counts.get(status, 0) + 1
        missing = len(ours) - sum(counts.values())
        if missing:
            counts["missing"] = missing
        return counts, ""
    except (BackordersError, ValueError) as error:
        logger.info("event=webhook_health_failed store_id=%s error=%s", store.id, error)
        return None, "The store could not be reached."


@bp.get("/stores")
@login_required
def index() -> str:
    """Every store of the merchant with its health."""
    merchant = current_merchant()
    assert merchant is not None
    state = services()
    healths = []
    for store in state.stores.list(merchant_id=merchant.id):
        webhooks, error = _webhook_statuses(store)
        healths.append(
            StoreHealth(
                store=store,
                webhooks=webhooks,
                webhooks_error=error,
                inbox=inbox_counts(state.db, store.id),
                alerts=state.stores.list_alerts(store.id),
            )
        )
    return render_template(
        "stores/index.html",
        healths=healths,
        public_url=state.config.public_url.rstrip("/"),
    )


# -- settings --------------------------------------------------------------------------------


class SettingsSchema(Schema):
    """The settings form. Our own form: unknown fields are refused."""

    class Meta:
        unknown = RAISE

    enabled = fields.Boolean(load_default=False)
    eligible_statuses = fields.List(
        fields.String(validate=validate.OneOf([str(s) for s in Status])),
        load_default=list,
        validate=validate.Length(min=1, error="Choose at least one status."),
    )
    default_delivery = fields.String(
        required=True, validate=validate.OneOf([str(c) for c in DeliveryCondition])
    )
    oversold_action = fields.String(
        required=True, validate=validate.OneOf([str(a) for a, _ in OVERSOLD_CHOICES])
    )
    additional_shipping = fields.Decimal(
        required=True,
        places=2,
        validate=validate.Range(min=Decimal("0"), max=Decimal("10000")),
        error_messages={"invalid": "Enter an amount such as 4.95."},
    )
    numbering_pattern = fields.String(required=True, validate=validate.Length(min=1, max=60))
    customer_note_on_split = fields.Boolean(load_default=False)
    alert_email = fields.String(load_default="", validate=validate.Length(max=320))
    reconcile_interval_seconds = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=60, max=86400, error="Between 60 and 86400 seconds."),
    )
    api_rate_limit = fields.Float(
        required=True,
        validate=validate.Range(min=0.1, max=100, error="Between 0.1 and 100 requests a second."),
    )
    # The platform's ways of writing a split (`PlatformDriver.split_modes`): none by default;
    # `settings_schema` allows the store's platform's.
    split_mode = fields.String(load_default="", validate=validate.OneOf([""]))

    @validates("numbering_pattern")
    def _pattern(self, value: str, **_: Any) -> None:
        errors = numbering_pattern_errors(value)
        if errors:
            raise ValidationError(list(errors))

    @validates("alert_email")
    def _email(self, value: str, **_: Any) -> None:
        if value.strip():
            validate.Email(error="Enter an e-mail address such as you@example.com.")(value.strip())

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> StoreSettingsForm:
        settings = StoreSettings(
            enabled=data["enabled"],
            eligible_statuses=frozenset(Status(s) for s in data["eligible_statuses"]),
            default_delivery=DeliveryCondition(data["default_delivery"]),
            oversold_action=OversoldAction(data["oversold_action"]),
            additional_shipping=data["additional_shipping"].quantize(Decimal("0.01")),
            numbering_pattern=data["numbering_pattern"],
            customer_note_on_split=data["customer_note_on_split"],
        )
        return StoreSettingsForm(
            settings=settings,
            alert_email=data["alert_email"].strip(),
            reconcile_interval_seconds=data["reconcile_interval_seconds"],
            api_rate_limit=data["api_rate_limit"],
            split_mode=data["split_mode"],
        )


@functools.cache
def settings_schema(
    eligible: tuple[str, ...], split_modes: tuple[str, ...] = ()
) -> type[SettingsSchema]:
    """The settings form of a platform whose merchants may make `eligible` statuses eligible
    and choose among `split_modes` (none: the field must stay empty)."""

    class PlatformSettingsSchema(SettingsSchema):
        eligible_statuses = fields.List(
            fields.String(validate=validate.OneOf(eligible)),
            load_default=list,
            validate=validate.Length(min=1, error="Choose at least one status."),
        )
        split_mode = fields.String(
            load_default=split_modes[0] if split_modes else "",
            validate=validate.OneOf(split_modes or ("",), error="Choose one of the offered ways."),
        )

    return PlatformSettingsSchema


_CHECKBOXES = ("enabled", "customer_note_on_split")


def _settings_input() -> dict[str, Any]:
    """The posted form as the schema's input: lists for multi-selects, booleans for boxes."""
    data: dict[str, Any] = {}
    for key in request.form:
        if key == "csrf_token":
            continue
        values = request.form.getlist(key)
        data[key] = values if key == "eligible_statuses" else values[-1]
    for key in _CHECKBOXES:
        data[key] = key in request.form
    data.setdefault("eligible_statuses", [])
    return data


def _form_values(store: StoreRecord) -> dict[str, Any]:
    settings = store.settings
    return {
        "enabled": settings.enabled,
        "eligible_statuses": sorted(str(s) for s in settings.eligible_statuses),
        "default_delivery": str(settings.default_delivery),
        "oversold_action": str(settings.oversold_action),
        "additional_shipping": f"{settings.additional_shipping:.2f}",
        "numbering_pattern": settings.numbering_pattern,
        "customer_note_on_split": settings.customer_note_on_split,
        "alert_email": alert_email(services().db, store.id),
        "reconcile_interval_seconds": str(store.reconcile_interval_seconds),
        "api_rate_limit": f"{store.api_rate_limit:g}",
        "split_mode": store.split_mode,
    }


def number_example(pattern: str) -> tuple[str, list[str]]:
    """The first backorder number of order 1042 under `pattern`, or the pattern's errors."""
    errors = list(numbering_pattern_errors(pattern))
    if errors:
        return "", errors
    return backorder_number(pattern, EXAMPLE_NUMBER, 1), []


@bp.route("/stores/<int:store_id>/settings", methods=["GET", "POST"])
@login_required
def settings(store_id: int) -> Response | str | tuple[str, int]:
    """Show and save a store's settings; nothing is saved when any field is invalid."""
    store = owned_store(store_id)
    driver = services().registry.driver(store.platform)
    eligible_choices = driver.eligible_choices()
    split_modes = driver.split_modes
    errors: dict[str, list[str]] = {}
    values = _form_values(store)
    if request.method == "POST":
        data = _settings_input()
        values = {**values, **data}
        schema = settings_schema(
            tuple(status for status, _label in eligible_choices),
            tuple(mode for mode, _label in split_modes),
        )
        try:
            form: StoreSettingsForm = schema().load(data)
        except ValidationError as error:
            errors = form_errors(error)
        else:
            default_mode = split_modes[0][0] if split_modes else ""
            mode_changed = (store.split_mode or default_mode) != (form.split_mode or default_mode)
            save_store_settings(services().db, store.id, form)
            logger.info("event=settings_saved store_id=%s", store.id)
            message = "Settings saved; they apply to the next order event."
            if mode_changed and has_open_backorders(services().db, store.id):
                message += f" {MODE_CHANGED_WITH_OPEN_BACKORDERS}"
            flash(message, "ok")
            return redirect(url_for("stores.settings", store_id=store.id), code=303)
    example, example_errors = number_example(str(values["numbering_pattern"]))
    html = render_template(
        "stores/settings.html",
        store=store,
        values=values,
        errors=errors,
        eligible_choices=eligible_choices,
        delivery_choices=[(str(c), delivery_name(c)) for c in DeliveryCondition],
        oversold_choices=OVERSOLD_CHOICES,
        split_modes=split_modes,
        customer_notes=driver.customer_notes,
        split_calls=driver.split_calls,
        example=example,
        example_number=EXAMPLE_NUMBER,
        known_fields=set(SettingsSchema().fields),
    )
    return (html, 400) if errors else html


@bp.get("/stores/<int:store_id>/settings/number-example")
@login_required
def settings_number_example(store_id: int) -> Response:
    """The live example of the numbering pattern (JSON for the settings page's script)."""
    owned_store(store_id)
    example, errors = number_example(request.args.get("pattern", ""))
    return jsonify(example=example, errors=errors)
