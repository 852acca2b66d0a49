"""WooCommerce webhook signatures: base64(HMAC-SHA256(secret, raw body)).

WooCommerce signs with `hash_hmac('sha256', $payload, wp_specialchars_decode($secret, ENT_QUOTES))`
and sends the base64 digest in `X-WC-Webhook-Signature` (woocommerce/woocommerce
`plugins/woocommerce/includes/class-wc-webhook.php`, `generate_signature`; facts summarised in
../shared/reference/woocommerce/README.md). The secret is therefore HTML-entity decoded the way
WordPress's `wp_specialchars_decode` does it, which is NOT a full HTML unescape: only the five
special characters (&, <, >, ", ') in their named, decimal and hexadecimal forms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

# wp_specialchars_decode (WordPress wp-includes/formatting.php) first normalises zero-padded numeric
# entities, then replaces the fixed table below in one pass (PHP strtr: longest match first, no
# re-scanning, so "&amp;lt;" becomes "&lt;", not "<").
_NORMALISE = (
    (re.compile(r"&#0*39;"), "&#039;"),
    (re.compile(r"&#x0*27;", re.IGNORECASE), "&#x27;"),
    (re.compile(r"&#0*34;"), "&#034;"),
    (re.compile(r"&#x0*22;", re.IGNORECASE), "&#x22;"),
    (re.compile(r"&#0*60;"), "&#060;"),
    (re.compile(r"&#0*62;"), "&#062;"),
    (re.compile(r"&#0*38;"), "&#038;"),
    (re.compile(r"&#x0*26;", re.IGNORECASE), "&#x26;"),
)
_TABLE = {
    "&#039;": "'",
    "&#x27;": "'",
    "&quot;": '"',
    "&#034;": '"',
    "&#x22;": '"',
    "&lt;": "<",
    "&#060;": "<",
    "&gt;": ">",
    "&#062;": ">",
    "&amp;": "&",
    "&#038;": "&",
    "&#x26;": "&",
}
_TABLE_RE = re.compile("|".join(re.escape(k) for k in sorted(_TABLE, key=len, reverse=True)))


def decode_secret(secret: str) -> str:
    """The secret as WooCommerce uses it as HMAC key (wp_specialchars_decode, ENT_QUOTES)."""
    if "&" not in secret:
        return secret
    for pattern, replacement in _NORMALISE:
        secret = pattern.sub(replacement, secret)
    return _TABLE_RE.sub(lambda match: _TABLE[match.group(0)], secret)


def sign(secret: str, body: bytes) -> str:
    """The `X-WC-Webhook-Signature` value WooCommerce sends for `body`."""
    key = decode_secret(secret).encode("utf-8")
    digest = hmac.new(key, body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, body: bytes, signature_header: str | None) -> bool:
    """True when `signature_header` is WooCommerce's signature of `body`; never raises."""
    if not isinstance(signature_header, str) or not signature_header:
        return False
    try:
        received = signature_header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    # Compare the canonical base64 text, not decoded bytes: a decoder would accept variants of the
    # same digest (non-zero padding bits, missing padding). Constant time; a different length
    # simply compares unequal.
    return hmac.compare_digest(sign(secret, body).encode("ascii"), received)
