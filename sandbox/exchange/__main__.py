"""python -m sandbox.exchange --port N [--candles DIR] [--speed X] [--symbols N] [--seed S]"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from decimal import Decimal

from sandbox.exchange.server import ExchangeSandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.exchange", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument(
        "--candles", default=None, help="replay BASE_QUOTE-TF.{feather,csv,json} files from DIR"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="market clock x real time; 0 = manual only")
    parser.add_argument("--symbols", type=int, default=50, help="synthetic symbols (ignored with --candles)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timeframe", default="5m")
    parser.add_argument("--taker-fee", default="0.001")
    parser.add_argument("--maker-fee", default="0.001")
    parser.add_argument("--slippage", default="0")
    parser.add_argument("--weight-limit", type=int, default=6000)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    sandbox = ExchangeSandbox(
        n_symbols=args.symbols,
        seed=args.seed,
        candles_dir=args.candles,
        speed=args.speed,
        timeframe=args.timeframe,
        taker_fee=Decimal(args.taker_fee),
        maker_fee=Decimal(args.maker_fee),
        slippage=Decimal(args.slippage),
        weight_limit=args.weight_limit,
    )
    url = await sandbox.start(args.host, args.port)
    print(
        f"sandbox exchange (Binance spot dialect) on {url}: {len(sandbox.state.markets.listed())} symbols",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
