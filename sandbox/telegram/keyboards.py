"""reply_markup validation: inline keyboards are checked the way Telegram checks them."""

from __future__ import annotations

import json
from typing import Any

from sandbox.telegram.errors import BUTTON_DATA_INVALID, bad_request

MAX_CALLBACK_DATA_BYTES = 64
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def parse_reply_markup(raw: Any) -> dict[str, Any] | None:
    """The markup as a dict (inline_keyboard / keyboard / remove_keyboard / force_reply), or None."""
    if raw is None or raw == "":
        return None
    markup = raw
    if isinstance(raw, str):
        try:
            markup = json.loads(raw)
        except json.JSONDecodeError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _inline_rows(markup["inline_keyboard"])}
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
        keyboard = [[b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in rows]
        return {**markup, "keyboard": [[{"text": t} for t in row] for row in keyboard]}
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_rows(rows: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    return [[_inline_button(b) for b in row] for row in rows]


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text is not specified")
    if not any(key in button for key in _INLINE_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def inline_buttons(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    rows: list[list[dict[str, Any]]] = markup["inline_keyboard"]
    return rows
