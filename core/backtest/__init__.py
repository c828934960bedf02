"""The backtester: the same strategies, sizing, exits and fill model as live trading, over history."""

from core.backtest.engine import BacktestConfig, BacktestResult, Trade, run_backtest
from core.backtest.metrics import compute as compute_metrics

__all__ = ["BacktestConfig", "BacktestResult", "Trade", "compute_metrics", "run_backtest"]
