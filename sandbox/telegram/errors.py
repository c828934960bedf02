"""Bot API errors with Telegram's exact status codes and description texts."""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """An error answered in Telegram's envelope: {ok: false, error_code, description, parameters?}."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {detail}")


def unauthorized() -> BotApiError:
    return BotApiError(401, "Unauthorized")


def blocked() -> BotApiError:
    return BotApiError(403, "Forbidden: bot was blocked by the user")


def not_found() -> BotApiError:
    return BotApiError(404, "Not Found")


def too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


CHAT_NOT_FOUND = "chat not found"
MESSAGE_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
