"""Numba kernels behind gpu/indicators.py: one parallel loop over symbols, one pass over time each.

Every kernel replays TA-Lib's own arithmetic (same running sums, same seeding, same zero tests) on
the tail of each row that starts at its first fully-valid candle, so results agree to the last bits.
"""
