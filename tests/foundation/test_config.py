from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name in {
            "TELEGRAM_BOT_TOKEN",
            "MASTER_KEYS",
            "MASTER_KEY_FILE",
            "ADMIN_IDS",
            "TIMEFRAME",
            "REDIS_URL",
        }:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TIMEFRAME": "7m"}, "TIMEFRAME"),
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"MASTER_KEYS": "not-a-key"}, "MASTER_KEYS"),
        ({"DEFAULT_MODE": "yolo"}, "DEFAULT_MODE"),
        ({"EXCHANGE_API_URL": "localhost:1"}, "EXCHANGE_API_URL"),
        ({"USER_CONCURRENCY": "0"}, "USER_CONCURRENCY"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"RETRAIN_CRON_DAY": "funday"}, "RETRAIN_CRON_DAY"),
    ],
)
def test_malformed_setting_is_named(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(f"{named}:")
    assert "\n" not in str(err.value)


def test_defaults_and_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 2,3")
    monkeypatch.setenv("MASTER_KEYS", f"{KEY},{base64.urlsafe_b64encode(b'o' * 32).decode()}")
    monkeypatch.setenv("REDIS_URL", "")  # empty means unset, as in .env.example
    s = load_settings()
    assert s.admin_ids == [1, 2, 3]
    assert s.master_key_list() == [b"k" * 32, b"o" * 32]
    assert s.redis_url is None
    assert s.default_mode == "paper"
    assert s.database_url.startswith("sqlite+aiosqlite:///") and "var" in s.database_url
    assert KEY not in repr(s)  # SecretStr


def test_master_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"{KEY}\n")
    monkeypatch.setenv("MASTER_KEY_FILE", str(path))
    assert load_settings().master_key_list() == [b"k" * 32]
    monkeypatch.setenv("MASTER_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="^MASTER_KEY_FILE: cannot read"):
        load_settings().master_key_list()


def test_missing_token_is_one_line() -> None:
    with pytest.raises(ConfigError, match="^TELEGRAM_BOT_TOKEN: missing"):
        load_settings().require_token()


def test_token_and_master_keys_handed_out_are_redacted_from_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token, key = f"98765:{os.urandom(12).hex()}", base64.urlsafe_b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    monkeypatch.setenv("MASTER_KEYS", key)
    s = load_settings()
    s.require_token()
    s.master_key_list()
    caplog.set_level(logging.INFO)
    logging.getLogger("tradebot.test").error(
        "GET https://api.telegram.org/bot%s/getMe failed; key %s", token, key
    )
    assert "bot[REDACTED]/getMe" in caplog.text and token not in caplog.text and key not in caplog.text


def test_passwords_in_service_urls_are_redacted_from_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db_pw, redis_pw = f"dbpw{os.urandom(6).hex()}", f"rpw{os.urandom(6).hex()}"
    monkeypatch.setenv("DATABASE_URL", f"postgresql+asyncpg://bot:{db_pw}@db:5432/bot")
    monkeypatch.setenv("REDIS_URL", f"redis://:{redis_pw}@cache:6379/0")
    s = load_settings()
    caplog.set_level(logging.INFO)
    logging.getLogger("tradebot.test").info("settings %r", s)
    assert db_pw not in caplog.text and redis_pw not in caplog.text and "[REDACTED]" in caplog.text


def test_env_example_documents_every_setting() -> None:
    from core.config import Settings

    documented = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert {name.upper() for name in Settings.model_fields} == documented


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in {"MASTER_KEYS", "TIMEFRAME"}}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "run_bot.py"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_bad_setting_is_one_line_without_traceback() -> None:
    res = _cli("db", "current", env={"TIMEFRAME": "7m"})
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "configuration error: TIMEFRAME: must be one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 12h, 1d"
    ]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["sandbox"],
        ["backtest"],
        ["train"],
        ["worker"],
        ["db"],
        ["db", "upgrade"],
        ["db", "downgrade"],
        ["db", "current"],
        ["db", "revision"],
        ["keys"],
        ["keys", "generate"],
        ["keys", "rotate"],
        ["keys", "check"],
        ["models"],
        ["models", "list"],
        ["models", "activate"],
        ["models", "rollback"],
        ["apikey"],
        ["apikey", "create"],
        ["apikey", "revoke"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    res = _cli(*command, "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: run_bot.py")


def test_keys_generate_prints_a_valid_key() -> None:
    res = _cli("keys", "generate")
    assert res.returncode == 0
    assert len(base64.urlsafe_b64decode(res.stdout.strip())) == 32
