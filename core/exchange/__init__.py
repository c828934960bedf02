"""Exchange access: ccxt clients (live) built in one place."""

from core.exchange.ccxt_factory import make_client, share_markets

__all__ = ["make_client", "share_markets"]
