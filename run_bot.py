#!/usr/bin/env python
"""The one entry point: `run` (default), `sandbox`, `backtest`, `train`, `models ...`, `db ...`,
`keys ...`, `apikey ...`, `worker`.

Only this file wires the layers together (core, gpu, ml, bot, sandbox).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from core.config import ROOT, ConfigError, Settings, load_settings


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


# ---------------------------------------------------------------- apikey
def cmd_apikey(args: argparse.Namespace) -> int:
    settings = load_settings()
    from sqlalchemy import select

    from core.db.models import User
    from core.db.session import make_engine, make_sessionmaker
    from core.services import api_keys

    async def go() -> int:
        engine = make_engine(args.database_url or settings.database_url)
        try:
            sm = make_sessionmaker(engine)
            async with sm() as s, s.begin():
                if args.apikey_command == "revoke":
                    if not await api_keys.revoke(s, args.prefix):
                        print(f"apikey: no live key with prefix {args.prefix}", file=sys.stderr)
                        return 1
                    print(f"revoked API key {args.prefix}")
                    return 0
                user = await s.scalar(select(User).where(User.telegram_id == args.telegram_id))
                if user is None:
                    who = f"Telegram id {args.telegram_id}"
                    print(f"apikey: no user with {who} (they must /start the bot first)", file=sys.stderr)
                    return 1
                key = await api_keys.create(s, user, args.name)
            print(f"API key for Telegram user {args.telegram_id} (shown once; revoke with its prefix):")
            print(key)
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(go())


# ---------------------------------------------------------------- models
def cmd_models(args: argparse.Namespace) -> int:
    settings = load_settings()
    from core import model_registry
    from core.db.session import make_engine, make_sessionmaker
    from ml.registry import ModelRegistry, RegistryError

    registry = ModelRegistry(settings.models_dir)

    async def go() -> int:
        engine = make_engine(args.database_url or settings.database_url)
        try:
            sm = make_sessionmaker(engine)
            await model_registry.sync(sm, registry)
            if args.models_command == "activate":
                await model_registry.activate(sm, registry, args.version)
                print(f"active model: {args.version} (running bots switch on their next cycle)")
            elif args.models_command == "rollback":
                print(f"active model: {await model_registry.rollback(sm, registry) or 'none'}")
            else:
                rows = await model_registry.list_versions(sm, limit=args.limit)
                if not rows:
                    print("no model versions yet: run `python run_bot.py train`")
                for row in rows:
                    loss = row.metrics.get("val", {}).get("log_loss") if row.metrics else None
                    print(
                        f"{'*' if row.active else ' '} {row.version:<6} {row.kind:<5} "
                        f"{row.created_at:%Y-%m-%d %H:%M} UTC"
                        + (f"  validation log loss {loss:.4f}" if isinstance(loss, float) else "")
                    )
            return 0
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except RegistryError as exc:
        print(f"models: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------- run and sandbox
async def _require_head(database_url: str) -> None:
    from migrations import cli

    current, head = await cli.current_revision(database_url), cli.head()
    if current != head:
        raise ConfigError(
            f"DATABASE_URL: the database is at revision {current or 'base (empty)'}, the code needs {head}: "
            "run `python run_bot.py db upgrade`"
        )


async def run_app(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    market_rate_limit: bool = True,
    drive_cycles: Callable[[Any], Any] | None = None,
) -> int:
    """The bot and the trading engine in one event loop until a signal or `stop`.

    `drive_cycles(engine)` replaces the engine's wall-clock scheduler (the sandbox drives cycles from
    its market clock); it runs as a task next to the bot."""
    from bot.app import serve
    from core import model_registry
    from core.db.session import make_engine, make_sessionmaker
    from core.engine.app import Engine
    from core.engine.closer import EngineCloser
    from core.services.exchanges import default_client_factory
    from core.services.prices import CcxtPriceSource
    from core.vault import KeyVault
    from ml.inference import InferenceService

    settings.require_token()
    vault = KeyVault(settings.master_key_list())
    await _require_head(settings.database_url)
    db = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(db)
    model = InferenceService(settings.models_dir)  # serves whichever version is active, if any
    await model_registry.sync(sessionmaker, model.registry)  # versions trained before `db upgrade`
    engine = Engine.from_settings(settings, sessionmaker, vault, model, rate_limit=market_rate_limit)
    retrain = _retrainer(settings, sessionmaker, engine)
    driver: asyncio.Task[Any] | None = None
    api: Any = None
    try:
        if settings.api_port is not None:
            from bot.api import build_api, start_api

            api = await start_api(build_api(sessionmaker, settings), settings.api_host, settings.api_port)
        if drive_cycles is None:
            await engine.start()
            _schedule_jobs(settings, engine, sessionmaker, retrain)
        else:
            await engine.reconcile()
            driver = asyncio.create_task(drive_cycles(engine))
        prices = CcxtPriceSource(default_client_factory(), engine.primary, settings.exchange_api_url)
        closer = EngineCloser(engine, prices)  # close buttons go through the engine's exactly-once orders
        await serve(
            settings,
            sessionmaker,
            vault,
            prices=prices,
            closer=closer,
            retrain=retrain,
            handle_signals=handle_signals,
            stop=stop,
        )
    finally:
        if driver is not None:
            driver.cancel()
        if api is not None:
            await api.stop()
        await engine.stop()
        await db.dispose()
    return 0


def _retrainer(settings: Settings, sessionmaker: Any, engine: Any) -> Callable[[], Awaitable[str]]:
    """`/retrain` and the weekly job: start training in a separate process on the market's recent
    candles; when it ends, every admin is told the numbers, promoted or not."""
    import itertools
    import logging

    from core.engine.app import RETRAIN_HISTORY
    from core.services.errors import UserError
    from core.services.l10n import N_
    from core.training import TrainSettings, train_and_maybe_promote

    log = logging.getLogger("retrain")
    running: set[asyncio.Task[None]] = set()
    runs = itertools.count(1)

    async def train_and_tell() -> None:
        from sqlalchemy import select

        from core.db.models import User
        from core.services.outbox import enqueue

        try:
            frame = await engine.market.refresh(
                engine.primary, None, settings.timeframe, history=RETRAIN_HISTORY
            )
            report = await train_and_maybe_promote(frame, TrainSettings.from_settings(settings), sessionmaker)
            text = report.text()
        except Exception as exc:
            log.exception("retraining failed")
            text = f"Training failed: {type(exc).__name__}: {exc}"
        async with sessionmaker() as session, session.begin():
            admins = await session.scalars(select(User).where(User.telegram_id.in_(settings.admin_ids)))
            for admin in admins:
                await enqueue(session, user_id=admin.id, chat_id=admin.telegram_id, kind="retrain", text=text)

    async def retrain() -> str:
        if running:
            raise UserError(N_("A training run is already in progress; its numbers will follow."))
        task = asyncio.create_task(train_and_tell())
        running.add(task)
        task.add_done_callback(running.discard)
        return f"#{next(runs)}"

    return retrain


def _schedule_jobs(
    settings: Settings, engine: Any, sessionmaker: Any, retrain: Callable[[], Awaitable[str]]
) -> None:
    """Beside the engine's cycle and watch: weekly retraining and the daily summaries."""
    from datetime import UTC, datetime, timedelta

    from apscheduler.triggers.cron import CronTrigger

    from core.services.daily_summary import queue_daily_summaries

    async def daily_summaries() -> None:
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
        await queue_daily_summaries(sessionmaker, yesterday, settings.quote_currency)

    if engine.scheduler is None:
        return
    engine.scheduler.add_job(
        retrain,
        CronTrigger(day_of_week=settings.retrain_cron_day, hour=3, timezone="UTC"),
        id="weekly-retrain",
        max_instances=1,
        coalesce=True,
    )
    engine.scheduler.add_job(
        daily_summaries,
        CronTrigger(hour=0, minute=5, timezone="UTC"),
        id="daily-summaries",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from core.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level)
    return asyncio.run(run_app(settings))


def cmd_sandbox(args: argparse.Namespace) -> int:
    home: Path = args.home
    home.mkdir(parents=True, exist_ok=True)
    for old in home.glob("bot.sqlite3*"):  # the sandbox exchange is new each run: so is the bot's state
        old.unlink()
    return asyncio.run(run_sandbox(args, home))


async def run_sandbox(args: argparse.Namespace, home: Path) -> int:
    """Both sandbox servers, the bot and the engine on a fresh SQLite file, and a terminal chat."""
    import aiohttp

    from core.logs import setup_logging
    from migrations import cli
    from sandbox.chat import run_chat
    from sandbox.exchange.server import ExchangeSandbox
    from sandbox.telegram import TelegramSandbox

    log_file = home / "bot.log"
    setup_logging("INFO", filename=log_file)  # the terminal belongs to the chat

    exchange = ExchangeSandbox(n_symbols=args.symbols, speed=args.speed, candles_dir=args.candles)
    telegram = TelegramSandbox()
    exchange_url, telegram_url = await exchange.start(), await telegram.start()
    api_key, secret = f"sandbox{os.urandom(8).hex()}", os.urandom(24).hex()
    async with aiohttp.ClientSession() as http:
        created = await http.post(
            f"{exchange_url}/sandbox/accounts",
            json={"api_key": api_key, "secret": secret, "balances": {"USDT": "10000"}, "can_withdraw": False},
        )
        created.raise_for_status()
    settings = load_settings(
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram_url,
        exchange_api_url=exchange_url,
        database_url=f"sqlite+aiosqlite:///{home / 'bot.sqlite3'}",
        master_keys=base64.urlsafe_b64encode(os.urandom(32)).decode(),  # lives as long as this database
        admin_ids=[args.user_id],
        models_dir=home / "models",
        timeframe="5m",
    )
    await asyncio.to_thread(cli.upgrade, settings.database_url)
    print(
        f"Sandbox running: Telegram {telegram_url}, exchange {exchange_url} (market x{args.speed:g}).\n"
        f"You are Telegram user {args.user_id} (an admin). Your sandbox Binance account has 10,000 USDT:\n"
        f"  API key: {api_key}\n  secret:  {secret}\n"
        f"Try /start, /keys, /deposit 1000, /trade_on, /positions, /pnl, /help. "
        f"Press a button with /press N; /quit ends. Bot log: {log_file}\n",
        flush=True,
    )
    stop = asyncio.Event()
    app = asyncio.create_task(
        run_app(
            settings,
            stop=stop,
            handle_signals=False,
            market_rate_limit=False,  # the sandbox enforces Binance's weights itself
            drive_cycles=lambda engine: _cycles_on_market_clock(exchange, engine),
        )
    )
    try:
        chat = asyncio.create_task(run_chat(telegram_url, args.user_id, args.lang, home / "chat_files"))
        done, _ = await asyncio.wait({app, chat}, return_when=asyncio.FIRST_COMPLETED)
        if app in done:  # the bot stopped on its own: show why
            chat.cancel()
            app.result()
    finally:
        stop.set()
        await asyncio.gather(app, return_exceptions=True)
        await telegram.stop()
        await exchange.stop()
    return 0


async def _cycles_on_market_clock(exchange: Any, engine: Any) -> None:
    """A cycle at each candle close of the replayed market; the position watch in between."""
    import logging
    from datetime import UTC, datetime

    log = logging.getLogger("sandbox")
    tf_ms = 5 * 60_000
    last_close = None
    while True:
        now_ms = exchange.state.clock.now_ms
        now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
        try:
            if now_ms // tf_ms != last_close:
                last_close = now_ms // tf_ms
                await engine.run_cycle_once(now=now)
            else:
                await engine.watch_once(now=now)
        except Exception:
            log.exception("sandbox cycle failed")
        await asyncio.sleep(1.0)


def cmd_backtest(args: argparse.Namespace) -> int:
    from core.backtest import cli
    from sandbox.exchange.synthetic import synthetic_ohlcv

    return cli.main(args, candles_provider=synthetic_ohlcv)


def _training_candles(args: argparse.Namespace) -> Any:
    if args.data is not None:
        from core.ohlcv_files import load_dir

        symbols = [s.strip() for s in args.symbols.split(",")] if args.symbols else None
        return load_dir(args.data, symbols, args.timeframe)
    from sandbox.exchange.synthetic import synthetic_ohlcv

    return synthetic_ohlcv(
        n_symbols=args.n_symbols, n_candles=args.n_candles, timeframe=args.timeframe, seed=args.market_seed
    )


def cmd_train(args: argparse.Namespace) -> int:
    from core import training

    return training.main(args, candles_provider=_training_candles)


def cmd_worker(args: argparse.Namespace) -> int:
    raise NotBuiltYet(
        "scale-out workers (per-user jobs over Redis Streams) are not built yet; `run` handles every user"
    )


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """`selected` is the command being run; heavy commands add their options only for themselves."""
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
    p.add_argument("--symbols", type=int, default=50, help="symbols of the synthetic market")
    p.add_argument(
        "--home", type=Path, default=ROOT / "var" / "sandbox", help="folder for the database, log and files"
    )
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("backtest", help="backtest a strategy on stored or synthetic candles")
    if selected == "backtest":  # its options import numpy, pandas and numba: only when asked for
        from core.backtest.cli import add_arguments as add_backtest_arguments

        add_backtest_arguments(p)
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("train", help="train the model, print its metrics and register the version")
    p.add_argument("--data", type=Path, help="directory of OHLCV files (default: the synthetic market)")
    p.add_argument("--symbols", help="comma-separated symbols to read from --data (default: all)")
    p.add_argument("--timeframe", default="5m", help="candle timeframe of the data")
    p.add_argument("--n-symbols", type=int, default=20, help="synthetic market: symbols")
    p.add_argument("--n-candles", type=int, default=3000, help="synthetic market: candles per symbol")
    p.add_argument("--market-seed", type=int, default=42, help="synthetic market: seed")
    if selected == "train":  # its options import torch: only when asked for
        from core.training import add_arguments as add_train_arguments

        add_train_arguments(p)
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

    p = sub.add_parser("models", help="model versions: list, activate, roll back")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    mp = msub.add_parser("list", help="the newest versions, the active one starred")
    mp.add_argument("--limit", type=int, default=20)
    mp.add_argument("--database-url", help="override DATABASE_URL")
    mp = msub.add_parser("activate", help="make a version the active one")
    mp.add_argument("version", help="e.g. v3")
    mp.add_argument("--database-url", help="override DATABASE_URL")
    mp = msub.add_parser("rollback", help="go back to the version active before the current one")
    mp.add_argument("--database-url", help="override DATABASE_URL")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("keys", help="master keys and stored exchange keys")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    ksub.add_parser("generate", help="print a new master key (url-safe base64, 32 bytes)")
    kp = ksub.add_parser("rotate", help="re-encrypt every stored key under the current master key")
    kp.add_argument("--batch-size", type=int, default=200, help="rows per transaction")
    kp.add_argument("--database-url", help="override DATABASE_URL")
    kp = ksub.add_parser("check", help="decrypt every stored key and report failures (never prints secrets)")
    kp.add_argument("--database-url", help="override DATABASE_URL")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("apikey", help="keys for the read-only HTTP API (API_PORT)")
    asub = p.add_subparsers(dest="apikey_command", metavar="ACTION", required=True)
    ap = asub.add_parser("create", help="create a key for a user and print it once")
    ap.add_argument("--telegram-id", type=int, required=True, help="the user's Telegram id")
    ap.add_argument("--name", default="default", help="a label for the key")
    ap.add_argument("--database-url", help="override DATABASE_URL")
    ap = asub.add_parser("revoke", help="revoke a key by its prefix (the 8 characters after tb_)")
    ap.add_argument("prefix")
    ap.add_argument("--database-url", help="override DATABASE_URL")
    p.set_defaults(func=cmd_apikey)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(selected)
    args = parser.parse_args(argv)
    func: Any = getattr(args, "func", None)
    if func is None:
        args = parser.parse_args(["run", *argv])
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
    except Exception as exc:
        # database and network failures: one line, with any password in a URL redacted
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError | OSError):
            raise
        from core.vault import REDACTOR

        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0:1] or [""]
        print(
            f"{args.command}: database error: {type(exc).__name__}: {REDACTOR.redact(first[0])}",
            file=sys.stderr,
        )
        return 4


if __name__ == "__main__":
    sys.exit(main())
