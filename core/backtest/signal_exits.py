"""The backtester's loop for plans whose positions leave only on a signal, a time exit or the end.

With no stop (so no target ladder and no trail) and no trail activation, a candle's prices cannot
change an open position: it leaves at the first exit signal after its entry open or at its time
exit, both known the moment it opens. Those exit candles are found for every entry candidate at
once with numpy; the loop then visits only entries and exits. It still sizes through core.risk,
fills through the FillModel and decides each exit through core.exits (on_price at the exit candle's
open: an exit at the open reads nothing else of the candle), in the same order as the general loop
in core.backtest.engine, so every Decimal and the equity curve come out identical (tests check).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from heapq import heappop, heappush

import numpy as np

from core.backtest.records import BacktestConfig, Exit, Moves, Outcome, Trade
from core.exits import ExitPlan, PositionState, close_all, on_price, open_position
from core.fills import FillModel
from core.risk import ZERO, MarketRules, RiskSettings, size_values
from core.strategy.frame import MarketFrame

DAY_MS = 86_400_000
PROGRESS_STEP = 20_000  # candles between progress-bar updates


def applies(config: BacktestConfig) -> bool:
    """True when no candle's prices can move a position of this plan (see the module doc)."""
    plan = config.exits
    return (
        config.stop_atr_mult is None
        and plan.trail_activation_pct is None
        and (plan.max_holding_ms is None or plan.max_holding_ms > 0)
    )


def exit_candles(
    frame: MarketFrame,
    exit_at_open: np.ndarray,
    plan: ExitPlan,
    cand_s: np.ndarray,
    cand_k: np.ndarray,
    t1: int,
) -> np.ndarray:
    """For each entry candidate (symbol, entry candle): the candle its position would leave at, or t1.

    An exit signal counts from the candle after the entry on; the time exit is the first candle
    opening at least max_holding_ms after the entry.
    """
    out = np.full(len(cand_k), t1, dtype=np.int64)
    if len(cand_k) == 0:
        return out
    if plan.exit_on_signal:
        # the exit signals of the window as one sorted array of positions s * t1 + candle, searched for
        # every candidate at once; a hit in the next symbol's row means none
        flat = np.flatnonzero(exit_at_open[:, :t1])
        if len(flat):
            want = cand_s * t1 + cand_k + 1
            hit = flat[np.minimum(np.searchsorted(flat, want), len(flat) - 1)]
            out = np.where((hit >= want) & (hit // t1 == cand_s), hit % t1, out)
    if plan.max_holding_ms is not None:
        times = frame.times
        timed = np.searchsorted(times, times[cand_k] + plan.max_holding_ms)
        out = np.minimum(out, timed)
    return np.minimum(out, t1)


def run(
    frame: MarketFrame,
    config: BacktestConfig,
    risk: RiskSettings,
    fm: FillModel,
    rules_of: list[MarketRules],
    exit_at_open: np.ndarray,
    cand_k: np.ndarray,
    cand_s: np.ndarray,
    cand_strength: np.ndarray,
    t0: int,
    t1: int,
    progress: Callable[[int], object],
) -> Outcome:
    """Trade the entry candidates (sorted by candle, strongest first) under the signal-only plan."""
    plan = config.exits
    track_days = risk.daily_loss_cap > 0
    times = frame.times
    xs = exit_candles(frame, exit_at_open, plan, cand_s, cand_k, t1)
    xc = np.minimum(xs, t1 - 1)  # (a candidate never exiting has no exit candle; any index will do)
    # every price and time the loop reads, as Python floats and ints in one go
    n = len(cand_k)
    ks, ss, strengths, x_list = cand_k.tolist(), cand_s.tolist(), cand_strength.tolist(), xs.tolist()
    entry_open = frame.open[cand_s, cand_k].tolist()
    entry_time = times[cand_k].tolist()
    exit_time = times[xc].tolist()
    exit_open = frame.open[cand_s, xc].tolist()
    exit_signal = exit_at_open[cand_s, xc].tolist()
    symbols = frame.symbols
    market_price, market_values, taker_fee = fm.market_price, fm.market_values, fm.taker_fee

    cash = config.deposit
    exposure_cost = ZERO
    # symbol -> (state, trade, rules, entry candidate, amount as float)
    held: dict[int, tuple[PositionState, Trade, MarketRules, int, float]] = {}
    # (exit candle, entry candidate, symbol): candidates are taken in order, so exits due at one open
    # leave in the order the positions opened, as in the general loop
    heap: list[tuple[int, int, int]] = []
    realized_by_day: dict[int, Decimal] = {}
    limit_days: set[int] = set()
    refused: Counter[str] = Counter()
    trades: list[Trade] = []
    traded: list[int] = []  # the entry candidate of each of those trades
    moves = Moves()
    m_sym, m_col, m_amount, m_cash = moves.symbol, moves.candle, moves.amount, moves.cash
    shown = t0

    def sell(
        s: int,
        k: int,
        t: int,
        trade: Trade,
        tick: Decimal | None,
        amount: Decimal,
        ref: Decimal,
        reason: str,
        amount_f: float,
    ) -> Decimal:
        price, cost, fee = market_values("sell", amount, ref, tick)
        trade.exits.append(Exit(t, price, amount, fee, reason))
        proceeds: Decimal = cost - fee
        if track_days:
            day = t // DAY_MS
            pnl = (price - trade.entry_price) * amount - fee
            realized_by_day[day] = realized_by_day.get(day, ZERO) + pnl
        m_sym.append(s)
        m_col.append(k)
        m_amount.append(-amount_f if amount == trade.amount else -float(amount))
        m_cash.append(proceeds)
        return proceeds

    i = 0
    while True:
        # the exits due by this candidate's candle come first (at their opens, before its entries);
        # past the last candidate, every exit still due
        k = ks[i] if i < n else t1
        while heap and heap[0][0] <= k:
            x, _, s = heappop(heap)
            state, trade, rules, c, amount_f = held.pop(s)
            t = exit_time[c]
            # decided at the candle's open from its open price alone, so through the live monitor's call
            after, actions = on_price(state, Decimal(repr(exit_open[c])), t, plan, rules, exit_signal[c])
            if after is not None or not actions or not actions[-1].at_open:
                raise RuntimeError("a signal-only plan left a position open past its exit candle")
            entry_price, tick = trade.entry_price, rules.price_tick
            for a in actions:
                cash += sell(s, x, t, trade, tick, a.amount, a.price, a.reason, amount_f)
                exposure_cost -= entry_price * a.amount
            trades.append(trade)
            traded.append(c)
        if i == n:
            break
        if k - shown > PROGRESS_STEP:
            progress(k - shown)
            shown = k
        c = i
        i += 1
        s = ss[c]
        if s in held:
            continue  # one long position per symbol
        t_ms = entry_time[c]
        day = t_ms // DAY_MS
        rules = rules_of[s]
        tick = rules.price_tick
        ref = Decimal(repr(entry_open[c]))
        amount, reason, _, daily_hit = size_values(
            risk,
            cash,
            len(held),
            ZERO,  # (the general loop passes no per-symbol exposure either: one position per symbol)
            exposure_cost,
            realized_by_day.get(day, ZERO) if track_days else ZERO,
            rules,
            market_price("buy", ref, tick),
            None,
            taker_fee,
        )
        if amount is None:
            refused[reason or "refused"] += 1
            if daily_hit:
                limit_days.add(day)
            continue
        price, cost, fee = market_values("buy", amount, ref, tick)
        spent = cost + fee
        cash -= spent
        exposure_cost += cost
        symbol = symbols[s]
        state = open_position(symbol, amount, price, None, t_ms, plan, tick)
        trade = Trade(symbol, t_ms, price, amount, fee, None, [], strengths[c])  # (positional: hot)
        if track_days:
            realized_by_day[day] = realized_by_day.get(day, ZERO) - fee
        amount_f = float(amount)
        held[s] = (state, trade, rules, c, amount_f)
        m_sym.append(s)
        m_col.append(k)
        m_amount.append(amount_f)
        m_cash.append(-spent)
        x = x_list[c]
        if x < t1:
            heappush(heap, (x, c, s))

    if config.close_at_end:
        last = t1 - 1
        t_last = int(times[last])
        for s, (state, trade, rules, c, amount_f) in list(held.items()):
            a = close_all(state, Decimal(repr(float(frame.close[s, last]))), "end")
            cash += sell(s, last, t_last, trade, rules.price_tick, a.amount, a.price, a.reason, amount_f)
            trades.append(trade)
            traded.append(c)
            del held[s]
    progress(t1 - shown)
    # by entry time, then symbol, from the candidates' arrays (sorting the objects by key costs more)
    idx = np.array(traded, dtype=np.intp)
    names = np.array(symbols)
    rank = np.empty(len(names), dtype=np.intp)
    rank[np.argsort(names, kind="stable")] = np.arange(len(names))
    order = np.lexsort((rank[cand_s[idx]], cand_k[idx])).tolist()
    return Outcome([trades[j] for j in order], moves, cash, refused, limit_days)
