"""`keys rotate` and `keys check` over every stored exchange account.

Rotation re-encrypts rows whose key version is not the current one, a batch per transaction, so
it can be interrupted at any point and run again: finished rows are already current and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import ExchangeAccount
from core.vault import KeyVault, VaultError

FIELDS = ("api_key", "secret", "passphrase")


@dataclass
class KeyReport:
    checked: int = 0
    rotated: int = 0
    failures: list[str] = field(default_factory=list)


def _fields(account: ExchangeAccount) -> dict[str, bytes]:
    values = {
        "api_key": account.api_key_enc,
        "secret": account.secret_enc,
        "passphrase": account.passphrase_enc,
    }
    return {name: blob for name, blob in values.items() if blob is not None}


async def rotate(
    sessionmaker: async_sessionmaker[AsyncSession], vault: KeyVault, batch_size: int = 200
) -> KeyReport:
    report = KeyReport()
    last_id = 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = (
                await session.scalars(
                    select(ExchangeAccount)
                    .where(ExchangeAccount.id > last_id, ExchangeAccount.key_version != vault.current_version)
                    .order_by(ExchangeAccount.id)
                    .limit(batch_size)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return report
            for account in rows:
                last_id = account.id
                report.checked += 1
                try:
                    sealed = {
                        name: vault.reseal(
                            blob,
                            version=account.key_version,
                            user_id=account.user_id,
                            exchange=account.exchange,
                            field=name,
                        )
                        for name, blob in _fields(account).items()
                    }
                except VaultError as exc:
                    report.failures.append(f"account {account.id}: {exc}")
                    continue
                account.api_key_enc = sealed["api_key"].ciphertext
                account.secret_enc = sealed["secret"].ciphertext
                if "passphrase" in sealed:
                    account.passphrase_enc = sealed["passphrase"].ciphertext
                account.key_version = vault.current_version
                report.rotated += 1


async def check(sessionmaker: async_sessionmaker[AsyncSession], vault: KeyVault) -> KeyReport:
    report = KeyReport()
    async with sessionmaker() as session:
        result = await session.stream_scalars(select(ExchangeAccount).order_by(ExchangeAccount.id))
        async for account in result:
            report.checked += 1
            for name, blob in _fields(account).items():
                try:
                    vault.decrypt(
                        blob,
                        version=account.key_version,
                        user_id=account.user_id,
                        exchange=account.exchange,
                        field=name,
                    )
                except VaultError as exc:
                    report.failures.append(f"account {account.id}: {exc}")
    return report
