"""Market data for the whole universe: markets, incremental OHLCV, universe filter, batched frames.

Usage (one stage per process, shared by every user):

public = make_client("binance", api_url=settings.exchange_api_url)      # one keyless client
stage = build_stage({"binance": public}, redis_url=settings.redis_url,
                    rules=UniverseRules(quote=settings.quote_currency, min_quote_volume=Decimal(1e6)))
result = await stage.run("binance", None, settings.timeframe, 500, blacklist=admin_blacklist)
result.frame            # core.strategy MarketFrame, [symbols, time] float64, finished candles only
await stage.registry.attach(user_client)                               # shared markets, no load
stage.mark_problematic("binance", "XYZ/USDT", "order: -1013 ...")     # after an order's market error
"""

from core.market.backoff import RequestBackoff
from core.market.candle_cache import CandleCache, CandleRecord, MemoryCandleCache, RedisCandleCache
from core.market.frame import MarketFrame, assemble_frame
from core.market.markets import MarketRegistry
from core.market.ohlcv_store import OhlcvStore
from core.market.problematic import ProblematicSymbols
from core.market.stage import MarketStage, StageResult, build_stage
from core.market.universe import UniverseDecision, UniverseRules

__all__ = [
    "CandleCache",
    "CandleRecord",
    "MarketFrame",
    "MarketRegistry",
    "MarketStage",
    "MemoryCandleCache",
    "OhlcvStore",
    "ProblematicSymbols",
    "RedisCandleCache",
    "RequestBackoff",
    "StageResult",
    "UniverseDecision",
    "UniverseRules",
    "assemble_frame",
    "build_stage",
]
