"""A local exchange speaking Binance spot's REST dialect (see sandbox/README.md, "Exchange server")."""

from sandbox.exchange.server import ExchangeSandbox
from sandbox.exchange.synthetic import synthetic_ohlcv

__all__ = ["ExchangeSandbox", "synthetic_ohlcv"]
