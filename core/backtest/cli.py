"""`run_bot.py backtest`: arguments, candles (files or a provided synthetic market), run, report.

`main(args, candles_provider)` is synchronous. Without `--data` it calls
`candles_provider(n_symbols=..., n_candles=..., timeframe=..., seed=...)`, which returns
{symbol: DataFrame(date, open, high, low, close, volume)}; the entry point passes the sandbox's
`synthetic_ohlcv` (core does not import the sandbox).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from core.backtest.engine import BacktestConfig, run_backtest
from core.backtest.metrics import compute
from core.backtest.report import format_report, write_chart, write_json
from core.config import TIMEFRAMES
from core.exits import ExitPlan
from core.ohlcv_files import OhlcvFileError, load_dir
from core.risk import RiskSettings
from core.strategy.book import Weights
from core.strategy.frame import MarketFrame
from core.strategy.registry import available, create

CandlesProvider = Callable[..., Mapping[str, pd.DataFrame]]

_TF_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text!r}")
    return value


def _time_ms(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return int(pd.Timestamp(text, tz="UTC").value // 1_000_000)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(
            f"not a date (use YYYY-MM-DD[ HH:MM] or epoch ms): {text!r}"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="directory of OHLCV files (BTC_USDT-5m.feather/.csv/.json)")
    parser.add_argument("--symbols", help="comma-separated, e.g. BTC/USDT,ETH/USDT (default: all found)")
    parser.add_argument("--timeframe", default="5m", choices=TIMEFRAMES)
    parser.add_argument(
        "--strategy",
        default="sma_cross",
        help=f"a strategy, or several with weights: trend:2,breakout (available: {', '.join(available())})",
    )
    parser.add_argument("--from", dest="start", type=_time_ms, help="first candle to trade (UTC date or ms)")
    parser.add_argument("--to", dest="end", type=_time_ms, help="last candle to trade (UTC date or ms)")
    parser.add_argument(
        "--fee", type=_decimal, default=Decimal("0.001"), help="fee rate per side (0.001 = 0.1%%)"
    )
    parser.add_argument("--slippage", type=_decimal, default=Decimal(0), help="slippage rate per fill")
    parser.add_argument("--deposit", type=_decimal, default=Decimal(10000), help="starting capital (quote)")
    parser.add_argument("--risk", type=_decimal, default=Decimal(1), help="risk per trade, %% of the deposit")
    parser.add_argument("--max-positions", type=int, default=5)
    parser.add_argument(
        "--max-share", type=_decimal, default=Decimal(25), help="max %% of the deposit per symbol"
    )
    parser.add_argument(
        "--daily-loss", type=_decimal, default=Decimal(5), help="daily loss limit, %% of deposit"
    )
    parser.add_argument(
        "--all-in",
        action="store_true",
        help="no stops or targets: buy with the whole free balance, sell on exit",
    )
    parser.add_argument("--json", type=Path, help="write metrics and every trade here")
    parser.add_argument("--chart", type=Path, help="write the equity/drawdown PNG here")
    parser.add_argument("--candles", type=int, default=5000, help="synthetic market: candles per symbol")
    parser.add_argument("--n-symbols", type=int, default=10, help="synthetic market: number of symbols")
    parser.add_argument("--seed", type=int, default=42, help="synthetic market: seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_strategies(text: str) -> tuple[list[str], Weights]:
    names: list[str] = []
    weights: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, weight = part.partition(":")
        names.append(name)
        if weight:
            try:
                weights[name] = float(weight)
            except ValueError:
                raise ValueError(f"bad weight for {name}: {weight!r}") from None
    if not names:
        raise ValueError("no strategy given")
    return names, Weights(weights)


def _load(args: argparse.Namespace, provider: CandlesProvider | None) -> dict[str, pd.DataFrame]:
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else None
    if args.data is not None:
        return load_dir(args.data, symbols, args.timeframe)
    if provider is None:
        raise ValueError("no --data given and no synthetic market available")
    candles = dict(
        provider(n_symbols=args.n_symbols, n_candles=args.candles, timeframe=args.timeframe, seed=args.seed)
    )
    if symbols:
        missing = [s for s in symbols if s not in candles]
        if missing:
            raise ValueError(
                f"not in the synthetic market: {', '.join(missing)} (has {', '.join(list(candles)[:8])}...)"
            )
        candles = {s: candles[s] for s in symbols}
    return candles


def build_config(args: argparse.Namespace, weights: Weights, n_symbols: int = 1) -> BacktestConfig:
    if args.all_in:
        # each symbol trades its own equal share of the deposit, all in, like one run per symbol
        risk = RiskSettings(
            deposit=args.deposit,
            max_open_positions=args.max_positions,
            max_symbol_share_pct=Decimal(100) / max(n_symbols, 1),
            daily_loss_limit_pct=Decimal(0),
            fixed_fraction=Decimal(1),
        )
        exits, stop_mult = ExitPlan.none(), None
    else:
        risk = RiskSettings(
            deposit=args.deposit,
            risk_per_trade_pct=args.risk,
            max_open_positions=args.max_positions,
            max_symbol_share_pct=args.max_share,
            daily_loss_limit_pct=args.daily_loss,
        )
        exits, stop_mult = ExitPlan(), Decimal(2)
    return BacktestConfig(
        deposit=args.deposit,
        fee=args.fee,
        slippage=args.slippage,
        risk=risk,
        exits=exits,
        stop_atr_mult=stop_mult,
        weights=weights,
        start_ms=args.start,
        end_ms=args.end,
        progress=not args.no_progress,
    )


def main(args: argparse.Namespace, candles_provider: CandlesProvider | None = None) -> int:
    try:
        names, weights = parse_strategies(args.strategy)
        strategies = [create(n) for n in names]
        started = time.perf_counter()
        candles = _load(args, candles_provider)
        unit, n = args.timeframe[-1], int(args.timeframe[:-1])
        frame = MarketFrame.from_candles(candles, timeframe_ms=n * _TF_MS[unit])
        result = run_backtest(frame, strategies, build_config(args, weights, frame.n_symbols))
        summary = compute(result)
    except (ValueError, OhlcvFileError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(format_report(result, summary))
    cells = frame.n_symbols * len(result.times)
    print(f"\n  {cells:,} candles in {elapsed:.2f} s ({cells / max(elapsed, 1e-9):,.0f} candles/s)")
    if args.json is not None:
        write_json(result, summary, args.json)
        print(f"  trades and metrics: {args.json}")
    if args.chart is not None:
        write_chart(result, args.chart)
        print(f"  chart: {args.chart}")
    return 0


def run(argv: list[str] | None = None, candles_provider: CandlesProvider | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backtest", description="Backtest a strategy on OHLCV candles.")
    add_arguments(parser)
    return main(parser.parse_args(argv), candles_provider)
