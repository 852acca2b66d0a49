"""How the rules count units in the sentences they explain themselves with."""

from __future__ import annotations


def units(count: int) -> str:
    """`1 unit`, `3 units`."""
    return "1 unit" if count == 1 else f"{count} units"


def counted(count: int, noun: str) -> str:
    """`1 item`, `3 items`; `counted(2, "reserved unit")` is `2 reserved units`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def all_units(count: int, verb: tuple[str, str] = ("", "")) -> str:
    """`the 1 unit`, `all 3 units`, followed by the verb agreeing with the count, given as
    (singular, plural): `all_units(1, ("is", "are"))` is `the 1 unit is`."""
    singular, plural = verb
    text = "the 1 unit" if count == 1 else f"all {count} units"
    agreeing = singular if count == 1 else plural
    return f"{text} {agreeing}" if agreeing else text


def agree(count: int, singular: str, plural: str) -> str:
    """The verb agreeing with `count`: `agree(1, "goes", "go")` is `goes`."""
    return singular if count == 1 else plural
