"""Reads candle files named like ccxt/Freqtrade does: BTC_USDT-5m.feather, ETH_BTC-5m.csv, XRP_USDT-1h.json.

Columns date/open/high/low/close/volume (date as UTC datetime, ISO text or epoch ms); JSON may also be
Freqtrade's list-of-lists [[ms, o, h, l, c, v], ...].
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

COLUMNS = ["date", "open", "high", "low", "close", "volume"]
_NAME = re.compile(r"^([A-Z0-9]+)_([A-Z0-9]+)-(\w+)\.(feather|csv|json)$", re.IGNORECASE)


def parse_name(path: Path) -> tuple[str, str, str] | None:
    match = _NAME.match(path.name)
    if not match:
        return None
    return match.group(1).upper(), match.group(2).upper(), match.group(3)


def read_candles(path: Path) -> pd.DataFrame:
    """One file as a frame with int64 `ts` (open time, ms) and float OHLCV, sorted, without duplicates."""
    suffix = path.suffix.lower()
    if suffix == ".feather":
        df = pd.read_feather(path)
    elif suffix == ".csv":
        df = pd.read_csv(path)
    else:
        raw = json.loads(path.read_text())
        df = pd.DataFrame(raw, columns=COLUMNS) if raw and isinstance(raw[0], list) else pd.DataFrame(raw)
    df = df.rename(columns={c: c.lower() for c in df.columns})
    if "date" not in df.columns and "timestamp" in df.columns:
        df = df.rename(columns={"timestamp": "date"})
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {', '.join(missing)}")
    dates = df["date"]
    if pd.api.types.is_numeric_dtype(dates):
        ts = pd.to_datetime(dates, unit="ms", utc=True)
    else:
        ts = pd.to_datetime(dates, utc=True)
    out = pd.DataFrame({"ts": ts.astype("datetime64[ms, UTC]").astype("int64")})
    for col in COLUMNS[1:]:
        out[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    out = out.dropna().drop_duplicates("ts").sort_values("ts").reset_index(drop=True)
    return out


def load_candle_dir(folder: Path, timeframe: str) -> dict[tuple[str, str], pd.DataFrame]:
    """Every file of `timeframe` in `folder`, keyed by (base, quote)."""
    if not folder.is_dir():
        raise ValueError(f"candle directory {folder} does not exist")
    out: dict[tuple[str, str], pd.DataFrame] = {}
    for path in sorted(folder.iterdir()):
        parsed = parse_name(path)
        if parsed is None or parsed[2] != timeframe:
            continue
        frame = read_candles(path)
        if len(frame):
            out[(parsed[0], parsed[1])] = frame
    return out
