"""Wording of the customer e-mails that are not a store's editable messages (a new link to the
order page, asked for on the page itself): `templates/customer_email/<kind>.txt`."""

from __future__ import annotations

from pathlib import Path

from plugin.ports import TemplateText

TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "templates" / "customer_email"


def wording(kind: str) -> TemplateText:
    """`templates/customer_email/<kind>.txt`: a `Subject: ` line, a blank line, the body."""
    first, _, rest = (TEMPLATE_DIR / f"{kind}.txt").read_text(encoding="utf-8").partition("\n")
    return TemplateText(first.removeprefix("Subject: "), rest.removeprefix("\n"))
