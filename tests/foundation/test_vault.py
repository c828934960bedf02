from __future__ import annotations

import logging
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.vault import KeyVault, Redactor, VaultError, key_version, mask

K1, K2 = os.urandom(32), os.urandom(32)


@given(
    text=st.text(min_size=0, max_size=200),
    user=st.integers(1, 2**40),
    field=st.sampled_from(["api_key", "secret"]),
)
def test_roundtrip(text: str, user: int, field: str) -> None:
    vault = KeyVault([K1])
    sealed = vault.encrypt(text, user_id=user, exchange="binance", field=field)
    # a short plaintext can occur in random bytes by chance; a long one must not
    assert len(text.encode()) < 8 or text.encode() not in sealed.ciphertext
    assert (
        vault.decrypt(
            sealed.ciphertext, version=sealed.version, user_id=user, exchange="binance", field=field
        )
        == text
    )


def test_nonces_are_fresh() -> None:
    vault = KeyVault([K1])
    a = vault.encrypt("same", user_id=1, exchange="binance", field="secret")
    b = vault.encrypt("same", user_id=1, exchange="binance", field="secret")
    assert a.ciphertext[:12] != b.ciphertext[:12] and a.ciphertext != b.ciphertext


@pytest.mark.parametrize(
    "where",
    [
        {"user_id": 2, "exchange": "binance", "field": "secret"},
        {"user_id": 1, "exchange": "okx", "field": "secret"},
        {"user_id": 1, "exchange": "binance", "field": "api_key"},
    ],
)
def test_ciphertext_bound_to_its_row(where: dict[str, object]) -> None:
    vault = KeyVault([K1])
    sealed = vault.encrypt("s3cr3t-value", user_id=1, exchange="binance", field="secret")
    with pytest.raises(VaultError, match="wrong key or tampered row") as err:
        vault.decrypt(sealed.ciphertext, version=sealed.version, **where)  # type: ignore[arg-type]
    assert "s3cr3t" not in str(err.value)


def test_tampered_and_wrong_key() -> None:
    vault = KeyVault([K1])
    sealed = vault.encrypt("s3cr3t-value", user_id=1, exchange="binance", field="secret")
    flipped = bytearray(sealed.ciphertext)
    flipped[-1] ^= 1
    with pytest.raises(VaultError, match="tampered"):
        vault.decrypt(bytes(flipped), version=sealed.version, user_id=1, exchange="binance", field="secret")
    with pytest.raises(VaultError, match="not in MASTER_KEYS"):
        KeyVault([K2]).decrypt(
            sealed.ciphertext, version=sealed.version, user_id=1, exchange="binance", field="secret"
        )


def test_old_key_still_decrypts_and_versions_do_not_depend_on_order() -> None:
    old = KeyVault([K1]).encrypt("v", user_id=1, exchange="binance", field="secret")
    rotated = KeyVault([K2, K1])
    assert rotated.current_version == key_version(K2) != old.version
    assert (
        rotated.decrypt(old.ciphertext, version=old.version, user_id=1, exchange="binance", field="secret")
        == "v"
    )
    assert KeyVault([K1, K2]).current_version == old.version


def test_mask() -> None:
    assert mask("ABCDEFGHIJKLMNOP") == "ABCD…MNOP"
    assert mask("short") == "********"


def test_a_secret_only_encrypted_is_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    # the add-keys path: the plaintext comes from a chat message and is sealed, never decrypted here
    secret = f"typed-in-chat-{os.urandom(8).hex()}"
    KeyVault([K1]).encrypt(secret, user_id=9, exchange="binance", field="secret")
    caplog.set_level(logging.INFO)
    logging.getLogger("tradebot.test").info("handler saw %r", {"text": secret})
    assert "[REDACTED]" in caplog.text and secret not in caplog.text


def test_redactor_replaces_longest_first_and_ignores_short_values() -> None:
    r = Redactor()
    r.remember("abcdef", "abcdefghij", "tiny", None)
    assert r.redact("x abcdefghij y abcdef z tiny") == "x [REDACTED] y [REDACTED] z tiny"
    assert r.contains_secret(["..abcdef.."]) and not r.contains_secret(["tiny"])


@given(
    secrets=st.lists(st.text("abcdef0123456789-_:", min_size=6, max_size=40), min_size=1, max_size=80),
    picks=st.lists(st.integers(0, 79), max_size=6),
    filler=st.text(max_size=30),
)
def test_no_remembered_secret_survives_redaction(secrets: list[str], picks: list[int], filler: str) -> None:
    # below and above Redactor.FEW secrets, i.e. through both search strategies
    r = Redactor()
    r.remember(*secrets)
    text = filler.join(secrets[i % len(secrets)] for i in picks) + filler
    redacted = r.redact(text)
    assert all(s not in redacted for s in secrets if s not in filler)


def test_many_secrets_are_redacted_in_place() -> None:
    r = Redactor()
    keys = [f"key{n:05d}-{os.urandom(8).hex()}" for n in range(Redactor.FEW * 3)]
    r.remember(*keys)
    assert r.redact(f"a {keys[0]} b {keys[-1]}{keys[7]} c") == "a [REDACTED] b [REDACTED][REDACTED] c"
