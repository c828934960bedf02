"""The equity chart for /pnl: a PNG drawn with matplotlib's object API (no pyplot global state), so it
can run in a worker thread via asyncio.to_thread."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure


def equity_png(points: list[tuple[datetime, Decimal]], title: str, ylabel: str) -> bytes:
    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.add_subplot()
    xs = [float(date2num(ts)) for ts, _ in points]
    ys = [float(eq) for _, eq in points]  # float is fine for drawing; the numbers shown are Decimal
    ax.plot(xs, ys, color="#1f77b4", linewidth=1.6)
    if ys:
        ax.fill_between(xs, ys, min(ys), color="#1f77b4", alpha=0.12)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
