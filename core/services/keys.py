"""Exchange-key onboarding: validate, check with a real exchange call, seal with the vault, store masked.

Plaintext keys exist only in the arguments of these calls; between the bot's FSM steps they travel
sealed (AES-GCM, bound to the user, exchange and field), never as plaintext.
"""

from __future__ import annotations

import base64
import logging
import re
import string
from dataclasses import dataclass
from typing import Any

import ccxt.async_support as ccxt
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import AuditLog, ExchangeAccount, User
from core.services.errors import UserError
from core.services.exchanges import EXCHANGES, ClientFactory
from core.services.l10n import N_
from core.vault import REDACTOR, KeyVault, Sealed, mask

log = logging.getLogger(__name__)

FIELDS = ("api_key", "secret", "passphrase")  # also the vault's AAD field names for ExchangeAccount rows
_ALLOWED = set(string.ascii_letters + string.digits + string.punctuation)


def validate_key_text(text: str | None, field: str) -> str:
    """A key, secret or passphrase: one token of printable ASCII. The text is never echoed back."""
    value = (text or "").strip()
    ok = 1 <= len(value) <= 128 if field == "passphrase" else 8 <= len(value) <= 512
    if not ok or not set(value) <= _ALLOWED:
        if field == "api_key":
            raise UserError(
                N_("That does not look like an API key. Paste the key exactly as the exchange shows it.")
            )
        if field == "secret":
            raise UserError(
                N_("That does not look like an API secret. Paste it exactly as the exchange shows it.")
            )
        raise UserError(N_("That does not look like a passphrase. Send the passphrase you set for this key."))
    REDACTOR.remember(value)
    return value


_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_\-+/=]{24,512}")


def looks_like_secret(text: str | None) -> bool:
    """One long token of key characters with letters and digits: what an API key or secret looks like.
    Such a message outside the /keys steps is deleted rather than left in the chat."""
    value = (text or "").strip()
    return (
        bool(_SECRET_SHAPE.fullmatch(value))
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def exchange_info(exchange: str) -> Any:
    info = EXCHANGES.get(exchange)
    if info is None:
        raise UserError(N_("Unknown exchange."))
    return info


def seal(vault: KeyVault, user_id: int, exchange: str, field: str, value: str) -> dict[str, Any]:
    """A JSON-safe sealed value, for FSM data between onboarding steps."""
    sealed = vault.encrypt(value, user_id=user_id, exchange=exchange, field=field)
    return {"ct": base64.b64encode(sealed.ciphertext).decode(), "v": sealed.version}


def sealed_from_box(box: dict[str, Any]) -> Sealed:
    return Sealed(base64.b64decode(box["ct"]), int(box["v"]))


def make_exchange_client(
    factory: ClientFactory, exchange: str, api_url: str | None, **credentials: str | None
) -> Any:
    """A client, or a UserError when this installation cannot reach that exchange (e.g. the sandbox
    speaks only Binance's dialect)."""
    try:
        return factory(exchange, api_url=api_url, **credentials)
    except ValueError:
        raise UserError(N_("This exchange is not available on this installation.")) from None


@dataclass(frozen=True)
class KeyCheck:
    """What the exchange said about a key; `quote_free` is the free quote balance, if reported."""

    can_withdraw: bool
    can_trade: bool
    quote_free: Any


async def check_key(
    factory: ClientFactory,
    exchange: str,
    api_key: str,
    secret: str,
    passphrase: str | None,
    api_url: str | None,
    quote: str = "USDT",
) -> KeyCheck:
    """One real balance call; on Binance also apiRestrictions. Raises UserError for any refusal."""
    client = make_exchange_client(
        factory, exchange, api_url, api_key=api_key, secret=secret, password=passphrase
    )
    try:
        balance = await client.fetch_balance()
        can_withdraw, can_trade = False, True
        if exchange == "binance":
            restrictions = await client.sapi_get_account_apirestrictions()
            can_withdraw = bool(restrictions.get("enableWithdrawals"))
            can_trade = bool(restrictions.get("enableSpotAndMarginTrading", True))
    except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
        log.info("key check for %s refused: %s", exchange, type(exc).__name__)
        raise UserError(
            N_("The exchange rejected this key. Check that you copied the key and secret correctly.")
        ) from None
    except ccxt.NetworkError as exc:
        log.warning("key check for %s: exchange unreachable: %s", exchange, type(exc).__name__)
        raise UserError(
            N_("Could not reach the exchange to check the key. Please try again later.")
        ) from None
    except ccxt.BaseError as exc:
        log.info("key check for %s failed: %s", exchange, type(exc).__name__)
        raise UserError(N_("The exchange did not accept this key: it could not read the balance.")) from None
    finally:
        await client.close()
    return KeyCheck(can_withdraw, can_trade, (balance.get("free") or {}).get(quote))


async def save_keys(
    session: AsyncSession,
    vault: KeyVault,
    user: User,
    exchange: str,
    sealed: dict[str, Sealed],
) -> ExchangeAccount:
    """Insert or replace the user's account for this exchange with already-sealed fields."""
    api_key = vault.decrypt(
        sealed["api_key"].ciphertext,
        version=sealed["api_key"].version,
        user_id=user.id,
        exchange=exchange,
        field="api_key",
    )
    account = await session.scalar(
        select(ExchangeAccount).where(
            ExchangeAccount.user_id == user.id, ExchangeAccount.exchange == exchange
        )
    )
    if account is None:
        account = ExchangeAccount(user_id=user.id, exchange=exchange)
        session.add(account)
    account.api_key_enc = sealed["api_key"].ciphertext
    account.secret_enc = sealed["secret"].ciphertext
    passphrase = sealed.get("passphrase")
    account.passphrase_enc = passphrase.ciphertext if passphrase else None
    # one vault key version for the row: every field was sealed in the same onboarding under the current key
    account.key_version = sealed["api_key"].version
    account.api_key_masked = mask(api_key)
    account.valid = True
    account.invalid_reason = None
    session.add(
        AuditLog(user_id=user.id, actor=user.telegram_id, action="keys_saved", details={"exchange": exchange})
    )
    await session.flush()
    return account


def open_sealed(vault: KeyVault, user_id: int, exchange: str, sealed: dict[str, Sealed]) -> dict[str, str]:
    return {
        field: vault.decrypt(
            box.ciphertext, version=box.version, user_id=user_id, exchange=exchange, field=field
        )
        for field, box in sealed.items()
    }


def account_credentials(vault: KeyVault, account: ExchangeAccount) -> dict[str, str | None]:
    """Plaintext credentials of a stored account, for the one call that needs them."""

    def field(name: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return vault.decrypt(
            blob, version=account.key_version, user_id=account.user_id, exchange=account.exchange, field=name
        )

    return {
        "api_key": field("api_key", account.api_key_enc),
        "secret": field("secret", account.secret_enc),
        "password": field("passphrase", account.passphrase_enc),
    }


async def list_accounts(session: AsyncSession, user_id: int) -> list[ExchangeAccount]:
    rows = await session.scalars(
        select(ExchangeAccount).where(ExchangeAccount.user_id == user_id).order_by(ExchangeAccount.exchange)
    )
    return list(rows)


async def owned_account(session: AsyncSession, user_id: int, account_id: int) -> ExchangeAccount:
    """The account only if it belongs to this user; anything else is 'not found' (no existence leak)."""
    account = await session.scalar(
        select(ExchangeAccount).where(ExchangeAccount.id == account_id, ExchangeAccount.user_id == user_id)
    )
    if account is None:
        raise UserError(N_("These keys were not found. Open /keys to see yours."))
    return account


async def delete_account(session: AsyncSession, user: User, account_id: int) -> str:
    account = await owned_account(session, user.id, account_id)
    exchange = account.exchange
    await session.execute(
        delete(ExchangeAccount).where(ExchangeAccount.id == account.id, ExchangeAccount.user_id == user.id)
    )
    session.add(
        AuditLog(
            user_id=user.id, actor=user.telegram_id, action="keys_deleted", details={"exchange": exchange}
        )
    )
    return exchange


async def primary_account(session: AsyncSession, user_id: int) -> ExchangeAccount | None:
    """The account live mode trades on: the most recently updated valid one."""
    return await session.scalar(
        select(ExchangeAccount)
        .where(ExchangeAccount.user_id == user_id, ExchangeAccount.valid.is_(True))
        .order_by(ExchangeAccount.updated_at.desc(), ExchangeAccount.id.desc())
        .limit(1)
    )
