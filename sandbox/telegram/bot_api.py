"""The Bot API methods the bot uses, with Telegram's checks, limits and error texts."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.telegram import errors
from sandbox.telegram.errors import bad_request
from sandbox.telegram.keyboards import parse_reply_markup
from sandbox.telegram.limits import FloodControl
from sandbox.telegram.markup import MarkupError, parse
from sandbox.telegram.media import image_size, mime_type, thumbnail_size
from sandbox.telegram.params import Params, Upload
from sandbox.telegram.state import Chat, StoredFile, StoredMessage, World

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_POLL_TIMEOUT = 50
_PARSE_MODES = {"", "html", "markdown", "markdownv2"}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_WRONG_FILE = "wrong file identifier/HTTP URL specified"

Handler = Callable[[Params], Awaitable[Any]]


class BotApi:
    def __init__(self, world: World, flood: FloodControl) -> None:
        self.world = world
        self.flood = flood
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "sendChatAction": self.send_chat_action,
            "getChat": self.get_chat,
            "getFile": self.get_file,
        }
        for name in ("setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton"):
            handlers[name] = functools.partial(self.set_profile, name)
        # Telegram matches method names case-insensitively
        self.methods = {name.lower(): handler for name, handler in handlers.items()}
        self.method_names = {name.lower(): name for name in handlers}

    async def call(self, method: str, params: Params) -> Any:
        handler = self.methods.get(method.lower())
        if handler is None:
            raise errors.not_found()
        return await handler(params)

    # ------------------------------------------------------------ bot, updates, commands

    async def get_me(self, p: Params) -> Any:
        return {
            **self.world.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def get_updates(self, p: Params) -> Any:
        allowed = p.get_json("allowed_updates")
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(t, str) for t in allowed)
        ):
            raise bad_request("can't parse allowed_updates JSON object")
        self.world.set_allowed_updates(allowed)
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = min(max(p.get_int("timeout") or 0, 0), MAX_POLL_TIMEOUT)
        self.world.confirm_updates(p.get_int("offset"))
        self.world.polls += 1
        mine = self.world.polls
        self.world.changed()  # wakes an older pending poll so it can end with 409
        await self.world.wait_until(lambda: bool(self.world.updates) or self.world.polls != mine, timeout)
        if self.world.polls != mine:
            raise errors.BotApiError(409, errors.POLL_CONFLICT)
        batch = self.world.updates[:limit]
        self.world.stats.updates_delivered += len(batch)
        return batch

    async def delete_webhook(self, p: Params) -> Any:
        if p.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def get_webhook_info(self, p: Params) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self.world.updates)}

    def _commands_key(self, p: Params) -> tuple[dict[str, Any], str, tuple[str, str]]:
        scope = p.get_json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        language = p.get_str("language_code") or ""
        return scope, language, (json.dumps(scope, sort_keys=True), language)

    async def set_my_commands(self, p: Params) -> Any:
        commands = p.get_json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope, language, key = self._commands_key(p)
        clean = [{"command": c["command"], "description": c["description"]} for c in commands]
        self.world.commands[key] = {"scope": scope, "language_code": language, "commands": clean}
        self.world.changed()
        return True

    async def get_my_commands(self, p: Params) -> Any:
        entry = self.world.commands.get(self._commands_key(p)[2])
        return entry["commands"] if entry else []

    async def delete_my_commands(self, p: Params) -> Any:
        self.world.commands.pop(self._commands_key(p)[2], None)
        self.world.changed()
        return True

    async def set_profile(self, method: str, p: Params) -> Any:
        """Profile settings (description, name, menu button): accepted and kept for the control API."""
        self.world.profile.append({"method": method, **p.values})
        return True

    # ------------------------------------------------------------ sending

    def _chat(self, p: Params) -> Chat:
        raw = p.values.get("chat_id")
        if raw in (None, ""):
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request(errors.CHAT_NOT_FOUND) from None
        return self.world.bot_target(chat_id)

    def _format(self, raw: str, p: Params, entities_param: str) -> tuple[str, list[dict[str, Any]]]:
        mode = p.get_str("parse_mode")
        if (mode or "").lower() not in _PARSE_MODES:
            raise bad_request("unsupported parse_mode")
        if not mode:
            given = p.get_json(entities_param)
            return raw, given if isinstance(given, list) else []
        try:
            return parse(raw, mode)
        except MarkupError as e:
            raise bad_request(f"can't parse entities: {e}") from None

    def _text(self, p: Params) -> tuple[str, str, list[dict[str, Any]]]:
        raw = p.get_str("text") or ""
        text, entities = self._format(raw, p, "entities")
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request(errors.MESSAGE_TOO_LONG)
        return raw, text, entities

    def _caption(self, p: Params) -> tuple[str | None, str | None, list[dict[str, Any]]]:
        raw = p.get_str("caption")
        if not raw:
            return None, None, []
        text, entities = self._format(raw, p, "caption_entities")
        if len(text) > MAX_CAPTION:
            raise bad_request(errors.CAPTION_TOO_LONG)
        return raw, text, entities

    def _reply_to(self, p: Params, chat: Chat) -> int | None:
        params = p.get_json("reply_parameters")
        reply_to = p.get_int("reply_to_message_id")
        allow_missing = p.get_bool("allow_sending_without_reply")
        if isinstance(params, dict):
            reply_to = int(params.get("message_id", 0)) or None
            allow_missing = bool(params.get("allow_sending_without_reply", allow_missing))
        if reply_to is None:
            return None
        target = chat.messages.get(reply_to)
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return reply_to

    def _admit(self, chat: Chat) -> None:
        retry_after = self.flood.admit(chat.id)
        if retry_after is not None:
            raise errors.too_many_requests(retry_after)

    def _post(self, chat: Chat, message: StoredMessage) -> Any:
        self.world.add_message(chat, message)
        self.world.stats.messages_sent += 1
        self.world.chat_event(chat, "message", {"message": message.control()})
        return self.world.message_api(message)

    def _new_message(self, chat: Chat, p: Params, **fields: Any) -> StoredMessage:
        return StoredMessage(
            message_id=self.world.next_message_id(chat),
            chat_id=chat.id,
            sender="bot",
            date=self.world.now(),
            parse_mode=p.get_str("parse_mode") or None,
            reply_to_message_id=self._reply_to(p, chat),
            **fields,
        )

    async def send_message(self, p: Params) -> Any:
        chat = self._chat(p)
        raw, text, entities = self._text(p)
        markup = parse_reply_markup(p.values.get("reply_markup"))
        self._reply_to(p, chat)  # validate before spending a flood-control token
        self._admit(chat)
        message = self._new_message(chat, p, text=text, raw_text=raw, entities=entities, markup=markup)
        return self._post(chat, message)

    def _stored_file(self, value: Upload | str | None, kind: str) -> StoredFile:
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(value, str):
            known = self.world.files.get(value)
            if known is None or known.kind != kind:
                raise bad_request(_WRONG_FILE)
            return known
        width = height = 0
        if kind == "photo":
            size = image_size(value.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
        file_id = self.world.new_id("F")
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=hashlib.sha256(value.data).hexdigest()[:16],
            data=value.data,
            file_name=value.filename or f"{kind}.bin",
            mime_type=mime_type(value.filename or ""),
            kind="photo" if kind == "photo" else "document",
            width=width,
            height=height,
        )
        self.world.files[file_id] = stored
        return stored

    def _photo_sizes(self, stored: StoredFile) -> list[dict[str, Any]]:
        thumb_id = f"{stored.file_id}_s"
        self.world.files[thumb_id] = stored  # the small size is an alias: same bytes
        tw, th = thumbnail_size(stored.width, stored.height, 90)
        size = len(stored.data)
        return [
            {
                "file_id": thumb_id,
                "file_unique_id": f"{stored.file_unique_id}s",
                "width": tw,
                "height": th,
                "file_size": size,
            },
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": stored.width,
                "height": stored.height,
                "file_size": size,
            },
        ]

    async def send_photo(self, p: Params) -> Any:
        chat = self._chat(p)
        raw, caption, entities = self._caption(p)
        markup = parse_reply_markup(p.values.get("reply_markup"))
        self._reply_to(p, chat)
        stored = self._stored_file(p.input_file("photo"), "photo")
        self._admit(chat)
        message = self._new_message(
            chat,
            p,
            text=caption,
            raw_text=raw,
            entities=entities,
            markup=markup,
            photo=self._photo_sizes(stored),
            photo_file=stored,
        )
        return self._post(chat, message)

    async def send_document(self, p: Params) -> Any:
        chat = self._chat(p)
        raw, caption, entities = self._caption(p)
        markup = parse_reply_markup(p.values.get("reply_markup"))
        self._reply_to(p, chat)
        stored = self._stored_file(p.input_file("document"), "document")
        self._admit(chat)
        message = self._new_message(
            chat, p, text=caption, raw_text=raw, entities=entities, markup=markup, document=stored
        )
        return self._post(chat, message)

    # ------------------------------------------------------------ editing and deleting

    def _own_message(self, p: Params, missing: str) -> tuple[Chat, StoredMessage]:
        if p.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # the sandbox has no inline mode
        chat = self._chat(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request(missing)
        return chat, message

    def _edited_markup(self, p: Params, message: StoredMessage) -> dict[str, Any] | None:
        """Edits carry only an inline keyboard; leaving it out removes the one shown (as in Telegram)."""
        markup = parse_reply_markup(p.values.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        if markup is None and message.markup and "inline_keyboard" not in message.markup:
            return message.markup  # a reply keyboard sent with the message is not part of the message
        return markup

    def _apply_edit(
        self,
        chat: Chat,
        message: StoredMessage,
        raw: str | None,
        text: str | None,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        p: Params,
    ) -> Any:
        if (message.text, message.entities, message.markup) == (text, entities, markup):
            raise bad_request(errors.NOT_MODIFIED)
        message.raw_text, message.text, message.entities, message.markup = raw, text, entities, markup
        if p.has("parse_mode") or raw is not None:
            message.parse_mode = p.get_str("parse_mode") or None
        message.edit_date = self.world.now()
        message.edit_count += 1
        self.world.chat_event(chat, "edited", {"message": message.control()})
        return self.world.message_api(message)

    async def edit_message_text(self, p: Params) -> Any:
        chat, message = self._own_message(p, "message to edit not found")
        if message.sender != "bot":
            raise bad_request("message can't be edited")
        if message.has_media:
            raise bad_request("there is no text in the message to edit")
        raw, text, entities = self._text(p)
        markup = self._edited_markup(p, message)
        return self._apply_edit(chat, message, raw, text, entities, markup, p)

    async def edit_message_caption(self, p: Params) -> Any:
        chat, message = self._own_message(p, "message to edit not found")
        if message.sender != "bot":
            raise bad_request("message can't be edited")
        if not message.has_media:
            raise bad_request("there is no caption in the message to edit")
        raw, caption, entities = self._caption(p)
        markup = self._edited_markup(p, message)
        return self._apply_edit(chat, message, raw, caption, entities, markup, p)

    async def edit_message_reply_markup(self, p: Params) -> Any:
        chat, message = self._own_message(p, "message to edit not found")
        if message.sender != "bot":
            raise bad_request("message can't be edited")
        markup = self._edited_markup(p, message)
        if markup == message.markup:
            raise bad_request(errors.NOT_MODIFIED)
        message.markup = markup
        message.edit_date = self.world.now()
        message.edit_count += 1
        self.world.chat_event(chat, "edited", {"message": message.control()})
        return self.world.message_api(message)

    def _delete(self, chat: Chat, message: StoredMessage) -> None:
        message.deleted = True
        self.world.chat_event(chat, "deleted", {"message": message.control()})

    async def delete_message(self, p: Params) -> Any:
        # in private chats a bot may delete the user's messages too (e.g. one that carried API keys)
        chat, message = self._own_message(p, "message to delete not found")
        self._delete(chat, message)
        return True

    async def delete_messages(self, p: Params) -> Any:
        chat = self._chat(p)
        ids = p.get_json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids is empty")
        for message_id in ids:
            message = chat.messages.get(int(message_id))
            if message is not None and not message.deleted:
                self._delete(chat, message)
        return True

    # ------------------------------------------------------------ callbacks, actions, chats, files

    async def answer_callback_query(self, p: Params) -> Any:
        record = self.world.callbacks.get(p.get_str("callback_query_id") or "")
        if record is None or record.answered:
            raise bad_request(_QUERY_INVALID)
        record.answered = True
        record.text = p.get_str("text") or None
        record.show_alert = p.get_bool("show_alert")
        record.url = p.get_str("url") or None
        chat = self.world.chats[record.chat_id]
        self.world.chat_event(chat, "callback_answer", {"callback": record.control()})
        return True

    async def send_chat_action(self, p: Params) -> Any:
        chat = self._chat(p)
        action = p.get_str("action") or ""
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.world.chat_event(chat, "chat_action", {"action": action})
        return True

    async def get_chat(self, p: Params) -> Any:
        try:
            chat = self.world.chats[int(p.values.get("chat_id", ""))]
        except (KeyError, TypeError, ValueError):
            raise bad_request(errors.CHAT_NOT_FOUND) from None
        return {
            **chat.user.chat_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def get_file(self, p: Params) -> Any:
        stored = self.world.files.get(p.get_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": p.get_str("file_id"),
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
