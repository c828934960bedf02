#!/usr/bin/env python
"""The one entry point: `run` (default), `sandbox`, `backtest`, `train`, `db ...`, `keys ...`, `worker`.

Only this file wires the layers together (core, gpu, ml, bot, sandbox).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.config import ConfigError, load_settings

Handler = Callable[[argparse.Namespace], int]


class NotBuiltYet(Exception):
    pass


# ---------------------------------------------------------------- db
def cmd_db(args: argparse.Namespace) -> int:
    from migrations import cli

    url = args.database_url or load_settings().database_url
    if args.db_command == "upgrade":
        cli.upgrade(url, args.revision)
        print(f"database at revision {cli.current(url)}")
    elif args.db_command == "downgrade":
        cli.downgrade(url, args.revision)
        print(f"database at revision {cli.current(url) or 'base'}")
    elif args.db_command == "current":
        rev = cli.current(url)
        print(f"{rev or 'base (empty)'}; head is {cli.head()}")
    elif args.db_command == "revision":
        cli.revision(url, args.message, autogenerate=not args.empty)
    return 0


# ---------------------------------------------------------------- keys
def cmd_keys(args: argparse.Namespace) -> int:
    if args.keys_command == "generate":
        print(base64.urlsafe_b64encode(os.urandom(32)).decode())
        return 0
    settings = load_settings()
    from core import key_rotation
    from core.db.session import make_engine, make_sessionmaker
    from core.vault import KeyVault

    vault = KeyVault(settings.master_key_list())

    async def go() -> int:
        engine = make_engine(args.database_url or settings.database_url)
        try:
            sm = make_sessionmaker(engine)
            if args.keys_command == "rotate":
                report = await key_rotation.rotate(sm, vault, batch_size=args.batch_size)
                version = vault.current_version
                print(f"rotated {report.rotated} of {report.checked} accounts to key version {version}")
            else:
                report = await key_rotation.check(sm, vault)
                print(f"checked {report.checked} accounts: {len(report.failures)} failures")
            for line in report.failures:
                print(f"  {line}", file=sys.stderr)
            return 1 if report.failures else 0
        finally:
            await engine.dispose()

    return asyncio.run(go())


# ---------------------------------------------------------------- the rest
def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        from app_wiring import run_app  # type: ignore[import-not-found]
    except ImportError:
        raise NotBuiltYet("the bot and the trading scheduler are not built yet") from None
    return int(asyncio.run(run_app(settings)))


def cmd_sandbox(args: argparse.Namespace) -> int:
    raise NotBuiltYet("the sandbox demo is not built yet")


def cmd_backtest(args: argparse.Namespace) -> int:
    raise NotBuiltYet("the backtester is not built yet")


def cmd_train(args: argparse.Namespace) -> int:
    raise NotBuiltYet("model training is not built yet")


def cmd_worker(args: argparse.Namespace) -> int:
    raise NotBuiltYet("scale-out workers are not built yet")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bot.py", description="Multi-user Telegram trading bot. Without a command: run."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run the bot and the trading scheduler in one process (default)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sandbox", help="local demo: sandbox Telegram + exchange, the bot, a terminal chat")
    p.add_argument("--user-id", type=int, default=1001, help="the Telegram id you chat as")
    p.add_argument("--lang", default="en", choices=["en", "ru"], help="your Telegram language")
    p.add_argument("--speed", type=float, default=60.0, help="market replay speed (x real time)")
    p.add_argument("--candles", type=Path, help="replay OHLCV files from this folder instead of synthetic")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("backtest", help="backtest a strategy on stored or synthetic candles")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("train", help="train the model, print its metrics and register the version")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("worker", help="a scale-out worker consuming per-user cycle jobs from Redis")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("db", help="database migrations")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    for name, help_text, default in (
        ("upgrade", "apply migrations up to a revision", "head"),
        ("downgrade", "revert migrations down to a revision ('base' for none)", "-1"),
    ):
        dp = dsub.add_parser(name, help=help_text)
        dp.add_argument("revision", nargs="?", default=default, help=f"target revision (default {default})")
        dp.add_argument("--database-url", help="override DATABASE_URL")
    dp = dsub.add_parser("current", help="show the database's revision and the head")
    dp.add_argument("--database-url", help="override DATABASE_URL")
    dp = dsub.add_parser("revision", help="create a migration (autogenerated from the models)")
    dp.add_argument("-m", "--message", required=True, help="what the migration changes")
    dp.add_argument("--empty", action="store_true", help="an empty migration instead of autogenerate")
    dp.add_argument("--database-url", help="override DATABASE_URL")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("keys", help="master keys and stored exchange keys")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    ksub.add_parser("generate", help="print a new master key (url-safe base64, 32 bytes)")
    kp = ksub.add_parser("rotate", help="re-encrypt every stored key under the current master key")
    kp.add_argument("--batch-size", type=int, default=200, help="rows per transaction")
    kp.add_argument("--database-url", help="override DATABASE_URL")
    kp = ksub.add_parser("check", help="decrypt every stored key and report failures (never prints secrets)")
    kp.add_argument("--database-url", help="override DATABASE_URL")
    p.set_defaults(func=cmd_keys)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Any = getattr(args, "func", None)
    if func is None:
        args = parser.parse_args(["run", *(argv or [])])
        func = args.func
    try:
        return int(func(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except NotBuiltYet as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
