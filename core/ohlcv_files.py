"""OHLCV candle files with ccxt/Freqtrade naming: `BTC_USDT-5m.feather`, `.csv`, `.json` (`.json.gz`).

Every reader returns a DataFrame with columns date (UTC), open, high, low, close, volume, sorted by
date with duplicates dropped. JSON is Freqtrade's layout, a list of [ms, open, high, low, close,
volume] rows (a list of objects with those column names is read too). CSV and feather have a header;
their date column may be epoch milliseconds or ISO text.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

COLUMNS = ["date", "open", "high", "low", "close", "volume"]
EXTENSIONS = (".feather", ".parquet", ".csv", ".json", ".json.gz")


class OhlcvFileError(Exception):
    """A candle file is missing or unreadable; the message names the file."""


def file_stem(symbol: str, timeframe: str) -> str:
    """'BTC/USDT', '5m' -> 'BTC_USDT-5m' (Freqtrade's pair file name; ':' settle suffix -> '_')."""
    return f"{symbol.replace('/', '_').replace(':', '_')}-{timeframe}"


def symbol_from_stem(stem: str) -> tuple[str, str]:
    """'BTC_USDT-5m' -> ('BTC/USDT', '5m')."""
    pair, _, timeframe = stem.rpartition("-")
    base, _, quote = pair.partition("_")
    if not (base and quote and timeframe):
        raise ValueError(f"not a pair file name: {stem!r}")
    return f"{base}/{quote}", timeframe


def _split_name(path: Path) -> tuple[str, str] | None:
    name = path.name
    for ext in EXTENSIONS:
        if name.endswith(ext):
            return name[: -len(ext)], ext
    return None


def find_file(directory: Path, symbol: str, timeframe: str) -> Path:
    stem = file_stem(symbol, timeframe)
    for ext in EXTENSIONS:
        path = directory / f"{stem}{ext}"
        if path.is_file():
            return path
    raise OhlcvFileError(f"no candle file for {symbol} {timeframe} in {directory} (looked for {stem}.*)")


def list_symbols(directory: Path, timeframe: str) -> list[str]:
    """The symbols that have a candle file for this timeframe in the directory."""
    found = set()
    for path in directory.iterdir():
        split = _split_name(path)
        if split is None:
            continue
        try:
            symbol, tf = symbol_from_stem(split[0])
        except ValueError:
            continue
        if tf == timeframe:
            found.add(symbol)
    return sorted(found)


def read_ohlcv(path: Path) -> pd.DataFrame:
    split = _split_name(path)
    if split is None:
        raise OhlcvFileError(f"{path}: unknown candle file type (use {', '.join(EXTENSIONS)})")
    ext = split[1]
    try:
        if ext == ".feather":
            df = pd.read_feather(path)
        elif ext == ".parquet":
            df = pd.read_parquet(path)
        elif ext == ".csv":
            df = pd.read_csv(path)
        else:
            df = _read_json(path)
    except OhlcvFileError:
        raise
    except Exception as exc:
        raise OhlcvFileError(f"{path}: cannot read candles: {exc}") from None
    return normalise(df, str(path))


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode, encoding="utf-8")


def _read_json(path: Path) -> pd.DataFrame:
    with _open_text(path, "r") as fh:
        raw: Any = json.load(fh)
    if isinstance(raw, list) and raw and isinstance(raw[0], list):
        return pd.DataFrame([row[:6] for row in raw], columns=COLUMNS)
    if isinstance(raw, list):
        return pd.DataFrame(raw)
    raise OhlcvFileError(f"{path}: expected a JSON list of candles")


def normalise(df: pd.DataFrame, where: str = "candles") -> pd.DataFrame:
    """Lower-case the columns, make `date` UTC, sort, drop duplicates and rows with no prices."""
    df = df.rename(columns={c: str(c).lower() for c in df.columns})
    if "date" not in df.columns:
        for alt in ("timestamp", "time", "ts"):
            if alt in df.columns:
                df = df.rename(columns={alt: "date"})
                break
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise OhlcvFileError(f"{where}: missing columns {', '.join(missing)}")
    df = df[COLUMNS].copy()
    if pd.api.types.is_numeric_dtype(df["date"]):
        df["date"] = pd.to_datetime(df["date"].astype("int64"), unit="ms", utc=True)
    else:
        df["date"] = pd.to_datetime(df["date"], utc=True)
    for col in COLUMNS[1:]:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df = df.dropna(subset=["open", "high", "low", "close"])
    df = df.sort_values("date").drop_duplicates("date", keep="last").reset_index(drop=True)
    return df


def load_dir(directory: Path, symbols: Sequence[str] | None, timeframe: str) -> dict[str, pd.DataFrame]:
    """Candles for the symbols (default: every symbol with a file for the timeframe)."""
    if not directory.is_dir():
        raise OhlcvFileError(f"{directory}: not a directory")
    names = list(symbols) if symbols else list_symbols(directory, timeframe)
    if not names:
        raise OhlcvFileError(f"{directory}: no candle files for timeframe {timeframe}")
    return {s: read_ohlcv(find_file(directory, s, timeframe)) for s in names}


def write_ohlcv(df: pd.DataFrame, path: Path) -> None:
    """Write candles in the format the extension names (JSON: Freqtrade's list of rows)."""
    data = normalise(df)
    split = _split_name(path)
    ext = split[1] if split else path.suffix
    if ext == ".feather":
        data.to_feather(path)
    elif ext == ".parquet":
        data.to_parquet(path)
    elif ext == ".csv":
        out = data.copy()
        out["date"] = out["date"].astype("datetime64[ms, UTC]").astype("int64")
        out.to_csv(path, index=False)
    elif ext in (".json", ".json.gz"):
        ms = data["date"].astype("datetime64[ms, UTC]").astype("int64").tolist()
        rows = [
            [t, *vals]
            for t, vals in zip(ms, data[COLUMNS[1:]].itertuples(index=False, name=None), strict=True)
        ]
        with _open_text(path, "w") as fh:
            json.dump(rows, fh)
    else:
        raise OhlcvFileError(f"{path}: unknown candle file type (use {', '.join(EXTENSIONS)})")


def save_dir(
    candles: Mapping[str, pd.DataFrame], directory: Path, timeframe: str, ext: str = ".feather"
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for symbol, df in candles.items():
        write_ohlcv(df, directory / f"{file_stem(symbol, timeframe)}{ext}")
