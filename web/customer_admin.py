"""The merchant's side of the customers' page (issue 15): which actions customers may take,
how their page writes dates and money, the delay notice rule, what customers did, and revoking
(and resending) a customer's link."""

from __future__ import annotations

import logging
import zoneinfo
from typing import Any

import redis
from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from plugin.adapters.sql.self_service import (
    SqlCustomerLinks,
    SqlCustomerRequests,
    SqlDelayRecords,
    SqlSelfServiceSettings,
)
from plugin.core.delays import DelayRule
from plugin.errors import BackordersError
from plugin.ports import DateStyle, SelfServiceSettings
from plugin.usecases.notifying import customer_email
from web.auth import login_required, owned_store, services
from web.customer import PAGE_TIMEOUT_S, PAGE_WAIT_S, links, send_link
from web.inputs import is_order_id, whole_number

logger = logging.getLogger(__name__)

bp = Blueprint("customer_admin", __name__)

RULE_CHOICES = [
    (DelayRule.OFF.value, "Off: no delay notices"),
    (DelayRule.NOTIFY_ONLY.value, "Notify only: tell customers, never cancel by itself"),
    (DelayRule.FTC_30_DAY.value, "The FTC 30-day rule (16 CFR 435): ask consent, cancel without"),
]
DATE_CHOICES = [
    (DateStyle.ISO.value, "2026-12-04"),
    (DateStyle.DAY_MONTH.value, "04/12/2026"),
    (DateStyle.MONTH_DAY.value, "12/04/2026"),
    (DateStyle.LONG.value, "4 December 2026"),
]


def _read_form() -> tuple[SelfServiceSettings | None, dict[str, str], dict[str, Any]]:
    form = request.form
    values: dict[str, Any] = {
        "allow_cancel": form.get("allow_cancel") == "on",
        "allow_delivery": form.get("allow_delivery") == "on",
        "delay_rule": form.get("delay_rule", ""),
        "stated_shipping_days": form.get("stated_shipping_days", "").strip(),
        "answer_days": form.get("answer_days", "").strip(),
        "timezone": form.get("timezone", "").strip(),
        "date_style": form.get("date_style", ""),
        "decimal_comma": form.get("decimal_comma") == "on",
    }
    errors: dict[str, str] = {}
    if values["delay_rule"] not in {value for value, _ in RULE_CHOICES}:
        errors["delay_rule"] = "Choose one of the rules."
    stated = None
    if values["stated_shipping_days"]:
        stated = whole_number(values["stated_shipping_days"], maximum=365)
        if not stated:
            errors["stated_shipping_days"] = "A number of days from 1 to 365, or empty for none."
    answer = whole_number(values["answer_days"], maximum=60)
    if not answer:
        errors["answer_days"] = "A number of days from 1 to 60."
    try:
        if not values["timezone"] or len(values["timezone"]) > 64:
            raise ValueError
        zoneinfo.ZoneInfo(values["timezone"])
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        errors["timezone"] = "A time zone name such as Europe/Berlin or America/New_York."
    if values["date_style"] not in {value for value, _ in DATE_CHOICES}:
        errors["date_style"] = "Choose one of the date styles."
    if errors:
        return None, errors, values
    return (
        SelfServiceSettings(
            allow_cancel=values["allow_cancel"],
            allow_delivery=values["allow_delivery"],
            delay_rule=values["delay_rule"],
            stated_shipping_days=stated,
            answer_days=answer or 14,
            timezone=values["timezone"],
            date_style=DateStyle(values["date_style"]),
            decimal_comma=values["decimal_comma"],
        ),
        {},
        values,
    )


@bp.route("/stores/<int:store_id>/customer-page", methods=["GET", "POST"])
@login_required
def settings(store_id: int) -> BaseResponse | str | tuple[str, int]:
    """Show and save the customers' page settings; nothing is saved when a field is wrong."""
    store = owned_store(store_id)
    repository = SqlSelfServiceSettings(services().db)
    current = repository.get(store.id)
    values: dict[str, Any] = {
        **current.__dict__,
        "date_style": current.date_style.value,
        "stated_shipping_days": current.stated_shipping_days or "",
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        saved, errors, values = _read_form()
        if saved is not None:
            repository.save(store.id, saved)
            logger.info("event=customer_page_settings_saved store_id=%s", store.id)
            flash("Saved; customers' pages and delay notices follow these settings now.", "ok")
            return redirect(url_for("customer_admin.settings", store_id=store.id), 303)
    html = render_template(
        "customer_admin/settings.html",
        store=store,
        values=values,
        errors=errors,
        rule_choices=RULE_CHOICES,
        date_choices=DATE_CHOICES,
        requests=SqlCustomerRequests(services().db).of_store(store.id),
        delay_actions=SqlDelayRecords(services().db).actions(store.id)[-200:][::-1],
    )
    return (html, 400) if errors else html


@bp.post("/stores/<int:store_id>/customer-page/links/<order_id>/revoke")
@login_required
def revoke(store_id: int, order_id: str) -> BaseResponse:
    """Stop every link sent for this order, and send the customer a new one."""
    store = owned_store(store_id)
    back = redirect(url_for("backorders.order", store_id=store.id, order_id=order_id), 303)
    if not is_order_id(order_id):
        flash("No such order. Nothing was changed.", "error")
        return back
    records = SqlCustomerLinks(services().db)
    if records.revoke(store.id, order_id) is None:
        flash(f"No link was ever sent for order #{order_id}. Nothing was changed.", "error")
        return back
    link = records.get(store.id, order_id)
    assert link is not None
    state = services()
    try:
        platform, _limiter = state.registry.for_store(
            store, timeout=PAGE_TIMEOUT_S, max_wait=PAGE_WAIT_S
        )
        email = customer_email(platform.get_order(order_id))
        fresh = records.ensure(store.id, order_id, link.order_number, links().digest(email))
        send_link(store.id, store.name, fresh, email)
    except (BackordersError, redis.RedisError) as error:
        logger.info("event=customer_link_resend_failed store_id=%s error=%s", store.id, error)
        flash(
            f"The links of order #{order_id} no longer work; a new one could not be sent now "
            "(the store did not answer). Try again to send one.",
            "error",
        )
        return back
    flash(f"The old links of order #{order_id} no longer work; a new one was sent.", "ok")
    return back
