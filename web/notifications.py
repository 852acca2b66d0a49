"""Merchant pages for e-mail: the wording of each message (per store) and the outbox."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate
from werkzeug.wrappers import Response

from plugin.adapters.mail import wording
from plugin.adapters.sql.outbox import OutboxRepository, save_email_template, store_mail
from plugin.ports import TemplateText
from plugin.usecases.notifying import KINDS
from web.auth import form_errors, login_required, owned_store, services

logger = logging.getLogger(__name__)

bp = Blueprint("notifications", __name__)

MAX_TEMPLATE_CHARS = 20_000


class TemplateSchema(Schema):
    """The editor's form: a subject line and a body (Jinja, plain text)."""

    class Meta:
        unknown = RAISE

    subject = fields.String(required=True, validate=validate.Length(min=1, max=300))
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEMPLATE_CHARS))
    action = fields.String(load_default="save", validate=validate.OneOf(["save", "reset"]))

    @post_load
    def _build(self, data: dict[str, Any], **_: Any) -> tuple[str, TemplateText]:
        return data["action"], TemplateText(data["subject"], data["body"].replace("\r\n", "\n"))


@bp.get("/stores/<int:store_id>/emails")
@login_required
def email_list(store_id: int) -> str:
    """The messages a store sends, and whether the store changed their wording."""
    store = owned_store(store_id)
    own = store_mail(services().db, store.id).templates
    return render_template("notifications/emails.html", store=store, kinds=KINDS.values(), own=own)


@bp.route("/stores/<int:store_id>/emails/<kind>", methods=["GET", "POST"])
@login_required
def email_template(store_id: int, kind: str) -> Response | str | tuple[str, int]:
    """Edit one message's wording; a template that does not render is refused, unsaved."""
    store = owned_store(store_id)
    if kind not in KINDS:
        abort(404)
    current = store_mail(services().db, store.id).templates.get(kind)
    values = current or wording.read(wording.STORE_MESSAGES, kind)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {k: request.form[k] for k in request.form if k != "csrf_token"}
        values = TemplateText(data.get("subject", ""), data.get("body", ""))
        try:
            action, template = TemplateSchema().load(data)
        except ValidationError as error:
            errors = form_errors(error)
        else:
            if action == "reset":
                save_email_template(services().db, store.id, kind, None)
                flash("The default wording is back.", "ok")
                return redirect(url_for(".email_template", store_id=store.id, kind=kind), code=303)
            errors = wording.problems(template, KINDS[kind].sample)
            if not errors:
                save_email_template(services().db, store.id, kind, template)
                logger.info("event=email_template_saved store_id=%s kind=%s", store.id, kind)
                flash("Wording saved; it applies to the next message.", "ok")
                return redirect(url_for(".email_template", store_id=store.id, kind=kind), code=303)
    html = render_template(
        "notifications/template.html",
        store=store,
        kind=KINDS[kind],
        values=values,
        own=current is not None,
        errors=errors,
        variables=sorted(KINDS[kind].sample),
    )
    return (html, 400) if errors else html


@bp.get("/stores/<int:store_id>/outbox")
@login_required
def outbox(store_id: int) -> str:
    """Messages of the store, newest first (development captures them here unsent)."""
    store = owned_store(store_id)
    messages = OutboxRepository(services().db).list(store.id)
    return render_template(
        "notifications/outbox.html",
        store=store,
        messages=messages,
        development=services().config.development,
        smtp=bool(services().config.smtp_url),
    )
