"""WooCommerce webhook signatures against the official vectors and hostile inputs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.platforms.woocommerce.signature import decode_secret, sign, verify
from tests.examples import examples

VECTORS = (
    Path(__file__).resolve().parents[4] / ".." / "shared" / "reference" / "signature-vectors.json"
)


def _woocommerce_vectors() -> list[dict[str, str]]:
    if not VECTORS.exists():
        return []
    data = json.loads(VECTORS.read_text())
    return [v for v in data["vectors"] if v["platform"] == "woocommerce"]


WC_VECTORS = _woocommerce_vectors()


@pytest.mark.skipif(not WC_VECTORS, reason="../shared/reference/signature-vectors.json absent")
@pytest.mark.parametrize("vector", WC_VECTORS, ids=lambda v: v["source"][-40:])
def test_official_vectors_sign_and_verify(vector: dict[str, str]) -> None:
    body = vector["body"].encode("utf-8")
    assert sign(vector["secret"], body) == vector["signature"]
    assert verify(vector["secret"], body, vector["signature"]) is True


def test_reference_has_the_woocommerce_vector() -> None:
    if not VECTORS.exists():
        pytest.skip("../shared/reference/signature-vectors.json absent")
    assert [v["signature"] for v in WC_VECTORS] == ["GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs="]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "not base64 at all!",
        "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs",  # missing padding
        "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPt=",  # same digest, non-canonical padding bits
        "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs==",  # extra padding
        "HBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=",  # one character off
        base64.b64encode(b"short").decode(),
        "é",  # non-ASCII
        "AAAA" * 200,
    ],
)
def test_wrong_or_garbage_signatures_are_false(header: str | None) -> None:
    assert verify("", b"secret", header) is False


def test_wrong_secret_and_wrong_body_are_false() -> None:
    good = sign("s3cret", b'{"id": 1}')
    assert verify("s3cret", b'{"id": 1}', good) is True
    assert verify("other", b'{"id": 1}', good) is False
    assert verify("s3cret", b'{"id": 2}', good) is False
    assert verify("s3cret", b'{"id": 1} ', good) is False


def test_secret_is_entity_decoded_like_wp_specialchars_decode() -> None:
    # WooCommerce stores the secret sanitised and decodes it with wp_specialchars_decode before
    # signing; only &, <, >, ", ' are decoded, one pass, numeric forms normalised first.
    assert decode_secret("a&amp;b&lt;c&gt;d&quot;e&#039;f") == "a&b<c>d\"e'f"
    assert (
        decode_secret("&#39;&#x27;&#X27;&#0039;&#34;&#x22;&#60;&#062;&#38;&#x26;") == "''''\"\"<>&&"
    )
    assert decode_secret("&amp;lt;") == "&lt;"  # single pass, like PHP strtr
    assert decode_secret("&eacute;&nbsp;&#233;") == "&eacute;&nbsp;&#233;"  # not full unescape
    body = b'{"id": 7}'
    expected = base64.b64encode(hmac.new(b"p&ss", body, hashlib.sha256).digest()).decode()
    assert sign("p&amp;ss", body) == expected
    assert verify("p&amp;ss", body, expected) is True


@settings(max_examples=examples(60))
@given(secret=st.text(max_size=40), body=st.binary(max_size=200))
def test_sign_then_verify_roundtrip(secret: str, body: bytes) -> None:
    signature = sign(secret, body)
    assert verify(secret, body, signature) is True
    assert verify(secret, body + b"x", signature) is False


@settings(max_examples=examples(60))
@given(header=st.text(max_size=80))
def test_verify_never_raises(header: str) -> None:
    assert verify("k", b"body", header) in (True, False)
