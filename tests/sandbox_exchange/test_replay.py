"""Replaying candle files (feather, CSV, JSON with ccxt/Freqtrade names) through real ccxt."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sandbox.exchange.synthetic import synthetic_ohlcv
from tests.fixtures.exchange import binance_client, start_exchange_server

END = 1_767_225_600_000


def ms(dates: pd.Series) -> list[int]:
    return [int(x) for x in dates.astype("datetime64[ms, UTC]").astype("int64")]


REAL_DATA = Path(os.environ.get("SANDBOX_CANDLES_DIR", "/work/shared/data/binance-5m-2018-01"))


def write_files(folder: Path) -> dict[str, pd.DataFrame]:
    data = synthetic_ohlcv(n_symbols=3, n_candles=600, seed=21, end_ms=END)
    btc, eth, sol = data["BTC/USDT"], data["ETH/USDT"], data["BNB/USDT"]
    btc.to_feather(folder / "BTC_USDT-5m.feather")
    eth.assign(date=eth["date"].dt.strftime("%Y-%m-%d %H:%M:%S+00:00")).to_csv(
        folder / "ETH_USDT-5m.csv", index=False
    )
    rows = [
        [t, o, h, lo, c, v]
        for t, o, h, lo, c, v in zip(
            ms(sol["date"]), sol["open"], sol["high"], sol["low"], sol["close"], sol["volume"], strict=True
        )
    ]
    (folder / "BNB_USDT-5m.json").write_text(json.dumps(rows))
    (folder / "BTC_USDT-1h.feather").write_bytes(b"ignored: other timeframe")
    (folder / "notes.txt").write_text("ignored: not a candle file")
    return {"BTC/USDT": btc, "ETH/USDT": eth, "BNB/USDT": sol}


async def test_replays_feather_csv_and_json(tmp_path: Path) -> None:
    frames = write_files(tmp_path)
    server = await start_exchange_server(candles_dir=tmp_path, history=100)
    client = binance_client(server)
    try:
        markets = await client.load_markets()
        assert sorted(markets) == sorted(frames)
        start = await client.fetch_time()
        first = ms(frames["BTC/USDT"]["date"])[100]
        assert start == first  # the clock starts `history` candles into the files
        for symbol, frame in frames.items():
            served = await client.fetch_ohlcv(symbol, "5m", since=0, limit=101)
            expected = frame.head(101)
            assert [c[0] for c in served] == ms(expected["date"])
            assert [c[4] for c in served] == expected["close"].round(8).tolist()
        await server.advance("50m")
        ticker = await client.fetch_ticker("ETH/USDT")
        assert ticker["last"] == round(frames["ETH/USDT"]["close"].iloc[110], 8)
        await server.advance("3d")  # past the end of the files: prices stay at the last candle
        last = await client.fetch_ohlcv("BNB/USDT", "5m", limit=2)
        assert last[-1][0] == ms(frames["BNB/USDT"]["date"])[-1]
    finally:
        await client.close()
        await server.close()


async def test_orders_fill_at_replayed_prices(tmp_path: Path) -> None:
    frames = write_files(tmp_path)
    server = await start_exchange_server(candles_dir=tmp_path, history=50)
    await server.create_account("r", "r", {"USDT": "100000"})
    client = binance_client(server, "r", "r")
    try:
        await client.load_markets()
        order = await client.create_order("BTC/USDT", "market", "buy", 0.01)
        assert order["average"] == round(frames["BTC/USDT"]["close"].iloc[50], 8)
    finally:
        await client.close()
        await server.close()


@pytest.mark.skipif(
    not REAL_DATA.is_dir(), reason=f"real candles not found at {REAL_DATA} (SANDBOX_CANDLES_DIR)"
)
async def test_replays_real_binance_candles() -> None:
    server = await start_exchange_server(candles_dir=REAL_DATA, history=500)
    client = binance_client(server)
    try:
        markets: dict[str, Any] = await client.load_markets()
        assert "ETH/BTC" in markets and len(markets) >= 5
        real = pd.read_feather(REAL_DATA / "ETH_BTC-5m.feather")
        candles = await client.fetch_ohlcv("ETH/BTC", "5m", limit=5)
        row = real[real["date"] == pd.Timestamp(candles[-1][0], unit="ms", tz="UTC")].iloc[0]
        assert candles[-1][4] == pytest.approx(row["close"], rel=1e-9)
        assert markets["ETH/BTC"]["limits"]["cost"]["min"] == 0.0001
    finally:
        await client.close()
        await server.close()
