"""Signed links to a customer's order page (issue 15): no account, an unguessable token.

A token names a store, the order the customer placed, a keyed digest of the customer's e-mail
and the order's link version, signed with the app's SECRET_KEY (itsdangerous, HMAC-SHA256; its
signature check is constant-time, `hmac.compare_digest`) and timestamped, so it expires after
`LINK_MAX_AGE`. The page then checks that the store's record of the order has the same version
(the merchant raises it to revoke every link sent before) and e-mail digest, and that the order
still has that e-mail; the digest is compared with `hmac.compare_digest` too. The token holds
no e-mail address, only its digest, so a link seen in a log reveals no address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeTimedSerializer

LINK_MAX_AGE = dt.timedelta(days=120)  # a backorder may wait months; every notice sends anew
_SALT = "backorders/customer-link/v1"
_DIGEST_INFO = b"backorders/customer-email/v1"
MAX_TOKEN_LENGTH = 400


class Verdict(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"  # signed by us, too old: the page offers a new link
    INVALID = "invalid"  # not ours, altered, or not a token at all


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says: checked against the store's records before use."""

    store_id: int
    order_id: str
    email_digest: str
    version: int


def email_digest(secret_key: str, email: str) -> str:
    """A keyed digest of an e-mail address (trimmed, lower case): equal addresses, equal
    digests; the address cannot be read back from it nor guessed without the key."""
    key = hmac.new(secret_key.encode(), _DIGEST_INFO, hashlib.sha256).digest()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def same_digest(left: str, right: str) -> bool:
    """Constant-time equality of two digests."""
    return hmac.compare_digest(left.encode(), right.encode())


class CustomerLinks:
    """Makes and reads customer link tokens with one SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("customer links need a non-empty secret key")
        self._secret_key = secret_key
        self._serializer = URLSafeTimedSerializer(
            secret_key, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def digest(self, email: str) -> str:
        return email_digest(self._secret_key, email)

    def token(self, store_id: int, order_id: str, email: str, version: int) -> str:
        """A new token for the customer `email` of order `order_id` of store `store_id`."""
        return str(self._serializer.dumps([store_id, str(order_id), self.digest(email), version]))

    def read(
        self, token: str, *, now: dt.datetime | None = None
    ) -> tuple[Verdict, LinkClaim | None]:
        """The verdict on `token` and, when it is valid or only expired, what it claims.

        An expired token's claim is returned so the page can offer a new link for that order;
        it opens nothing by itself."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return Verdict.INVALID, None
        try:
            payload, signed_at = self._serializer.loads(token, return_timestamp=True)
        except BadSignature:  # BadPayload included: signed by us but not our shape
            return Verdict.INVALID, None
        claim = _claim(payload)
        if claim is None:
            return Verdict.INVALID, None
        if (now or dt.datetime.now(dt.UTC)) - signed_at > LINK_MAX_AGE:
            return Verdict.EXPIRED, claim
        return Verdict.VALID, claim


def _claim(payload: object) -> LinkClaim | None:
    if not isinstance(payload, list) or len(payload) != 4:
        return None
    store_id, order_id, digest, version = payload
    if not (
        isinstance(store_id, int)
        and not isinstance(store_id, bool)
        and isinstance(order_id, str)
        and isinstance(digest, str)
        and isinstance(version, int)
        and not isinstance(version, bool)
    ):
        return None
    return LinkClaim(store_id, order_id, digest, version)
