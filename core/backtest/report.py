"""Backtest output: the terminal table, the JSON file and the equity/drawdown chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.backtest.engine import BacktestResult

_LABELS = [
    ("total_return_pct", "Total return", "{:.2f}%"),
    ("cagr_pct", "CAGR", "{:.2f}%"),
    ("sharpe", "Sharpe", "{:.2f}"),
    ("sortino", "Sortino", "{:.2f}"),
    ("calmar", "Calmar", "{:.2f}"),
    ("max_drawdown_pct", "Max drawdown", "{:.2f}%"),
    ("max_drawdown_duration_hours", "Max drawdown duration", "{:.1f} h"),
    ("trades", "Trades", "{}"),
    ("win_rate_pct", "Win rate", "{:.1f}%"),
    ("profit_factor", "Profit factor", "{:.2f}"),
    ("expectancy", "Expectancy per trade", "{:.4f}"),
    ("avg_holding_hours", "Average holding time", "{:.2f} h"),
    ("exposure_pct", "Exposure", "{:.1f}%"),
    ("fees", "Fees paid", "{:.4f}"),
    ("final_equity", "Final equity", "{:.2f}"),
    ("refused_entries", "Entries refused by risk", "{}"),
]


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def format_report(result: BacktestResult, summary: dict[str, Any]) -> str:
    m = summary["metrics"]
    start = _ts(int(result.times[0])) if len(result.times) else "-"
    end = _ts(int(result.times[-1])) if len(result.times) else "-"
    lines = [
        f"Backtest {result.strategy}",
        f"{m['symbols']} symbols, {m['candles']} candles, {start} .. {end}",
        "",
    ]
    width = max(len(label) for _, label, _ in _LABELS)
    lines += [f"  {label:<{width}}  {_fmt(m.get(key), pat)}" for key, label, pat in _LABELS]
    if summary["per_symbol"]:
        lines += ["", f"  {'Symbol':<16}{'Trades':>8}{'Win %':>8}{'Net PnL':>14}{'Avg ret %':>11}"]
        for sym, row in summary["per_symbol"].items():
            lines.append(
                f"  {sym:<16}{row['trades']:>8}{_fmt(row['win_rate_pct'], '{:.1f}'):>8}"
                f"{row['net_pnl']:>14.4f}{_fmt(row['avg_return_pct'], '{:.3f}'):>11}"
            )
    if summary["per_exit_reason"]:
        lines += ["", f"  {'Exit reason':<16}{'Exits':>8}{'Net PnL':>14}"]
        for reason, row in summary["per_exit_reason"].items():
            lines.append(f"  {reason:<16}{row['exits']:>8}{row['net_pnl']:>14.4f}")
    if summary["refused"]:
        lines += ["", "  Entries refused:"]
        lines += [f"    {n} x {reason}" for reason, n in list(summary["refused"].items())[:5]]
    return "\n".join(lines)


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def to_json(result: BacktestResult, summary: dict[str, Any]) -> dict[str, Any]:
    trades = []
    for t in result.trades:
        row = t.to_json()
        row["entry_time_iso"] = datetime.fromtimestamp(t.entry_time / 1000, tz=UTC).isoformat()
        row["exit_time_iso"] = datetime.fromtimestamp(t.exit_time / 1000, tz=UTC).isoformat()
        trades.append(row)
    return {
        "strategy": result.strategy,
        "symbols": list(result.symbols),
        "deposit": str(result.deposit),
        "final_cash": str(result.final_cash),
        **summary,
        "trades": trades,
    }


def write_json(result: BacktestResult, summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(result, summary), indent=2, allow_nan=False))


def write_chart(result: BacktestResult, path: Path) -> None:
    """Equity and drawdown as a PNG (matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dates: Any = result.times.astype("datetime64[ms]").astype("O")
    eq = result.equity
    dd = (eq / np.maximum.accumulate(np.maximum(eq, 1e-12)) - 1) * 100 if len(eq) else eq
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    try:
        ax1.plot(dates, eq, lw=1.0, color="tab:blue")
        ax1.axhline(float(result.deposit), color="grey", lw=0.6, ls="--")
        ax1.set_title(f"Equity - {result.strategy}", fontsize=9)
        ax1.set_ylabel("equity")
        ax1.grid(alpha=0.3)
        ax2.fill_between(dates, dd, 0, color="tab:red", alpha=0.4, lw=0)
        ax2.set_ylabel("drawdown %")
        ax2.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
