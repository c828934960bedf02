"""Exchange-key vault: AES-GCM under versioned master keys, with log redaction.

A ciphertext is `nonce(12) || AES-GCM(ciphertext+tag)`. The associated data binds the user id, the
exchange, the field name and the key version, so a value copied into another row, field or version
fails to decrypt. A key's version is derived from the key itself (first 4 bytes of its SHA-256), so
reordering MASTER_KEYS never changes which key a row needs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class VaultError(Exception):
    """Decryption failed or no key fits. Messages never contain key material or plaintext."""


def key_version(key: bytes) -> int:
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def _aad(user_id: int, exchange: str, field: str, version: int) -> bytes:
    return f"tradebot/v1|{user_id}|{exchange}|{field}|{version}".encode()


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    version: int


class KeyVault:
    def __init__(self, master_keys: Sequence[bytes]) -> None:
        if not master_keys:
            raise VaultError("no master key configured")
        for key in master_keys:
            if len(key) != 32:
                raise VaultError("a master key must be 32 bytes")
        self._keys = {key_version(k): AESGCM(k) for k in master_keys}
        self.current_version = key_version(master_keys[0])

    def knows(self, version: int) -> bool:
        return version in self._keys

    def encrypt(self, plaintext: str, *, user_id: int, exchange: str, field: str) -> Sealed:
        REDACTOR.remember(plaintext)  # it came from somewhere (a chat message): keep it out of logs too
        nonce = os.urandom(NONCE_BYTES)
        aes = self._keys[self.current_version]
        ct = aes.encrypt(nonce, plaintext.encode(), _aad(user_id, exchange, field, self.current_version))
        return Sealed(nonce + ct, self.current_version)

    def decrypt(self, sealed: bytes, *, version: int, user_id: int, exchange: str, field: str) -> str:
        aes = self._keys.get(version)
        if aes is None:
            raise VaultError(
                f"{field} of user {user_id} on {exchange} is sealed with key version {version}, "
                "which is not in MASTER_KEYS"
            )
        try:
            raw = aes.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(user_id, exchange, field, version)
            )
        except (InvalidTag, ValueError):
            raise VaultError(
                f"{field} of user {user_id} on {exchange} does not decrypt: wrong key or tampered row"
            ) from None
        text = raw.decode()
        REDACTOR.remember(text)
        return text

    def reseal(self, sealed: bytes, *, version: int, user_id: int, exchange: str, field: str) -> Sealed:
        """Re-encrypt under the current key (for rotation)."""
        return self.encrypt(
            self.decrypt(sealed, version=version, user_id=user_id, exchange=exchange, field=field),
            user_id=user_id,
            exchange=exchange,
            field=field,
        )


def mask(secret: str) -> str:
    """First 4 and last 4 characters; short values are fully hidden."""
    if len(secret) < 12:
        return "*" * 8
    return f"{secret[:4]}…{secret[-4:]}"


class Redactor:
    """Replaces every secret the vault handed out (or was given) with a placeholder in log records.

    Installed as the log-record factory, so it covers every logger and handler, including exception
    text, without each handler needing its own filter.
    """

    MIN_LEN = 6
    FEW = 32  # up to this many secrets a plain substring search per secret is the fastest

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        # few secrets: all of them, longest first (a secret containing another is replaced whole)
        self._few: tuple[str, ...] | None = ()
        # many secrets: first MIN_LEN characters -> the secrets starting so, longest first; a text is
        # scanned with one dict look-up per position however many users' keys are known
        self._by_prefix: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._installed = False

    def remember(self, *secrets: str | None) -> None:
        fresh = {s for s in secrets if s and len(s) >= self.MIN_LEN} - self._secrets
        if not fresh:
            return
        with self._lock:
            for secret in fresh - self._secrets:
                self._secrets.add(secret)
                head = secret[: self.MIN_LEN]
                group = (*self._by_prefix.get(head, ()), secret)
                self._by_prefix[head] = tuple(sorted(group, key=len, reverse=True))
            few = len(self._secrets) <= self.FEW
            self._few = tuple(sorted(self._secrets, key=len, reverse=True)) if few else None

    def redact(self, text: str) -> str:
        few = self._few  # snapshots: safe while another thread remembers
        if few is not None:
            for secret in few:
                if secret in text:
                    text = text.replace(secret, "[REDACTED]")
            return text
        index, width = self._by_prefix, self.MIN_LEN
        parts: list[str] = []
        start = i = 0
        last = len(text) - width
        while i <= last:
            for secret in index.get(text[i : i + width], ()):
                if text.startswith(secret, i):
                    parts += (text[start:i], "[REDACTED]")
                    i = start = i + len(secret)
                    break
            else:
                i += 1
        return "".join((*parts, text[start:])) if parts else text

    def contains_secret(self, texts: Iterable[str]) -> bool:
        return any(self.redact(t) != t for t in texts)

    def install(self) -> None:
        if self._installed:
            return
        self._installed = True
        base = logging.getLogRecordFactory()
        redactor = self

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = base(*args, **kwargs)  # type: ignore[arg-type]
            if redactor._secrets:
                try:
                    message = record.getMessage()
                except Exception:  # a bad format string must not hide the record
                    message = str(record.msg)
                record.msg, record.args = redactor.redact(message), None
                if record.exc_info and record.exc_info[1] is not None:
                    import traceback

                    record.exc_text = redactor.redact("".join(traceback.format_exception(*record.exc_info)))
                    record.exc_info = None
            return record

        logging.setLogRecordFactory(factory)


REDACTOR = Redactor()
REDACTOR.install()
