"""What is guessed first: a short block repeated, a run of consecutive characters, the
commonest passwords. Checked for SECRET_KEY (plugin/config.py) and merchants' passwords
(plugin/usecases/accounts.py), following NIST SP 800-63B 5.1.1.2: no composition rules, but refuse
values from lists of commonly used or expected ones."""

from __future__ import annotations

import re

# Words at the heart of the passwords people choose most often, and this product's own names.
# A password is refused when it is one of them, possibly followed by digits and symbols
# ("Summer2026!", "password123"). Written for this project from common knowledge.
COMMON_WORDS = frozenset(
    {
        "password", "passw0rd", "p@ssword", "p@ssw0rd", "qwerty", "qwertyuiop", "qwertz",
        "azerty", "asdfgh", "asdfghjkl", "zxcvbnm", "letmein", "welcome", "iloveyou", "admin",
        "administrator", "monkey", "dragon", "football", "baseball", "soccer", "sunshine",
        "princess", "shadow", "master", "superman", "batman", "trustno1", "whatever",
        "starwars", "computer", "hello", "helloworld", "freedom", "secret", "changeme",
        "default", "login", "abc", "abcd", "abc123", "summer", "winter", "spring", "autumn",
        "christmas", "love", "lovely", "test", "testing", "guest", "user", "root", "shop",
        "store", "myshop", "mystore", "business", "company", "backorder", "backorders",
        "woocommerce", "wordpress", "shopify",
    }
)  # fmt: skip
_TRAILING_DIGITS_AND_SYMBOLS = re.compile(r"[\W\d_]+$")


def repeats_a_block(text: str) -> bool:
    """True when `text` is one shorter block over and over (`aaaa`, `abcabc`, `k3y!k3y!`)."""
    return any(
        text == (text[:size] * len(text))[: len(text)] for size in range(1, len(text) // 2 + 1)
    )


def mostly_consecutive(text: str) -> bool:
    """True when most neighbouring characters are consecutive (`abcdef`, `987654`)."""
    steps = sum(1 for a, b in zip(text, text[1:], strict=False) if abs(ord(a) - ord(b)) == 1)
    return steps * 2 > len(text)


def is_common_password(password: str) -> bool:
    """True for one of COMMON_WORDS, alone or followed by digits and symbols."""
    folded = password.strip().lower()
    if folded in COMMON_WORDS or folded.isdigit():
        return True
    return _TRAILING_DIGITS_AND_SYMBOLS.sub("", folded) in COMMON_WORDS | {""}
