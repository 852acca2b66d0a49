"""Merchant accounts' rules that need no storage: how an e-mail address is spelled when it is
stored and looked up."""

from __future__ import annotations


def normalize_email(email: str) -> str:
    """The spelling an e-mail address is stored and looked up under."""
    return email.strip().lower()
