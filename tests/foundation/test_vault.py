from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.vault import KeyVault, VaultError, key_version, mask

K1, K2 = os.urandom(32), os.urandom(32)


@given(
    text=st.text(min_size=0, max_size=200),
    user=st.integers(1, 2**40),
    field=st.sampled_from(["api_key", "secret"]),
)
def test_roundtrip(text: str, user: int, field: str) -> None:
    vault = KeyVault([K1])
    sealed = vault.encrypt(text, user_id=user, exchange="binance", field=field)
    assert text.encode() not in sealed.ciphertext or text == ""
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
