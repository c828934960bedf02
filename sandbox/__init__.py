"""Local stand-ins speaking the real wire protocols (Telegram Bot API, exchange REST); no internet."""
