"""The event-driven backtester over a MarketFrame.

Signals are taken on each candle's close and filled at the next candle's open through the shared
FillModel (slippage, fees on both sides). Sizing goes through core.risk and every exit through
core.exits.on_candle, exactly as in paper and live trading. Speed comes from computing signals for
all candles at once and from visiting only the candles where something can happen: an entry
signal, or a candle that touches one of an open position's levels (core.backtest.scan). Plans whose
positions only leave on a signal or a time exit (no stops) take the leaner loop of
core.backtest.signal_exits, which gives the same results.

Within one candle: exits decided at the open (signal, time, gap through the stop) free cash and
slots for the entries filled at that open; exits inside the candle (stop, targets) only after them.
"""

from __future__ import annotations

import gc
import heapq
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

import numpy as np
from tqdm import tqdm

from core.backtest import signal_exits
from core.backtest.records import (
    BacktestConfig,
    BacktestResult,
    Exit,
    Moves,
    Outcome,
    Trade,
    equity_curve,
)
from core.backtest.scan import next_event
from core.exits import INF, Candle, PositionState, close_all, on_candle, open_position, watch_levels
from core.risk import ZERO, AccountState, MarketRules, atr_stop, size_entry
from core.strategy.base import Strategy
from core.strategy.book import Combined, Weights, combine
from core.strategy.frame import MarketFrame
from core.strategy.registry import create

DAY_MS = 86_400_000
_NONE: frozenset[int] = frozenset()


@dataclass(slots=True)
class _Open:
    state: PositionState
    trade: Trade
    rules: MarketRules
    gen: int


def resolve_strategy(
    frame: MarketFrame,
    strategy: str | Strategy | Sequence[Strategy | str] | Combined,
    weights: Weights | None,
) -> Combined:
    if isinstance(strategy, Combined):
        return strategy
    items = [strategy] if isinstance(strategy, str | Strategy) else list(strategy)
    strategies = [create(s) if isinstance(s, str) else s for s in items]
    return combine(frame, strategies, weights)


def run_backtest(
    frame: MarketFrame,
    strategy: str | Strategy | Sequence[Strategy | str] | Combined,
    config: BacktestConfig | None = None,
    *,
    fast_path: bool = True,
) -> BacktestResult:
    """Trade the strategy (or the weighted set) over the frame; see the module doc for the rules.

    `fast_path=False` forces the general loop even for a signal-only plan (tests compare the two).
    """
    config = config or BacktestConfig()
    combined = resolve_strategy(frame, strategy, config.weights)
    return _Engine(frame, combined, config).run(fast_path)


class _Engine:
    def __init__(self, frame: MarketFrame, combined: Combined, config: BacktestConfig) -> None:
        self.frame, self.combined, self.cfg = frame, combined, config
        self.plan = config.exits
        self.fm = config.fill_model()
        self.risk = config.risk_settings()
        times = frame.times
        self.t0 = int(np.searchsorted(times, config.start_ms)) if config.start_ms is not None else 0
        self.t1 = (
            int(np.searchsorted(times, config.end_ms, side="right"))
            if config.end_ms is not None
            else len(times)
        )
        if self.t1 - self.t0 < 2:
            raise ValueError("the backtest window holds fewer than 2 candles")
        self.rules = [
            MarketRules.from_ccxt(config.markets[s]) if s in config.markets else MarketRules(symbol=s)
            for s in frame.symbols
        ]
        sig = combined.signals
        # exit intent on the close of k - 1 acts at the open of k
        self.exit_at_open = np.zeros(sig.exit.shape, dtype=np.bool_)
        self.exit_at_open[:, 1:] = sig.exit[:, :-1]
        self._exit_idx: dict[int, list[int]] = {}
        self.atr = (
            frame.indicator("atr", period=config.atr_period) if config.stop_atr_mult is not None else None
        )
        self.track_days = self.risk.daily_loss_cap > 0

    def _candle(self, s: int, k: int) -> Candle:
        f = self.frame
        return Candle(
            f.times.item(k),
            Decimal(repr(f.open.item(s, k))),
            Decimal(repr(f.high.item(s, k))),
            Decimal(repr(f.low.item(s, k))),
            Decimal(repr(f.close.item(s, k))),
        )

    def _next_exit_signal(self, s: int, start: int) -> int:
        idx = self._exit_idx.get(s)
        if idx is None:  # a plain list: bisect on it is much cheaper than on an array
            idx = self._exit_idx[s] = np.flatnonzero(self.exit_at_open[s]).tolist()
        i = bisect_left(idx, start)
        return idx[i] if i < len(idx) else self.t1

    def _next_event(self, s: int, state: PositionState, start: int, end: int, signal_from: int) -> int:
        """The next candle in [start, end) where this position can change; `end` if none.

        Exit signals count from `signal_from` on (a position does not see one at its own entry open).
        """
        if self.plan.exit_on_signal:
            end = min(end, self._next_exit_signal(s, signal_from))
        down, up = watch_levels(state, self.plan)
        if down == -INF and up == INF:
            return end
        return next_event(self.frame.low, self.frame.high, s, start, end, down, up)

    def candidates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entry candidates (candle, symbol, strength): a signal on the close of t fills at the open of
        t + 1; sorted by candle, strongest first within one."""
        f, sig, t0, t1 = self.frame, self.combined.signals, self.t0, self.t1
        ent = sig.entry[:, t0 : t1 - 1] & np.isfinite(f.open[:, t0 + 1 : t1])
        s_idx, t_rel = np.nonzero(ent)
        strength = sig.strength[s_idx, t_rel + t0]
        order = np.lexsort((s_idx, -strength, t_rel))
        return t_rel[order] + t0 + 1, s_idx[order], strength[order]

    def run(self, fast: bool = True) -> BacktestResult:
        cfg = self.cfg
        cand = self.candidates()
        bar = tqdm(
            total=self.t1 - self.t0, unit="candle", disable=not cfg.progress, mininterval=0.5, desc="backtest"
        )
        gc_was_on = gc.isenabled()
        gc.disable()  # the loop allocates many small long-lived objects and no cycles: skip the GC passes
        try:
            return self._run(cand, bar, fast)
        finally:
            if gc_was_on:
                gc.enable()

    def _run(
        self, cand: tuple[np.ndarray, np.ndarray, np.ndarray], bar: tqdm[Any], fast: bool
    ) -> BacktestResult:
        if fast and signal_exits.applies(self.cfg):
            out = signal_exits.run(
                self.frame,
                self.cfg,
                self.risk,
                self.fm,
                self.rules,
                self.exit_at_open,
                *cand,
                self.t0,
                self.t1,
                bar.update,
            )
        else:
            out = self._loop(*cand, bar.update)
        bar.close()
        return self._result(out)

    def _result(self, out: Outcome) -> BacktestResult:
        f, cfg, t0, t1 = self.frame, self.cfg, self.t0, self.t1
        equity, exposure = equity_curve(f.close[:, t0:t1], out.moves, t0, float(cfg.deposit))
        return BacktestResult(
            symbols=f.symbols,
            times=f.times[t0:t1].copy(),
            equity=equity,
            exposure=exposure,
            trades=out.trades,
            final_cash=out.cash,
            deposit=cfg.deposit,
            timeframe_ms=f.timeframe_ms,
            strategy=self.combined.strategy_key,
            refused=out.refused,
            daily_limit_days=len(out.limit_days),
        )

    def _loop(
        self,
        cand_k_arr: np.ndarray,
        cand_s_arr: np.ndarray,
        cand_strength_arr: np.ndarray,
        progress: Callable[[int], object],
    ) -> Outcome:
        """The general loop: any exit plan, visiting entry candles and candles touching a level."""
        f, cfg, plan, fm = self.frame, self.cfg, self.plan, self.fm
        t0, t1 = self.t0, self.t1
        times = f.times
        exit_at_open = self.exit_at_open
        track_days = self.track_days
        cand_k = cand_k_arr.tolist()
        cand_s = cand_s_arr.tolist()
        cand_strength = cand_strength_arr.tolist()
        n_cand = len(cand_k)

        cash = cfg.deposit
        open_: dict[int, _Open] = {}
        heap: list[tuple[int, int, int]] = []  # (candle, generation, symbol)
        gen = 0
        exposure_cost = ZERO
        deferred_exposure = ZERO  # freed inside the current candle, after its entries
        realized_by_day: dict[int, Decimal] = {}
        limit_days: set[int] = set()
        refused: Counter[str] = Counter()
        trades: list[Trade] = []
        moves = Moves()
        max_hold = plan.max_holding_ms
        atr = self.atr
        stop_mult, stop_fallback = cfg.stop_atr_mult, cfg.stop_fallback_pct
        risk, taker_fee = self.risk, fm.taker_fee

        def schedule(s: int, pos: _Open, start: int, signal_from: int, push: bool = True) -> int:
            end = t1
            if max_hold is not None:
                end = min(end, int(np.searchsorted(times, pos.state.opened_at + max_hold)))
            j = self._next_event(s, pos.state, start, end, signal_from)
            if push and j < t1:
                heapq.heappush(heap, (j, pos.gen, s))
            return j

        def sell(s: int, k: int, pos: _Open, amount: Decimal, ref: Decimal, reason: str) -> Decimal:
            """Fill one exit through the fill model; returns the cash it releases."""
            fill = fm.market("sell", amount, ref, pos.rules.price_tick)
            t = times.item(k)
            trade = pos.trade
            trade.exits.append(Exit(t, fill.price, amount, fill.fee, reason))
            proceeds = fill.cost - fill.fee
            if track_days:
                day = t // DAY_MS
                pnl = (fill.price - trade.entry_price) * amount - fill.fee
                realized_by_day[day] = realized_by_day.get(day, ZERO) + pnl
            moves.add(s, k, -float(amount), float(proceeds))
            return proceeds

        def apply(s: int, k: int, entry_candle: bool) -> tuple[Decimal, bool]:
            """Run the exit machine for symbol s on candle k. Returns the cash released inside the
            candle (available only after this candle's entries) and whether it closed inside it."""
            nonlocal cash, exposure_cost, deferred_exposure
            pos = open_[s]
            signal = bool(exit_at_open.item(s, k)) and not entry_candle
            state, actions = on_candle(pos.state, self._candle(s, k), plan, pos.rules, signal)
            later = ZERO
            for a in actions:
                proceeds = sell(s, k, pos, a.amount, a.price, a.reason)
                if a.at_open:
                    cash += proceeds
                    exposure_cost -= pos.trade.entry_price * a.amount
                else:
                    later += proceeds
                    deferred_exposure += pos.trade.entry_price * a.amount
            if state is None:
                del open_[s]
                trades.append(pos.trade)
                return later, not actions[-1].at_open
            pos.state = state
            schedule(s, pos, k + 1, k + 1)
            return later, False

        shown = t0
        ci = 0
        while True:
            k = cand_k[ci] if ci < n_cand else t1
            if heap and heap[0][0] < k:
                k = heap[0][0]
            if k >= t1:
                break
            if k - shown > 20000:
                progress(k - shown)
                shown = k
            later = ZERO
            closed_inside: frozenset[int] = _NONE  # closed during candle k: still held at its open
            while heap and heap[0][0] == k:
                _, g, s = heapq.heappop(heap)
                pos = open_.get(s)
                if pos is None or pos.gen != g:
                    continue
                released, inside = apply(s, k, entry_candle=False)
                later += released
                if inside:
                    closed_inside = closed_inside | {s}
            fresh: list[int] = []
            while ci < n_cand and cand_k[ci] == k:
                s = cand_s[ci]
                strength_s = cand_strength[ci]
                ci += 1
                if s in open_ or s in closed_inside:
                    continue  # one long position per symbol
                t_ms = times.item(k)
                day = t_ms // DAY_MS
                account = AccountState(
                    free=cash,
                    open_positions=len(open_) + len(closed_inside),
                    total_exposure=exposure_cost,
                    realized_pnl_today=realized_by_day.get(day, ZERO) if track_days else ZERO,
                )
                rules = self.rules[s]
                ref = Decimal(repr(f.open.item(s, k)))
                price = fm.market_price("buy", ref, rules.price_tick)
                stop = None
                if stop_mult is not None and atr is not None:
                    stop = atr_stop(price, atr.item(s, k - 1), stop_mult, stop_fallback, rules.price_tick)
                decision = size_entry(risk, account, rules, price, stop, taker_fee)
                if decision.amount is None:
                    refused[decision.reason or "refused"] += 1
                    if decision.daily_limit_hit:
                        limit_days.add(day)
                    continue
                fill = fm.market("buy", decision.amount, ref, rules.price_tick)
                spent = fill.cost + fill.fee
                cash -= spent
                exposure_cost += fill.cost
                gen += 1
                symbol = f.symbols[s]
                state = open_position(symbol, fill.amount, fill.price, stop, t_ms, plan, rules.price_tick)
                trade = Trade(symbol, t_ms, fill.price, fill.amount, fill.fee, strength=strength_s)
                if track_days:
                    realized_by_day[day] = realized_by_day.get(day, ZERO) - fill.fee
                open_[s] = _Open(state, trade, rules, gen)
                moves.add(s, k, float(fill.amount), -float(spent))
                fresh.append(s)
            # the new positions live through the rest of their entry candle (no exit signal at its open)
            for s in fresh:
                pos = open_[s]
                j = schedule(s, pos, k, k + 1, push=False)
                if j == k:
                    later += apply(s, k, entry_candle=True)[0]
                elif j < t1:
                    heapq.heappush(heap, (j, pos.gen, s))
            cash += later
            exposure_cost -= deferred_exposure
            deferred_exposure = ZERO

        last = t1 - 1
        for s, pos in list(open_.items()):
            if not cfg.close_at_end:
                continue
            a = close_all(pos.state, Decimal(repr(f.close.item(s, last))), "end")
            cash += sell(s, last, pos, a.amount, a.price, a.reason)
            trades.append(pos.trade)
            del open_[s]
        progress(t1 - shown)
        trades.sort(key=attrgetter("entry_time", "symbol"))
        return Outcome(trades, moves, cash, refused, limit_days)
