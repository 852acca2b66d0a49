"""Message wording: the shipped texts in `templates/<folder>/<kind>.txt` and rendering any
wording (shipped or a merchant's own) in the budgeted Jinja sandbox
(plugin/adapters/mail/template_sandbox.py).

A wording file is a `Subject: ...` line, a blank line, then the body. Every render is bounded,
when a merchant saves a wording and when a message is rendered; a wording that does not render
raises `TemplateProblem` (plugin/errors.py), whose message is shown to the merchant.
`SandboxedWording` is the `MessageWording` port the notifier renders with.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from plugin.adapters.mail.template_sandbox import (
    BudgetedSandbox,
    RenderBudgetExceeded,
    render_within_budget,
)
from plugin.errors import TemplateProblem
from plugin.ports import TemplateText

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
STORE_MESSAGES = "email"  # the four messages a store may reword (plugin/usecases/notifying.py)

# Plain text: nothing is escaped (autoescape off), and nothing here is ever put into HTML
# unescaped (the outbox page lets Jinja's HTML autoescaping escape the text).
_ENV = BudgetedSandbox()


@functools.lru_cache(maxsize=64)
def read(folder: str, kind: str) -> TemplateText:
    """The shipped wording `templates/<folder>/<kind>.txt` (read once per process)."""
    path = TEMPLATES / folder / f"{kind}.txt"
    first, _, rest = path.read_text(encoding="utf-8").partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"templates/{folder}/{kind}.txt must start with 'Subject: '")
    return TemplateText(first.removeprefix("Subject: "), rest.removeprefix("\n"))


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> Any:  # a jinja2 Template of the budgeted sandbox
    """`text` compiled once per process: a worker renders the same few wordings over and over,
    and compiling one costs more than rendering it. (A text that does not compile raises, and
    is not kept.)"""
    return _ENV.from_string(text)


def compile_all(wordings: Iterable[TemplateText]) -> None:
    """Compile `wordings` now (a worker does it for the shipped ones before its first job)."""
    for wording in wordings:
        _compiled(wording.subject)
        _compiled(wording.body)


def _render_text(text: str, context: Mapping[str, Any]) -> str:
    """One template text rendered within the budget; TemplateProblem for any failure."""
    try:
        return render_within_budget(_compiled(text), context)
    except RenderBudgetExceeded as exc:
        raise TemplateProblem(
            f"This template does too much to render: {exc} (e-mail templates have a budget).",
            over_budget=True,
        ) from exc
    except Exception as exc:  # noqa: BLE001 - a merchant's template may fail in any way
        raise TemplateProblem(
            f"This template does not render: {type(exc).__name__}: {exc}"
        ) from exc


def render(wording: TemplateText, context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of `wording` filled with `context`; TemplateProblem when it fails."""
    subject = _render_text(wording.subject, context)
    body = _render_text(wording.body, context)
    # A subject is one header line: a template must not be able to add headers.
    return " ".join(subject.split()), body


def problems(wording: TemplateText, sample: Mapping[str, Any]) -> dict[str, list[str]]:
    """Errors of a merchant's wording by field ('subject', 'body') when rendered with
    `sample`; empty when it renders."""
    found: dict[str, list[str]] = {}
    for name in ("subject", "body"):
        try:
            _render_text(getattr(wording, name), sample)
        except TemplateProblem as exc:
            found[name] = [str(exc)]
    if "subject" not in found and not wording.subject.strip():
        found["subject"] = ["Enter a subject."]
    return found


class SandboxedWording:
    """The store messages' shipped wording, and rendering in the budgeted sandbox."""

    def default(self, kind: str) -> TemplateText:
        return read(STORE_MESSAGES, kind)

    def render(self, wording: TemplateText, context: Mapping[str, Any]) -> tuple[str, str]:
        return render(wording, context)
