"""The schema. Every per-user row carries `user_id`; money is `Money` (Decimal), never float."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.types import Money, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        Decimal: Money(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Mode(enum.StrEnum):
    paper = "paper"
    live = "live"


class OrderStatus(enum.StrEnum):
    pending = "pending"  # written before sending; the exchange may or may not have it
    open = "open"
    closed = "closed"  # fully filled
    canceled = "canceled"
    rejected = "rejected"  # the exchange refused it; nothing was placed


class PositionStatus(enum.StrEnum):
    open = "open"
    closed = "closed"


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    blocked = "blocked"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


def _user_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    mode: Mapped[Mode] = mapped_column(_enum(Mode), default=Mode.paper)
    trading_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # trade_off with "keep managing exits": no new entries, stops and targets still run
    exits_only: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once they block the bot
    deposit: Mapped[Decimal | None]
    risk_per_trade_pct: Mapped[Decimal] = mapped_column(Money(), default=Decimal("1"))
    max_open_positions: Mapped[int] = mapped_column(Integer, default=5)
    max_symbol_share_pct: Mapped[Decimal] = mapped_column(Money(), default=Decimal("25"))
    daily_loss_limit_pct: Mapped[Decimal] = mapped_column(Money(), default=Decimal("5"))
    strategies: Mapped[list[Any]] = mapped_column(JSON, default=lambda: ["sma_cross"])
    daily_loss_notified_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ExchangeAccount(Base):
    __tablename__ = "exchange_accounts"
    __table_args__ = (UniqueConstraint("user_id", "exchange"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    exchange: Mapped[str] = mapped_column(String(32))
    api_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    passphrase_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_version: Mapped[int] = mapped_column(BigInteger)
    api_key_masked: Mapped[str] = mapped_column(String(32))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    invalid_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Position(Base):
    __tablename__ = "positions"
    __table_args__ = (Index("ix_positions_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    mode: Mapped[Mode] = mapped_column(_enum(Mode))
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8), default="long")  # long | short (short: later)
    status: Mapped[PositionStatus] = mapped_column(_enum(PositionStatus), default=PositionStatus.open)
    amount: Mapped[Decimal]  # still open, in base currency
    initial_amount: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    stop_price: Mapped[Decimal | None]
    initial_stop: Mapped[Decimal | None]
    # the take-profit ladder: [{"price": "...", "fraction": "0.5", "done": false}, ...]
    targets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    trail_active: Mapped[bool] = mapped_column(Boolean, default=False)
    high_water: Mapped[Decimal | None]
    realized_pnl: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    fees: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    exit_price: Mapped[Decimal | None]
    strategy: Mapped[str | None] = mapped_column(String(64))
    signal_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id", ondelete="SET NULL"))
    mode: Mapped[Mode] = mapped_column(_enum(Mode))
    exchange: Mapped[str] = mapped_column(String(32))
    client_order_id: Mapped[str] = mapped_column(String(36), unique=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))  # buy | sell
    type: Mapped[str] = mapped_column(String(8), default="market")
    leg: Mapped[str] = mapped_column(String(32))  # entry | tp1 | stop | trail | manual ...
    signal_id: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal]
    price: Mapped[Decimal | None]
    # an entry's planned stop, so a fill recovered after a crash gets the stop it was sized for
    stop_price: Mapped[Decimal | None]
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), default=OrderStatus.pending)
    filled: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    average: Mapped[Decimal | None]
    cost: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    fee: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Fill(Base):
    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("order_id", "trade_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    trade_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal]
    amount: Mapped[Decimal]
    fee: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(default=utcnow)


class PaperBalance(Base):
    __tablename__ = "paper_balances"
    __table_args__ = (UniqueConstraint("user_id", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    currency: Mapped[str] = mapped_column(String(16))
    free: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    used: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))


class EquitySnapshot(Base):
    """One point of a user's equity curve, for /pnl charts."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (Index("ix_equity_user_ts", "user_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    equity: Mapped[Decimal]
    realized_pnl: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))


class BlacklistEntry(Base):
    __tablename__ = "signal_blacklist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), unique=True)
    reason: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_range: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A notification written in the same transaction as its event; a sender delivers it."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    photo_path: Mapped[str | None] = mapped_column(String(512))
    # a stable key makes writing the same event twice a no-op
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[int | None] = mapped_column(BigInteger)  # telegram id of who did it
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A key for the HTTP API; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class CycleRun(Base):
    """One trading cycle's timings and counters, for /stats and the API."""

    __tablename__ = "cycle_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    candle_time: Mapped[datetime | None]
    stage_seconds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    symbols: Mapped[int] = mapped_column(Integer, default=0)
    users_processed: Mapped[int] = mapped_column(Integer, default=0)
    orders_sent: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
