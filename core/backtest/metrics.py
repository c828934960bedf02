"""Performance metrics of a backtest: from the equity curve (floats are fine here) and the trades."""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np

from core.backtest.engine import BacktestResult, Trade

YEAR_MS = 365.25 * 86_400_000


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def equity_metrics(
    equity: np.ndarray, times: np.ndarray, deposit: float, timeframe_ms: int
) -> dict[str, Any]:
    eq = np.concatenate(([deposit], equity))
    final = float(eq[-1])
    span_ms = float(times[-1] - times[0] + timeframe_ms) if len(times) else 0.0
    years = span_ms / YEAR_MS
    total = final / deposit - 1
    if final <= 0:
        cagr = -1.0
    elif years <= 0:
        cagr = 0.0
    else:
        try:  # a short window compounds to astronomic yearly rates: report those as unknown
            cagr = math.exp(math.log(final / deposit) / years) - 1
        except OverflowError:
            cagr = float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = np.diff(eq) / eq[:-1]
    rets = rets[np.isfinite(rets)]
    per_year = YEAR_MS / timeframe_ms if timeframe_ms else 0.0
    sharpe = sortino = float("nan")
    if len(rets) > 1 and per_year:
        std = float(np.std(rets, ddof=1))
        mean = float(np.mean(rets))
        sharpe = mean / std * math.sqrt(per_year) if std > 0 else float("nan")
        downside = float(np.sqrt(np.mean(np.minimum(rets, 0.0) ** 2)))
        sortino = mean / downside * math.sqrt(per_year) if downside > 0 else float("nan")
    peak = np.maximum.accumulate(eq)
    dd = eq / peak - 1
    max_dd = float(dd.min())
    # longest time under water: from a peak until equity gets back to it (or the end)
    dry = np.flatnonzero(dd >= 0)
    bounds = np.concatenate((dry, [len(eq)]))
    longest = int(np.max(np.diff(bounds)) - 1) if len(bounds) > 1 else 0
    calmar = cagr / abs(max_dd) if max_dd < 0 and math.isfinite(cagr) else float("nan")
    return {
        "start_equity": deposit,
        "final_equity": final,
        "total_return_pct": total * 100,
        "cagr_pct": _finite(cagr * 100),
        "sharpe": _finite(sharpe),
        "sortino": _finite(sortino),
        "calmar": _finite(calmar),
        "max_drawdown_pct": max_dd * 100,
        "max_drawdown_duration_hours": longest * timeframe_ms / 3_600_000,
    }


def _trade_stats(trades: list[Trade]) -> dict[str, Any]:
    pnls = [float(t.pnl) for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p <= 0]
    gross_loss = -sum(losses)
    hold = [t.exit_time - t.entry_time for t in trades]
    return {
        "trades": len(trades),
        "win_rate_pct": len(wins) / len(trades) * 100 if trades else None,
        "profit_factor": (sum(wins) / gross_loss if gross_loss > 0 else None) if trades else None,
        "expectancy": float(np.mean(pnls)) if trades else None,
        "avg_return_pct": float(np.mean([float(t.return_pct) for t in trades])) if trades else None,
        "net_pnl": sum(pnls),
        "fees": float(sum((t.fees for t in trades), Decimal(0))),
        "avg_holding_hours": float(np.mean(hold)) / 3_600_000 if trades else None,
    }


def compute(result: BacktestResult) -> dict[str, Any]:
    trades = result.trades
    metrics = equity_metrics(result.equity, result.times, float(result.deposit), result.timeframe_ms)
    metrics.update(_trade_stats(trades))
    metrics["exposure_pct"] = float(np.mean(result.exposure)) * 100 if len(result.exposure) else 0.0
    metrics["candles"] = len(result.times)
    metrics["symbols"] = len(result.symbols)
    metrics["refused_entries"] = sum(result.refused.values())
    metrics["daily_loss_limit_days"] = result.daily_limit_days

    by_symbol: dict[str, list[Trade]] = defaultdict(list)
    for t in trades:
        by_symbol[t.symbol].append(t)
    per_symbol = {
        sym: {
            k: v
            for k, v in _trade_stats(ts).items()
            if k in ("trades", "win_rate_pct", "net_pnl", "avg_return_pct")
        }
        for sym, ts in sorted(by_symbol.items())
    }
    # exit fills by reason (a partial close counts under its own reason), with the pnl of that part
    per_reason: dict[str, dict[str, float]] = defaultdict(lambda: {"exits": 0, "net_pnl": 0.0})
    for t in trades:
        for e in t.exits:
            share = t.entry_fee * e.amount / t.amount if t.amount else Decimal(0)
            pnl = (e.price - t.entry_price) * e.amount - e.fee - share
            row = per_reason[e.reason]
            row["exits"] += 1
            row["net_pnl"] += float(pnl)
    return {
        "metrics": metrics,
        "per_symbol": per_symbol,
        "per_exit_reason": dict(sorted(per_reason.items())),
        "refused": dict(result.refused.most_common()),
    }
