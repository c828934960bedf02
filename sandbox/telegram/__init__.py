"""A local Telegram Bot API server for the real aiogram client, with a control API for tests and the chat."""

from sandbox.telegram.limits import RateLimits
from sandbox.telegram.server import DEFAULT_TOKEN, TelegramSandbox

__all__ = ["DEFAULT_TOKEN", "RateLimits", "TelegramSandbox"]
