from __future__ import annotations

import pytest

from plugin.adapters.vault import DecryptionFailed, Vault


def test_round_trip_and_ciphertext_hides_plaintext() -> None:
    vault = Vault("unit-test-secret-key-abcdefghij")
    secret = "cs_0123456789abcdef-ünïcode"
    token = vault.encrypt(secret)
    assert vault.decrypt(token) == secret
    assert secret not in token
    assert "cs_0123456789abcdef" not in token
    assert vault.encrypt(secret) != token  # a fresh IV every time


def test_same_secret_key_decrypts_across_instances() -> None:
    token = Vault("unit-test-secret-key-abcdefghij").encrypt("hello")
    assert Vault("unit-test-secret-key-abcdefghij").decrypt(token) == "hello"


def test_other_key_or_tampering_fails_with_reason() -> None:
    token = Vault("unit-test-secret-key-abcdefghij").encrypt("hello")
    with pytest.raises(DecryptionFailed) as caught:
        Vault("another-secret-key-abcdefghijkl").decrypt(token)
    assert caught.value.reason == "decryption_failed"
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(DecryptionFailed):
        Vault("unit-test-secret-key-abcdefghij").decrypt(tampered)
    with pytest.raises(DecryptionFailed):
        Vault("unit-test-secret-key-abcdefghij").decrypt("not a token ✗")


def test_repr_hides_key() -> None:
    assert "abcdefghij" not in repr(Vault("unit-test-secret-key-abcdefghij"))
    with pytest.raises(ValueError):
        Vault("")
