"""Settings from the environment and `.env` (pydantic-settings).

`load_settings()` turns any validation problem into one `ConfigError` line that names the setting,
so start-up never ends in a traceback.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def decode_master_key(text: str) -> bytes:
    """A master key is url-safe base64 of exactly 32 bytes."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("is not url-safe base64") from exc
    if len(raw) != 32:
        raise ValueError(f"decodes to {len(raw)} bytes, expected 32")
    return raw


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'bot.sqlite3'}"
    redis_url: str | None = None
    master_keys: SecretStr | None = None
    master_key_file: Path | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    exchange_api_url: str | None = None
    timeframe: str = "5m"
    default_mode: Literal["paper", "live"] = "paper"
    models_dir: Path = ROOT / "var" / "models"
    compute_backend: Literal["auto", "cpu", "gpu"] = "auto"
    quote_currency: str = "USDT"
    paper_start_balance: Decimal = Decimal("10000")
    cycle_delay_seconds: float = 5.0
    position_watch_seconds: float = 15.0
    user_concurrency: int = Field(default=64, ge=1)
    user_timeout_seconds: float = Field(default=30.0, gt=0)
    retrain_cron_day: str = "sun"
    log_level: str = "INFO"
    api_host: str = "127.0.0.1"
    api_port: int | None = Field(default=None, ge=1, le=65535)  # unset: the HTTP API is off

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                return [int(p) for p in parts]
            except ValueError as exc:
                raise ValueError("must be comma-separated Telegram ids (integers)") from exc
        return value

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        if value not in TIMEFRAMES:
            raise ValueError(f"must be one of {', '.join(TIMEFRAMES)}")
        return value

    @field_validator("master_keys")
    @classmethod
    def _valid_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for i, part in enumerate(p for p in value.get_secret_value().split(",") if p.strip()):
                try:
                    decode_master_key(part)
                except ValueError as exc:
                    raise ValueError(f"key #{i + 1} {exc}") from None
        return value

    @field_validator("telegram_api_url", "exchange_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @field_validator("retrain_cron_day")
    @classmethod
    def _cron_day(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger(day_of_week=value, timezone="UTC")
        except ValueError:
            raise ValueError("must be an APScheduler day_of_week such as sun, mon-fri or 6") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL (e.g. sqlite+aiosqlite:///var/bot.sqlite3)") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"must be SQLite or PostgreSQL, not {url.get_backend_name()}")
        if url.password:  # the URL is a plain str setting: keep its password out of logs
            _redact(str(url.password))
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        if value is not None and (password := urlsplit(value).password):
            _redact(password)
        return value

    def master_key_list(self) -> list[bytes]:
        """The master keys, current first. Raises ConfigError when none is configured."""
        if self.master_keys is not None:
            text = self.master_keys.get_secret_value()
            source = "MASTER_KEYS"
        elif self.master_key_file is not None:
            try:
                text = self.master_key_file.read_text().replace("\n", ",")
            except OSError as exc:
                raise ConfigError(
                    f"MASTER_KEY_FILE: cannot read {self.master_key_file}: {exc.strerror}"
                ) from None
            source = "MASTER_KEY_FILE"
        else:
            raise ConfigError(
                "MASTER_KEYS or MASTER_KEY_FILE must be set (run_bot.py keys generate prints a key)"
            )
        keys = []
        for i, part in enumerate(p for p in text.split(",") if p.strip()):
            try:
                keys.append(decode_master_key(part))
            except ValueError as exc:
                raise ConfigError(f"{source}: key #{i + 1} {exc}") from None
        if not keys:
            raise ConfigError(f"{source}: holds no key")
        _redact(*(p.strip() for p in text.split(",")))
        return keys

    def require_token(self) -> str:
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value().strip():
            raise ConfigError("TELEGRAM_BOT_TOKEN: missing (get one from @BotFather)")
        token = self.telegram_bot_token.get_secret_value()
        _redact(token)  # it is part of every Bot API URL, which HTTP errors may quote
        return token


def _redact(*secrets: str) -> None:
    """Hand secrets read from settings to the log redactor (imported late: config is loaded first)."""
    from core.vault import REDACTOR

    REDACTOR.remember(*secrets)


def load_settings(**overrides: object) -> Settings:
    """Build Settings, or raise ConfigError naming the first bad setting in one line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {msg}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
