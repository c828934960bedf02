"""Market-data payloads (klines, 24h tickers, book tickers, depth) from a symbol's candles at `now`."""

from __future__ import annotations

import zlib
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np

from sandbox.exchange.markets import Symbol

DAY_MS = 86_400_000
HALF_SPREAD = Decimal("0.0001")


def _f8(x: float) -> str:
    return f"{x:.8f}"


def klines(
    sym: Symbol,
    now: int,
    base_ms: int,
    interval_ms: int,
    start: int | None,
    end: int | None,
    limit: int,
) -> list[list[Any]]:
    """Binance kline rows; `interval_ms` must be a multiple of the base timeframe (candles are aggregated)."""
    visible = sym.index_at(now) + 1
    if visible <= 0:
        return []
    ts = sym.ts[:visible]
    k = interval_ms // base_ms
    hi_t = now if end is None else min(now, end)
    hi = int(np.searchsorted(ts, hi_t, side="right"))
    if start is not None:
        lo = int(np.searchsorted(ts, -(-start // interval_ms) * interval_ms, side="left"))
        hi = min(hi, lo + limit * k)
    else:
        lo = max(0, hi - (limit + 1) * k)  # one bucket spare: the oldest may be partial
    if hi <= lo:
        return []
    t = ts[lo:hi]
    o, h, low, c, v = sym.o[lo:hi], sym.h[lo:hi], sym.lo[lo:hi], sym.c[lo:hi], sym.v[lo:hi]
    if k > 1:
        buckets = (t // interval_ms) * interval_ms
        starts = np.concatenate([[0], np.nonzero(np.diff(buckets))[0] + 1])
        ends = np.concatenate([starts[1:], [len(t)]])
        t = buckets[starts]
        o, c = o[starts], c[ends - 1]
        h, low = np.maximum.reduceat(h, starts), np.minimum.reduceat(low, starts)
        v = np.add.reduceat(v, starts)
    keep = slice(0, limit) if start is not None else slice(max(0, len(t) - limit), len(t))
    t, o, h, low, c, v = t[keep], o[keep], h[keep], low[keep], c[keep], v[keep]
    rows = []
    typical = (o + h + low + c) / 4
    for i in range(len(t)):
        vol = float(v[i])
        rows.append(
            [
                int(t[i]),
                sym.fmt_price(o[i]),
                sym.fmt_price(h[i]),
                sym.fmt_price(low[i]),
                sym.fmt_price(c[i]),
                _f8(vol),
                int(t[i]) + interval_ms - 1,
                _f8(vol * float(typical[i])),
                max(1, int(vol * 7) % 5000 + 10),
                _f8(vol / 2),
                _f8(vol * float(typical[i]) / 2),
                "0",
            ]
        )
    return rows


def bid_ask(sym: Symbol, last: Decimal) -> tuple[Decimal, Decimal]:
    tick = sym.tick
    bid = ((last * (1 - HALF_SPREAD)) / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
    ask = ((last * (1 + HALF_SPREAD)) / tick).to_integral_value(rounding=ROUND_CEILING) * tick
    return min(bid, last - tick) if last > tick else bid, max(ask, last + tick)


def _qty_at(sym: Symbol, index: int, level: int, volume: float) -> float:
    noise = zlib.crc32(f"{sym.id}:{index}:{level}".encode()) / 2**32
    return max(float(sym.step), volume / 40 * (0.3 + 1.4 * noise) * (1 + level * 0.08))


def ticker_24h(sym: Symbol, now: int, base_ms: int) -> dict[str, Any]:
    index = sym.index_at(now)
    if index < 0:
        index = 0
    n = max(1, DAY_MS // base_ms)
    lo = max(0, index - n + 1)
    sl = slice(lo, index + 1)
    o, c = float(sym.o[lo]), float(sym.c[index])
    v = sym.v[sl]
    typical = (sym.h[sl] + sym.lo[sl] + sym.c[sl]) / 3
    qv = float((v * typical).sum())
    vol = float(v.sum())
    last = sym.price(c)
    bid, ask = bid_ask(sym, last)
    change = c - o
    return {
        "symbol": sym.id,
        "priceChange": sym.fmt_price(change),
        "priceChangePercent": f"{(change / o * 100 if o else 0):.3f}",
        "weightedAvgPrice": sym.fmt_price(qv / vol if vol else c),
        "prevClosePrice": sym.fmt_price(sym.c[lo - 1] if lo > 0 else o),
        "lastPrice": sym.fmt_price(last),
        "lastQty": sym.fmt_qty(sym.step),
        "bidPrice": sym.fmt_price(bid),
        "bidQty": _f8(_qty_at(sym, index, 0, float(sym.v[index]))),
        "askPrice": sym.fmt_price(ask),
        "askQty": _f8(_qty_at(sym, index, 1000, float(sym.v[index]))),
        "openPrice": sym.fmt_price(o),
        "highPrice": sym.fmt_price(float(sym.h[sl].max())),
        "lowPrice": sym.fmt_price(float(sym.lo[sl].min())),
        "volume": _f8(vol),
        "quoteVolume": _f8(qv),
        "openTime": int(sym.ts[lo]),
        "closeTime": now,
        "firstId": index * 1000,
        "lastId": index * 1000 + 999,
        "count": 1000 * (index - lo + 1),
    }


def book_ticker(sym: Symbol, now: int) -> dict[str, Any]:
    index = max(0, sym.index_at(now))
    last = sym.price(sym.c[index])
    bid, ask = bid_ask(sym, last)
    volume = float(sym.v[index])
    return {
        "symbol": sym.id,
        "bidPrice": sym.fmt_price(bid),
        "bidQty": _f8(_qty_at(sym, index, 0, volume)),
        "askPrice": sym.fmt_price(ask),
        "askQty": _f8(_qty_at(sym, index, 1000, volume)),
    }


def last_price(sym: Symbol, now: int) -> dict[str, Any]:
    return {"symbol": sym.id, "price": sym.fmt_price(sym.c[max(0, sym.index_at(now))])}


def depth(sym: Symbol, now: int, limit: int) -> dict[str, Any]:
    index = max(0, sym.index_at(now))
    last = sym.price(sym.c[index])
    bid, ask = bid_ask(sym, last)
    volume = float(sym.v[index])
    bids, asks = [], []
    for level in range(limit):
        b = bid - sym.tick * level
        if b > 0:
            bids.append([sym.fmt_price(b), _f8(_qty_at(sym, index, level, volume))])
        asks.append([sym.fmt_price(ask + sym.tick * level), _f8(_qty_at(sym, index, 1000 + level, volume))])
    return {"lastUpdateId": index * 1000 + 1, "bids": bids, "asks": asks}
