"""Domain and services of the trading bot. Never imports aiogram."""
