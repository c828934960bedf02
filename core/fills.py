"""The one fill model shared by the paper account and the backtester.

The sandbox exchange implements the same rules (it may not import core); a test proves both agree.
- A market order fills at the reference price moved against the taker by `slippage`, rounded to the
  market's tick in the taker's disfavour (up for buys, down for sells).
- A limit order that is marketable when placed fills like a market order at the reference price
  (never worse than its limit); a resting limit fills at its limit price once the price reaches it
  (buy: low <= limit, sell: high >= limit) and pays the maker fee.
- Fees are charged in the quote currency: cost * rate, rounded up to 1e-8.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

FEE_QUANTUM = Decimal("1e-8")


def round_to_tick(price: Decimal, tick: Decimal | None, up: bool) -> Decimal:
    if tick is None or tick <= 0:
        return price
    steps = (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return steps * tick


@dataclass(frozen=True)
class Fill:
    price: Decimal
    amount: Decimal
    cost: Decimal
    fee: Decimal
    taker: bool


@dataclass(frozen=True)
class FillModel:
    taker_fee: Decimal = Decimal("0.001")
    maker_fee: Decimal = Decimal("0.001")
    slippage: Decimal = Decimal("0")

    def fee(self, cost: Decimal, taker: bool = True) -> Decimal:
        rate = self.taker_fee if taker else self.maker_fee
        return (cost * rate).quantize(FEE_QUANTUM, rounding=ROUND_CEILING)

    def market_price(self, side: str, ref: Decimal, tick: Decimal | None = None) -> Decimal:
        if side == "buy":
            return round_to_tick(ref * (1 + self.slippage), tick, up=True)
        return round_to_tick(ref * (1 - self.slippage), tick, up=False)

    def market(self, side: str, amount: Decimal, ref: Decimal, tick: Decimal | None = None) -> Fill:
        price, cost, fee = self.market_values(side, amount, ref, tick)
        return Fill(price, amount, cost, fee, taker=True)

    def market_values(
        self, side: str, amount: Decimal, ref: Decimal, tick: Decimal | None = None
    ) -> tuple[Decimal, Decimal, Decimal]:
        """`market` as (price, cost, fee) without the record, for the backtester's loop."""
        price = self.market_price(side, ref, tick)
        cost = price * amount
        return price, cost, self.fee(cost, taker=True)

    def limit_on_place(
        self, side: str, amount: Decimal, limit: Decimal, ref: Decimal, tick: Decimal | None = None
    ) -> Fill | None:
        """A limit that crosses the book when placed fills at once as a taker, else rests (None)."""
        price = self.market_price(side, ref, tick)
        if (side == "buy" and price <= limit) or (side == "sell" and price >= limit):
            cost = price * amount
            return Fill(price, amount, cost, self.fee(cost, taker=True), taker=True)
        return None

    def limit_resting(
        self, side: str, amount: Decimal, limit: Decimal, low: Decimal, high: Decimal
    ) -> Fill | None:
        """A resting limit fills at its own price once the candle's range reaches it."""
        if (side == "buy" and low <= limit) or (side == "sell" and high >= limit):
            cost = limit * amount
            return Fill(limit, amount, cost, self.fee(cost, taker=False), taker=False)
        return None
