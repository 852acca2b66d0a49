"""Customer link tokens (issue 15): a token opens exactly what it was made for, until it
expires; anything else, generated or altered, is refused."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.adapters.customer_links import (
    LINK_MAX_AGE,
    CustomerLinks,
    LinkClaim,
    Verdict,
    email_digest,
    same_digest,
)

KEY = "unit-test-secret-key-0123456789abcdef"
LINKS = CustomerLinks(KEY)

stores = st.integers(min_value=1, max_value=2**31 - 1)
orders = st.from_regex(r"[0-9]{1,18}", fullmatch=True)
emails = st.emails()
versions = st.integers(min_value=1, max_value=10_000)


@settings(max_examples=1000)
@given(stores, orders, emails, versions, stores, orders)
def test_a_token_claims_exactly_its_store_order_address_and_version(
    store: int, order: str, email: str, version: int, other_store: int, other_order: str
) -> None:
    verdict, claim = LINKS.read(LINKS.token(store, order, email, version))
    assert verdict is Verdict.VALID
    assert claim == LinkClaim(store, order, email_digest(KEY, email), version)
    if (other_store, other_order) != (store, order):
        assert (claim.store_id, claim.order_id) != (other_store, other_order)


@settings(max_examples=1000)
@given(st.text(max_size=400))
def test_generated_tokens_are_refused(token: str) -> None:
    assert LINKS.read(token) == (Verdict.INVALID, None)


@settings(max_examples=1000)
@given(stores, orders, emails, st.data())
def test_an_altered_token_is_refused_or_reads_the_same(
    store: int, order: str, email: str, data: st.DataObject
) -> None:
    token = LINKS.token(store, order, email, 1)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    char = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    )
    altered = token[:position] + char + token[position + 1 :]
    verdict, claim = LINKS.read(altered)
    # Base64's last character may carry unused bits: then the bytes, and the claim, are equal.
    assert verdict is Verdict.INVALID or claim == LINKS.read(token)[1]


def test_another_key_and_expiry() -> None:
    token = CustomerLinks("another-secret-key-0123456789abcdef").token(1, "2", "a@b.c", 1)
    assert LINKS.read(token) == (Verdict.INVALID, None)
    mine = LINKS.token(1, "2", "a@b.c", 1)
    later = dt.datetime.now(dt.UTC) + LINK_MAX_AGE + dt.timedelta(minutes=1)
    verdict, claim = LINKS.read(mine, now=later)
    assert verdict is Verdict.EXPIRED and claim is not None and claim.order_id == "2"


def test_the_address_is_compared_trimmed_and_in_any_case_but_is_not_in_the_token() -> None:
    assert same_digest(email_digest(KEY, " Ann@Example.com "), email_digest(KEY, "ann@example.com"))
    assert not same_digest(
        email_digest(KEY, "ann@example.com"), email_digest(KEY, "an@example.com")
    )
    assert "example" not in LINKS.token(1, "2", "ann@example.com", 1)
