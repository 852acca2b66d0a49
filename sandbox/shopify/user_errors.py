"""Mutation refusals: Shopify answers them in the payload's ``userErrors``, not as errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One user error: the input path, the message and (for most payloads) a code."""

    field: list[str] | None
    message: str
    code: str | None = None
    element_index: int | None = None  # MetafieldsSetUserError.elementIndex

    def as_dict(self) -> dict[str, Any]:
        """The userErrors entry (types without ``code`` or ``elementIndex`` ignore them)."""
        return {
            "field": self.field,
            "message": self.message,
            "code": self.code,
            "elementIndex": self.element_index,
        }


class UserErrors(Exception):  # noqa: N818 - Shopify's own name for them
    """Raised by a shop operation before it changes anything."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


def refuse(field: list[str] | None, message: str, code: str | None = None) -> UserErrors:
    """A UserErrors with one problem."""
    return UserErrors(Problem(field, message, code))
