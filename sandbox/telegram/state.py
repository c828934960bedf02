"""What the sandbox Telegram world holds: users, private chats, messages, files, pending updates, commands.

Everything runs in one event loop, so plain mutation is safe; waiters (long polls) are woken through
`World.changed()`, which every mutation calls.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.telegram.errors import CHAT_NOT_FOUND, bad_request, blocked
from sandbox.telegram.keyboards import inline_buttons

ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Telegram's default when allowed_updates is empty or was never given
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}


class ControlError(Exception):
    """A control-API request that cannot be carried out (answered as {"ok": false, "error": ...})."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass
class SandboxUser:
    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    blocked: bool = False

    def to_api(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat_api(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_name: str
    mime_type: str
    kind: Literal["photo", "document"]
    width: int = 0
    height: int = 0

    @property
    def file_path(self) -> str:
        folder = "photos" if self.kind == "photo" else "documents"
        return f"{folder}/{self.file_id}_{self.file_name}"

    def control(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "file_id": self.file_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.data),
            "url": f"/sandbox/files/{self.file_id}",
        }
        if self.kind == "photo":
            info.update(width=self.width, height=self.height)
        return info


@dataclass
class StoredMessage:
    message_id: int
    chat_id: int
    sender: Literal["bot", "user"]
    date: int
    text: str | None = None  # what the user sees (text or caption, markup applied)
    raw_text: str | None = None  # as the bot sent it
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    markup: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None  # PhotoSize objects, smallest first
    photo_file: StoredFile | None = None
    document: StoredFile | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def has_media(self) -> bool:
        return self.photo_file is not None or self.document is not None

    def to_api(self, sender: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        """The Bot API Message object."""
        msg: dict[str, Any] = {"message_id": self.message_id, "date": self.date, "chat": chat, "from": sender}
        text_key, entities_key = ("caption", "caption_entities") if self.has_media else ("text", "entities")
        if self.text is not None:
            msg[text_key] = self.text
            if self.entities:
                msg[entities_key] = self.entities
        if self.photo is not None:
            msg["photo"] = self.photo
        if self.document is not None:
            doc = self.document
            msg["document"] = {
                "file_id": doc.file_id,
                "file_unique_id": doc.file_unique_id,
                "file_name": doc.file_name,
                "mime_type": doc.mime_type,
                "file_size": len(doc.data),
            }
        if self.markup and "inline_keyboard" in self.markup:
            msg["reply_markup"] = {"inline_keyboard": self.markup["inline_keyboard"]}
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        return msg

    def control(self) -> dict[str, Any]:
        """The control API's view: what the chat shows for this message."""
        keyboard = None
        if self.markup and "keyboard" in self.markup:
            keyboard = [[b["text"] for b in row] for row in self.markup["keyboard"]]
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "sender": self.sender,
            "date": self.date,
            "text": self.text,
            "raw_text": self.raw_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "buttons": inline_buttons(self.markup),
            "keyboard": keyboard,
            "remove_keyboard": bool(self.markup and self.markup.get("remove_keyboard")),
            "photo": self.photo_file.control() if self.photo_file else None,
            "document": self.document.control() if self.document else None,
            "reply_to_message_id": self.reply_to_message_id,
            "edited": self.edit_count > 0,
            "edit_count": self.edit_count,
            "deleted": self.deleted,
        }


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None

    def control(self) -> dict[str, Any]:
        return {
            "callback_query_id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass
class Chat:
    user: SandboxUser
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    next_message_id: int = 1

    @property
    def id(self) -> int:
        return self.user.id

    def bot_messages(self, *, deleted: bool) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.sender == "bot" and m.deleted == deleted]


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    messages_sent: int = 0
    updates_delivered: int = 0

    def control(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "errors": {str(code): n for code, n in self.errors.items()},
            "too_many_requests": self.errors[429],
            "forbidden": self.errors[403],
            "messages_sent": self.messages_sent,
            "updates_delivered": self.updates_delivered,
        }


class World:
    def __init__(self, bot: dict[str, Any], clock: Callable[[], float] = time.time) -> None:
        self.bot = bot  # the bot's User object
        self.clock = clock
        self.users: dict[int, SandboxUser] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.commands: dict[tuple[str, str], dict[str, Any]] = {}
        self.profile: list[dict[str, Any]] = []  # setMyDescription & co., in order
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.stats = Stats()
        self.seq = 0  # bumps on every change; chat events carry it
        self.closing = False
        self.polls = 0  # getUpdates calls so far: a newer one ends an older pending one (409, as on Telegram)
        self._next_update_id = 1
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    # ------------------------------------------------------------ waiting

    def changed(self) -> None:
        self.seq += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait (without polling) until predicate() holds, the timeout passes or the server closes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, seconds)
        while True:
            if predicate():
                return True
            remaining = deadline - loop.time()
            if self.closing or remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return predicate()

    def close(self) -> None:
        self.closing = True
        self.changed()

    # ------------------------------------------------------------ ids and time

    def now(self) -> int:
        return int(self.clock())

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}_{secrets.token_hex(4)}"  # opaque like Telegram's file ids

    # ------------------------------------------------------------ users and chats

    def user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> SandboxUser:
        """The user (created on first sight) with any given profile fields updated."""
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = SandboxUser(user_id, first_name or f"User{user_id}")
        if first_name:
            user.first_name = first_name
        if username:
            user.username = username
        if language_code:
            user.language_code = language_code
        return user

    def chat(self, user: SandboxUser) -> Chat:
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = Chat(user)
        return chat

    def bot_target(self, chat_id: int | None) -> Chat:
        """The chat a bot method addresses; Telegram's 400 / 403 when it cannot."""
        if chat_id is None:
            raise bad_request("chat_id is empty")
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        if chat.user.blocked:
            raise blocked()
        return chat

    def add_message(self, chat: Chat, message: StoredMessage) -> StoredMessage:
        chat.messages[message.message_id] = message
        return message

    def next_message_id(self, chat: Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def chat_event(self, chat: Chat, kind: str, payload: dict[str, Any]) -> None:
        self.changed()
        chat.events.append({"seq": self.seq, "kind": kind, **payload})

    def sender_of(self, message: StoredMessage) -> dict[str, Any]:
        return self.bot if message.sender == "bot" else self.chats[message.chat_id].user.to_api()

    def message_api(self, message: StoredMessage) -> dict[str, Any]:
        chat = self.chats[message.chat_id]
        api = message.to_api(self.sender_of(message), chat.user.chat_api())
        target = chat.messages.get(message.reply_to_message_id or 0)
        if target is not None and not target.deleted:
            api["reply_to_message"] = target.to_api(self.sender_of(target), chat.user.chat_api())
        return api

    # ------------------------------------------------------------ updates

    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for getUpdates; None if allowed_updates filters it out (Telegram drops those)."""
        if kind not in self.allowed_updates:
            return None
        update_id = self._next_update_id
        self._next_update_id += 1
        self.updates.append({"update_id": update_id, kind: payload})
        self.changed()
        return update_id

    def confirm_updates(self, offset: int | None) -> None:
        if offset is None:
            return
        if offset < 0:
            self.updates = self.updates[offset:]  # keep the last -offset, forget the rest
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def set_allowed_updates(self, types: list[str] | None) -> None:
        if types is None:
            return  # "If not specified, the previous setting will be used."
        chosen = frozenset(types) & ALL_UPDATE_TYPES
        self.allowed_updates = chosen or DEFAULT_UPDATE_TYPES
