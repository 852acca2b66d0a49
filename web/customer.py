"""The customer's page (issue 15): a signed link from the split or release e-mail opens one
order and its backorder orders; no account. Actions are confirmed forms that record one request
and queue one job (jobs/self_service.py); nothing here writes to the store.

A link that is not ours, altered, revoked or names another store or order gets a plain page
saying so (404), an expired one says it expired (410); both offer to send a new link, which
answers the same whatever was typed (no address or order can be probed) and is rate-limited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis
from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from jobs.delay_notices import enqueue_store_check
from jobs.self_service import enqueue_request
from plugin.adapters.customer_links import CustomerLinks, LinkClaim, Verdict, same_digest
from plugin.adapters.mail import wording
from plugin.adapters.queue.jobs import enqueue_mail
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.reports import order_labels
from plugin.adapters.sql.self_service import (
    LinkRecord,
    SqlCustomerLinks,
    SqlCustomerRequests,
    SqlDelayRecords,
    SqlSelfServiceSettings,
)
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.core.delays import Answer, Choice
from plugin.core.model import DeliveryCondition, Order, PaymentAction
from plugin.errors import BackordersError
from plugin.ports import Message
from plugin.usecases import delay_notices, self_service
from plugin.usecases.notifying import customer_email
from web.auth import services
from web.inputs import is_numeric_id, units_typed

logger = logging.getLogger(__name__)

bp = Blueprint("customer", __name__)

PAGE_TIMEOUT_S = 5.0
PAGE_WAIT_S = 3.0
NEW_LINKS_PER_ORDER = 3  # per hour, whatever address asks
NEW_LINK_REQUESTS_PER_CLIENT = 20  # per hour and client address
WINDOW_S = 3600


def links() -> CustomerLinks:
    return CustomerLinks(services().config.secret_key)


def page_url(store_id: int, token: str) -> str:
    """The absolute address of a customer's page (for e-mails)."""
    return f"{services().config.public_url.rstrip('/')}/stores/{store_id}/my-order/{token}"


@dataclass(frozen=True)
class Opened:
    store_id: int
    claim: LinkClaim
    link: LinkRecord
    token: str


class Refused(Exception):
    def __init__(self, verdict: Verdict, store_id: int) -> None:
        super().__init__(verdict.value)
        self.verdict = verdict
        self.store_id = store_id


def _open(store_id: int, token: str) -> Opened:
    """The link's claim when it is valid for this store and not revoked; raises Refused."""
    verdict, claim = links().read(token)
    if claim is None or claim.store_id != store_id or services().stores.get(store_id) is None:
        raise Refused(Verdict.INVALID, store_id)
    link = SqlCustomerLinks(services().db).get(store_id, claim.order_id)
    if (
        link is None
        or link.version != claim.version
        or not same_digest(link.email_digest, claim.email_digest)
    ):
        raise Refused(Verdict.INVALID, store_id)
    if verdict is not Verdict.VALID:
        raise Refused(verdict, store_id)
    return Opened(store_id, claim, link, token)


def _refused_page(refusal: Refused) -> tuple[str, int]:
    expired = refusal.verdict is Verdict.EXPIRED
    return render_template("customer/refused.html", store_id=refusal.store_id, expired=expired), (
        410 if expired else 404
    )


def _orders(opened: Opened) -> tuple[Order, list[Order], Any]:
    """The customer's order and its backorder orders, read from the store (one request)."""
    state = services()
    store = state.stores.get(opened.store_id)
    if store is None or not store.is_connected:
        raise _Unavailable
    ids = self_service.backorder_order_ids(
        opened.claim.order_id,
        lambda order_id: SqlSplitLedger(state.db).for_order(opened.store_id, order_id),
    )
    try:
        platform, _limiter = state.registry.for_store(
            store, timeout=PAGE_TIMEOUT_S, max_wait=PAGE_WAIT_S
        )
        found = {o.id: o for o in platform.get_orders([opened.claim.order_id, *ids])}
    except (BackordersError, redis.RedisError, ValueError, KeyError) as error:
        logger.info("event=customer_page_unavailable store_id=%s error=%s", store.id, error)
        raise _Unavailable from error
    original = found.get(opened.claim.order_id)
    if original is None:
        raise Refused(Verdict.INVALID, opened.store_id)
    # The link names the order's customer: a changed address no longer opens it.
    if not same_digest(links().digest(customer_email(original)), opened.claim.email_digest):
        raise Refused(Verdict.INVALID, opened.store_id)
    return original, [found[i] for i in ids if i in found], platform


class _Unavailable(Exception):
    """The store did not answer: the page cannot be shown now (nothing is changed)."""


def _page(opened: Opened) -> tuple[self_service.CustomerPage, str]:
    """The page, and the customer's address (the order's, checked against the link)."""
    state = services()
    original, backorders, platform = _orders(opened)
    splits = []
    ledger = SqlSplitLedger(state.db)
    for order_id in [original.id, *(o.id for o in backorders)]:
        splits.extend(ledger.for_order(opened.store_id, order_id))
    releases = SqlReleaseLedger(state.db)
    policy_store = SqlPolicyStore(state.db)
    cancellations = SqlCancellationLedger(state.db)
    shown = self_service.customer_page(
        original,
        backorders,
        splits=splits,
        releases={o.id: releases.for_order(opened.store_id, o.id) for o in [original, *backorders]},
        original_line_ids=platform.original_line_ids,
        policies=lambda order: policy_store.policies_for(opened.store_id, order),
        settings=SqlSelfServiceSettings(state.db).get(opened.store_id),
        requests=SqlCustomerRequests(state.db).for_order(opened.store_id, original.id),
        cancellations=[
            c
            for o in [original, *backorders]  # the original: an order held whole
            for c in cancellations.for_order(opened.store_id, o.id)
            if c.backorder_order_id == o.id
        ],  # fmt: skip
        purchase_order_dates=self_service.purchase_order_dates(
            SqlPurchasing(state.db).covering_orders(
                opened.store_id, [original.id, *(o.id for o in backorders)]
            )
        ),
    )
    return shown, customer_email(original)


def _open_notices(opened: Opened, shown: self_service.CustomerPage) -> dict[str, Any]:
    """The delay notice each waiting backorder order may still be answered on."""
    watches = SqlDelayRecords(services().db).for_orders(
        opened.store_id, [part.order_id for part in shown.waiting]
    )
    now = dt.datetime.now(dt.UTC)
    found = {order_id: delay_notices.open_notice(w, now) for order_id, w in watches.items()}
    return {order_id: notice for order_id, notice in found.items() if notice is not None}


def _render(opened: Opened, page: self_service.CustomerPage, template: str, **extra: Any) -> str:
    settings = page.settings
    return render_template(
        template,
        opened=opened,
        page=page,
        store=services().stores.get(opened.store_id),
        date=lambda d: self_service.format_date(d, settings.date_style),
        money=lambda amount, currency: self_service.format_money(
            Decimal(amount), currency, decimal_comma=settings.decimal_comma
        ),
        choices=[(c.value, self_service.CHOICE_TEXT[c]) for c in self_service.CUSTOMER_CHOICES],
        delivery_text=self_service.CHOICE_TEXT.get(page.delivery) if page.delivery else None,
        **extra,
    )


@dataclass(frozen=True)
class Shown:
    opened: Opened
    page: self_service.CustomerPage
    email: str


def _with_page(store_id: int, token: str) -> Shown:
    opened = _open(store_id, token)
    shown, email = _page(opened)
    return Shown(opened, shown, email)


@bp.get("/stores/<int:store_id>/my-order/<token>")
def page(store_id: int, token: str) -> str | tuple[str, int]:
    """The customer's order: what ships, what waits, payment, and what they may do."""
    try:
        got = _with_page(store_id, token)
        opened, shown = got.opened, got.page
    except Refused as refusal:
        return _refused_page(refusal)
    except _Unavailable:
        return render_template("customer/unavailable.html"), 503
    return _render(opened, shown, "customer/page.html", notices=_open_notices(opened, shown))


def _again(opened: Opened, shown: self_service.CustomerPage) -> tuple[str, int]:
    """The page again, with the flashed error, for a form that changed nothing (400)."""
    return _render(opened, shown, "customer/page.html", notices=_open_notices(opened, shown)), 400


def _back(opened: Opened) -> BaseResponse:
    return redirect(url_for("customer.page", store_id=opened.store_id, token=opened.token), 303)


@bp.post("/stores/<int:store_id>/my-order/<token>/cancel")
def cancel(store_id: int, token: str) -> BaseResponse | str | tuple[str, int]:
    """First post: confirm the chosen lines. Second (confirm=yes): record and queue it."""
    try:
        got = _with_page(store_id, token)
        opened, shown = got.opened, got.page
    except Refused as refusal:
        return _refused_page(refusal)
    except _Unavailable:
        return render_template("customer/unavailable.html"), 503
    if not shown.settings.allow_cancel:
        flash("This shop does not let orders be cancelled here; please contact the shop.", "error")
        return _back(opened)
    offered = {
        line.cancel_ref: (part, line)
        for part in shown.waiting
        for line in part.lines
        if line.cancel_ref
    }
    ticked = request.form.getlist("line")
    if len(ticked) > len(offered) or any(ref not in offered for ref in ticked):
        flash("Choose at least one waiting item to cancel. Nothing was cancelled.", "error")
        return _again(opened, shown)
    try:
        units = _units(offered)
    except ValueError as error:
        flash(f"{error} Nothing was cancelled.", "error")
        return _again(opened, shown)
    # A ticked line without a number of units is cancelled whole; 0 units cancel none of it.
    chosen = {ref: units.get(ref, offered[ref][1].quantity) for ref in sorted(set(ticked))}
    chosen = {ref: n for ref, n in chosen.items() if n > 0}
    if not chosen:
        flash("Choose at least one waiting item to cancel. Nothing was cancelled.", "error")
        return _again(opened, shown)
    if request.form.get("confirm") != "yes":
        return _render(
            opened, shown, "customer/confirm_cancel.html",
            chosen=[(*offered[ref], n) for ref, n in chosen.items()], chosen_units=chosen,
            refund=sum((offered[ref][1].value_of(n, offered[ref][0].currency)
                        for ref, n in chosen.items()), Decimal(0)),
            currency=next(iter(offered.values()))[0].currency,
        )  # fmt: skip
    payload_lines = _cancel_lines(opened, chosen, offered, paid=shown.paid)
    if payload_lines is None:
        flash("These items can no longer be cancelled here. Nothing was cancelled.", "error")
        return _back(opened)
    asked = "|".join(
        ref if n == offered[ref][1].quantity else f"{ref}:{n}of{offered[ref][1].quantity}"
        for ref, n in chosen.items()
    )
    key = self_service.request_key(
        self_service.CANCEL, opened.claim.order_id,
        hashlib.sha256(asked.encode()).hexdigest()[:16],
    )  # fmt: skip
    return _record(opened, got.email, key, self_service.CANCEL, {"lines": payload_lines}, (
        "Your cancellation is being made; this page shows it in a moment. "
        + (("The refund for these items is due from the shop on this order." if shown.held
            else "The refund for these items is due from the shop on your original order.")
           if shown.paid else "You were not charged for these items.")
    ))  # fmt: skip


def _units(
    offered: Mapping[str, tuple[self_service.PagePart, self_service.PageLine]],
) -> dict[str, int]:
    """The units typed per waiting line (`units:<ref>`): whole numbers from 0 to the units
    waiting, every one of them checked, chosen or not; raises ValueError naming the line."""
    found: dict[str, int] = {}
    for ref, (_part, line) in offered.items():
        typed = units_typed(request.form.get(f"units:{ref}"), waiting=line.quantity, name=line.name)
        if typed is not None:
            found[ref] = typed
    return found


def _cancel_lines(
    opened: Opened,
    chosen: Mapping[str, int],
    offered: Mapping[str, tuple[self_service.PagePart, self_service.PageLine]],
    *,
    paid: bool,
) -> list[dict[str, Any]] | None:
    """What the cancellation path needs per chosen line (`self_service.cancel_lines`, as the
    delay notices cancel): from the split that made its backorder order, or from the hold of
    the customer's order held whole (`paid`: charged as itself); the whole line, or `units` of
    the `waiting` units the page showed."""
    db = services().db
    lines: list[dict[str, Any]] = []
    for ref, units in chosen.items():
        waiting = offered[ref][1].quantity
        order_id, _, line_id = ref.partition(":")
        splits = SqlSplitLedger(db).for_order(opened.store_id, order_id)
        split = self_service.made_by(order_id, splits)
        held = split is None and order_id == opened.claim.order_id
        if held:
            split = self_service.held_by(order_id, splits)
        if split is None:
            return None
        found = self_service.cancel_lines(split, order_id, held=held)
        line = next((dict(f) for f in found if f["line_id"] == line_id), None)
        if line is None:
            return None
        if units < waiting:
            line.update(quantity=units, units=units, waiting=waiting)
        elif held:  # the line as it is now (units of it may have been cancelled already)
            line.update(quantity=waiting)
        line["paid"] = (
            paid if held else split.plan.get("payment") == PaymentAction.PAID_FROM_ORIGINAL.value
        )
        lines.append(line)
    return lines


@bp.post("/stores/<int:store_id>/my-order/<token>/delivery")
def delivery(store_id: int, token: str) -> BaseResponse | str | tuple[str, int]:
    """First post: confirm the choice. Second (confirm=yes): record and queue it."""
    try:
        got = _with_page(store_id, token)
        opened, shown = got.opened, got.page
    except Refused as refusal:
        return _refused_page(refusal)
    except _Unavailable:
        return render_template("customer/unavailable.html"), 503
    if not shown.can_change_delivery:
        flash("How this order ships cannot be changed here; please contact the shop.", "error")
        return _back(opened)
    raw = request.form.get("condition", "")
    allowed = {c.value for c in self_service.CUSTOMER_CHOICES}
    if raw not in allowed:
        flash("Choose how the rest of your order ships. Nothing was changed.", "error")
        return _again(opened, shown)
    condition = DeliveryCondition(raw)
    if request.form.get("confirm") != "yes":
        return _render(
            opened, shown, "customer/confirm_delivery.html",
            condition=condition, condition_text=self_service.CHOICE_TEXT[condition],
        )  # fmt: skip
    orders = [part.order_id for part in shown.waiting]
    key = self_service.request_key(
        self_service.DELIVERY, opened.claim.order_id, f"{condition.value}:{len(shown.requests)}"
    )
    return _record(opened, got.email, key, self_service.DELIVERY,
                   {"condition": condition.value, "orders": orders},
                   "Your choice is being saved; it applies when stock next arrives.")  # fmt: skip


@bp.post("/stores/<int:store_id>/my-order/<token>/answer")
def answer(store_id: int, token: str) -> BaseResponse | str | tuple[str, int]:
    """The customer's answer to a delay notice: wait, or cancel the waiting items. First post:
    confirm; second (confirm=yes): record it (once per notice) and, for cancel, queue the
    store's delay check, which cancels through the ordinary path."""
    try:
        got = _with_page(store_id, token)
        opened, shown = got.opened, got.page
    except Refused as refusal:
        return _refused_page(refusal)
    except _Unavailable:
        return render_template("customer/unavailable.html"), 503
    notices = _open_notices(opened, shown)
    order_id = request.form.get("order", "")
    notice = notices.get(order_id) if is_numeric_id(order_id) else None
    raw = request.form.get("choice", "")
    if (
        notice is None
        or request.form.get("notice") != str(notice.number)
        or raw not in (Choice.WAIT.value, Choice.CANCEL.value)
    ):
        flash("This delay notice can no longer be answered here. Nothing was changed.", "error")
        return _again(opened, shown)
    choice = Choice(raw)
    part = next(p for p in shown.waiting if p.order_id == order_id)
    if request.form.get("confirm") != "yes":
        return _render(
            opened, shown, "customer/confirm_answer.html",
            part=part, notice=notice, choice=choice.value,
        )  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    state = services()
    recorded = SqlDelayRecords(state.db).add_answer(
        opened.store_id, order_id, delay_notices.answer_to_dict(Answer(notice.number, choice, now))
    )
    if not recorded:
        flash("You answered this notice already.", "ok")
        return _back(opened)
    text = (
        f"{self_service.customer_label(got.email)} answered delay notice {notice.number} of "
        f"order {part.number} on {now.isoformat(timespec='seconds')}: "
        + ("wait for the new date." if choice is Choice.WAIT else "cancel the waiting items.")
    )
    audit = SqlAuditLog(state.db)
    for audited in dict.fromkeys([order_id, opened.claim.order_id]):
        audit.record(opened.store_id, audited, "decision", text, requested_by=got.email)
    if choice is Choice.CANCEL:
        try:
            enqueue_store_check(state.redis, opened.store_id, f"-answer-{order_id}-{notice.number}")
        except redis.RedisError as error:  # the periodic check carries the answer out
            logger.warning("event=delay_check_not_queued error=%s", type(error).__name__)
        flash("Your cancellation is being made; this page shows it in a moment.", "ok")
    else:
        flash("Thank you: we keep your order and send the items when they arrive.", "ok")
    return _back(opened)


def _record(
    opened: Opened,
    email: str,
    key: str,
    kind: str,
    payload: Mapping[str, Any],
    done_message: str,
) -> BaseResponse:
    state = services()
    requests = SqlCustomerRequests(state.db)
    record = requests.create(
        opened.store_id, key, kind=kind, order_id=opened.claim.order_id, email=email,
        payload=payload,
    )  # fmt: skip
    if record is None:
        flash("You asked for this already; it is being done.", "ok")
        return _back(opened)
    SqlAuditLog(state.db).record(
        opened.store_id, opened.claim.order_id, "decision",
        f"{self_service.customer_label(email)} asked on their order page: {kind} "
        f"({_describe(kind, payload, _labels(opened.store_id, payload))}).",
        request_key=key, requested_by=email,
    )  # fmt: skip
    try:
        enqueue_request(state.redis, opened.store_id, key)
        flash(done_message, "ok")
    except redis.RedisError:
        requests.fail(opened.store_id, key, "the job queue was unavailable; nothing was changed")
        flash("We could not take your request just now; nothing was changed. Try again.", "error")
    logger.info("event=customer_request store_id=%s kind=%s", opened.store_id, kind)
    return _back(opened)


def _labels(store_id: int, payload: Mapping[str, Any]) -> dict[str, str]:
    """The orders a request's lines are on, as the merchant's pages name them (`112-001`)."""
    order_ids = [str(line["backorder_order_id"]) for line in payload.get("lines", [])]
    return order_labels(services().db, store_id, order_ids)


def _describe(kind: str, payload: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    if kind == self_service.CANCEL:
        return ", ".join(
            f"order {labels[str(line['backorder_order_id'])]} product {line['product_id']} "
            f"× {line['quantity']}" + (f" of {line['waiting']}" if "units" in line else "")
            for line in payload.get("lines", [])
        )
    return f"delivery {payload.get('condition')} for orders {', '.join(payload.get('orders', []))}"


# --- a new link ------------------------------------------------------------------------------


def _allowed(key: str, limit: int) -> bool:
    connection = services().redis
    pipe = connection.pipeline()
    pipe.set(key, 0, ex=WINDOW_S, nx=True)
    pipe.incr(key)
    _, count = pipe.execute()
    return int(count) <= limit


@bp.route("/stores/<int:store_id>/my-order-link", methods=["GET", "POST"])
def new_link(store_id: int) -> str | tuple[str, int]:
    """Ask for a new link by e-mail: the same answer whether or not anything matched."""
    if request.method == "GET":
        return render_template("customer/new_link.html", store_id=store_id, errors={})
    number = request.form.get("order_number", "").strip().lstrip("#")
    email = request.form.get("email", "").strip()
    errors: dict[str, str] = {}
    if not number or len(number) > 64 or not number.replace("-", "").isalnum():
        errors["order_number"] = "Enter your order number, as in your e-mail (for example 1042)."
    if not email or len(email) > 320 or "@" not in email:
        errors["email"] = "Enter the e-mail address you ordered with."
    if errors:
        return render_template(
            "customer/new_link.html", store_id=store_id, errors=errors,
            order_number=number, email=email,
        ), 400  # fmt: skip
    try:
        _send_new_link(store_id, number, email)
    except redis.RedisError as error:
        logger.warning("event=customer_link_not_sent error=%s", type(error).__name__)
    return render_template("customer/link_sent.html", store_id=store_id)


def _send_new_link(store_id: int, number: str, email: str) -> None:
    client = hashlib.sha256((request.remote_addr or "").encode()).hexdigest()[:16]
    if not _allowed(f"backorders:customer-link:client:{client}", NEW_LINK_REQUESTS_PER_CLIENT):
        logger.info("event=customer_link_throttled store_id=%s reason=client", store_id)
        return
    store = services().stores.get(store_id)
    if store is None:
        return
    digest = links().digest(email)
    link = next(
        (
            record
            for record in SqlCustomerLinks(services().db).by_number(store_id, number)
            if same_digest(record.email_digest, digest)
        ),
        None,
    )
    if link is None:
        return
    if not _allowed(
        f"backorders:customer-link:order:{store_id}:{link.order_id}", NEW_LINKS_PER_ORDER
    ):
        logger.info("event=customer_link_throttled store_id=%s reason=order", store_id)
        return
    send_link(store_id, store.name, link, email)


def send_link(store_id: int, store_name: str, link: LinkRecord, email: str) -> int:
    """Put the 'your order page' e-mail in the outbox and queue it; its outbox id."""
    token = links().token(store_id, link.order_id, email, link.version)
    subject, body = wording.render(
        wording.read("customer_email", "customer_link"),
        {"store_name": store_name, "order_number": link.order_number,
         "page_url": page_url(store_id, token)},
    )  # fmt: skip
    moment = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")
    key = f"customer_link:{link.order_id}:{link.version}:{moment}"
    message_id, _new = OutboxRepository(services().db).add(
        Message(store_id, key, "customer_link", email, subject, body)
    )
    enqueue_mail(services().redis, message_id)
    logger.info("event=customer_link_sent store_id=%s", store_id)
    return message_id
