"""OHLCV files with Freqtrade naming, and `backtest` end to end: table, JSON and PNG."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest

from core.backtest.cli import add_arguments, main
from core.ohlcv_files import (
    OhlcvFileError,
    file_stem,
    list_symbols,
    load_dir,
    read_ohlcv,
    save_dir,
    write_ohlcv,
)
from tests.backtest.candles import random_candles


@pytest.mark.parametrize("ext", [".feather", ".csv", ".json", ".json.gz", ".parquet"])
def test_every_format_reads_back_the_same_candles(tmp_path: Path, ext: str) -> None:
    df = random_candles(300, 5)
    path = tmp_path / f"{file_stem('BTC/USDT', '5m')}{ext}"
    write_ohlcv(df, path)
    back = read_ohlcv(path)
    assert list(back.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(back["date"].dt.tz) == "UTC"
    pd.testing.assert_frame_equal(back, df, check_dtype=False, check_exact=False, rtol=1e-12)


def test_freqtrade_json_rows_and_iso_csv_dates(tmp_path: Path) -> None:
    (tmp_path / "ETH_USDT-1h.json").write_text(
        "[[1700000000000, 1, 2, 0.5, 1.5, 10], [1699996400000, 1, 1, 1, 1, 0]]"
    )
    df = read_ohlcv(tmp_path / "ETH_USDT-1h.json")
    assert df["date"].iloc[0] == pd.Timestamp(1699996400000, unit="ms", tz="UTC")  # sorted
    (tmp_path / "SOL_USDT-1h.csv").write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,3\n"
    )
    assert read_ohlcv(tmp_path / "SOL_USDT-1h.csv")["close"].tolist() == [1.5]
    assert list_symbols(tmp_path, "1h") == ["ETH/USDT", "SOL/USDT"]
    (tmp_path / "BAD_USDT-1h.csv").write_text("date,open\n1,2\n")
    with pytest.raises(OhlcvFileError, match="BAD_USDT-1h.csv: missing columns high, low, close, volume"):
        load_dir(tmp_path, ["BAD/USDT"], "1h")
    with pytest.raises(OhlcvFileError, match="no candle file for XRP/USDT 1h"):
        load_dir(tmp_path, ["XRP/USDT"], "1h")


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_backtest_command_on_files_writes_json_and_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_dir(
        {"BTC/USDT": random_candles(3000, 11), "ETH/USDT": random_candles(2500, 12)}, tmp_path / "data", "5m"
    )
    out_json, out_png = tmp_path / "out" / "r.json", tmp_path / "out" / "r.png"
    code = main(
        _args(
            [
                "--data",
                str(tmp_path / "data"),
                "--symbols",
                "BTC/USDT,ETH/USDT",
                "--timeframe",
                "5m",
                "--strategy",
                "sma_cross,trend:2",
                "--fee",
                "0.001",
                "--deposit",
                "5000",
                "--no-progress",
                "--from",
                "2024-01-02",
                "--json",
                str(out_json),
                "--chart",
                str(out_png),
            ]
        )
    )
    assert code == 0
    text = capsys.readouterr().out
    for label in (
        "Total return",
        "CAGR",
        "Sharpe",
        "Sortino",
        "Calmar",
        "Max drawdown duration",
        "Win rate",
        "Profit factor",
        "Expectancy",
        "Average holding time",
        "Exposure",
        "Exit reason",
        "BTC/USDT",
    ):
        assert label in text
    report = json.loads(out_json.read_text())
    assert report["metrics"]["trades"] == len(report["trades"]) > 0
    first = report["trades"][0]
    assert {
        "symbol",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "amount",
        "fees",
        "pnl",
        "exit_reason",
    } <= set(first)
    assert first["entry_time_iso"] >= "2024-01-02"
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_backtest_command_without_data_uses_the_given_provider(tmp_path: Path) -> None:
    calls = []

    def provider(n_symbols: int, n_candles: int, timeframe: str, seed: int) -> dict[str, pd.DataFrame]:
        calls.append((n_symbols, n_candles, timeframe, seed))
        return {f"S{i}/USDT": random_candles(n_candles, seed + i) for i in range(n_symbols)}

    out = tmp_path / "r.json"
    assert (
        main(_args(["--candles", "1500", "--n-symbols", "3", "--no-progress", "--json", str(out)]), provider)
        == 0
    )
    assert calls == [(3, 1500, "5m", 42)]
    assert json.loads(out.read_text())["symbols"] == ["S0/USDT", "S1/USDT", "S2/USDT"]
    assert main(_args(["--symbols", "BTC/USDT", "--no-progress"]), provider) == 2
    assert main(_args(["--strategy", "nope", "--no-progress"]), provider) == 2
