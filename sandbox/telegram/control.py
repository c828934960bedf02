"""The control API (JSON under /sandbox/): play the users' side and inspect what the bot did."""

from __future__ import annotations

import itertools
import json
from typing import Any

from aiohttp import web

from sandbox.telegram.keyboards import inline_buttons
from sandbox.telegram.state import CallbackRecord, Chat, ControlError, SandboxUser, StoredMessage, World

MAX_WAIT = 60.0


def _ok(**body: Any) -> web.Response:
    return web.json_response({"ok": True, **body})


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None


def _wait(request: web.Request) -> float:
    try:
        return min(max(float(request.query.get("wait", "0")), 0.0), MAX_WAIT)
    except ValueError:
        raise ControlError(400, "wait must be a number of seconds") from None


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise ControlError(400, "body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


class ControlApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self._callback_ids = itertools.count(1)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/sandbox/users/{user_id}/messages", self.user_message),
            web.post("/sandbox/users/{user_id}/callbacks", self.user_callback),
            web.post("/sandbox/users/{user_id}/block", self.block),
            web.post("/sandbox/users/{user_id}/unblock", self.unblock),
            web.get("/sandbox/chats/{chat_id}/messages", self.chat_messages),
            web.get("/sandbox/chats/{chat_id}/events", self.chat_events),
            web.get("/sandbox/callbacks/{callback_id}", self.callback_answer),
            web.get("/sandbox/stats", self.stats),
            web.get("/sandbox/commands", self.commands),
            web.get("/sandbox/files/{file_id}", self.file),
        ]

    @web.middleware
    async def errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except ControlError as e:
            return web.json_response({"ok": False, "error": e.error}, status=e.status)

    # ------------------------------------------------------------ the users' side

    def _user(self, request: web.Request, body: dict[str, Any] | None = None) -> SandboxUser:
        body = body or {}
        return self.world.user(
            _int(request.match_info["user_id"], "user_id"),
            first_name=body.get("first_name"),
            username=body.get("username"),
            language_code=body.get("language_code"),
        )

    async def user_message(self, request: web.Request) -> web.Response:
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ControlError(400, "text must be a non-empty string")
        user = self._user(request, body)
        if user.blocked:
            raise ControlError(409, f"user {user.id} has blocked the bot; POST .../unblock first")
        chat = self.world.chat(user)
        reply_to = body.get("reply_to_message_id")
        if reply_to is not None and _int(reply_to, "reply_to_message_id") not in chat.messages:
            raise ControlError(400, f"message {reply_to} is not in chat {chat.id}")
        message = StoredMessage(
            message_id=self.world.next_message_id(chat),
            chat_id=chat.id,
            sender="user",
            date=self.world.now(),
            text=text,
            raw_text=text,
            entities=_command_entities(text),
            reply_to_message_id=None if reply_to is None else int(reply_to),
        )
        self.world.add_message(chat, message)
        update_id = self.world.push_update("message", self.world.message_api(message))
        return _ok(message_id=message.message_id, chat_id=chat.id, update_id=update_id)

    async def user_callback(self, request: web.Request) -> web.Response:
        body = await _body(request)
        user = self._user(request)
        chat = self.world.chats.get(user.id)
        if chat is None:
            raise ControlError(400, f"user {user.id} has no chat with the bot")
        if user.blocked:
            raise ControlError(409, f"user {user.id} has blocked the bot")
        message_id = _int(body.get("message_id"), "message_id")
        data = body.get("data")
        if not isinstance(data, str):
            raise ControlError(400, "data must be a string")
        message = chat.messages.get(message_id)
        if not body.get("forge"):
            _check_button(chat, message, message_id, data)
        record = CallbackRecord(str(10**15 + next(self._callback_ids)), user.id, chat.id, message_id, data)
        self.world.callbacks[record.id] = record
        update_id = self.world.push_update(
            "callback_query",
            {
                "id": record.id,
                "from": user.to_api(),
                "message": _callback_message(self.world, chat, message, message_id),
                "chat_instance": f"{chat.id}00",
                "data": data,
            },
        )
        return _ok(callback_query_id=record.id, update_id=update_id)

    async def block(self, request: web.Request) -> web.Response:
        return self._set_blocked(self._user(request), blocked=True)

    async def unblock(self, request: web.Request) -> web.Response:
        return self._set_blocked(self._user(request), blocked=False)

    def _set_blocked(self, user: SandboxUser, *, blocked: bool) -> web.Response:
        chat = self.world.chat(user)
        if user.blocked != blocked:
            user.blocked = blocked
            statuses = ("member", "kicked") if blocked else ("kicked", "member")
            old: dict[str, Any] = {"status": statuses[0], "user": self.world.bot}
            new: dict[str, Any] = {"status": statuses[1], "user": self.world.bot}
            if blocked:
                new["until_date"] = 0
            self.world.push_update(
                "my_chat_member",
                {
                    "chat": chat.user.chat_api(),
                    "from": user.to_api(),
                    "date": self.world.now(),
                    "old_chat_member": old,
                    "new_chat_member": new,
                },
            )
            self.world.changed()
        return _ok(user_id=user.id, blocked=blocked)

    # ------------------------------------------------------------ inspecting

    async def chat_messages(self, request: web.Request) -> web.Response:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        after = _int(request.query.get("after", "0"), "after")
        count = max(1, _int(request.query.get("count", "1"), "count"))

        def shown() -> list[StoredMessage]:
            chat = self.world.chats.get(chat_id)
            if chat is None:
                return []
            return [m for m in chat.bot_messages(deleted=False) if m.message_id > after]

        await self.world.wait_until(lambda: len(shown()) >= count, _wait(request))
        chat = self.world.chats.get(chat_id)
        every = list(chat.messages.values()) if chat else []
        return _ok(
            chat_exists=chat is not None,
            messages=[m.control() for m in shown()],
            deleted=[m.control() for m in every if m.deleted],
            user_messages=[m.control() for m in every if m.sender == "user" and not m.deleted],
        )

    async def chat_events(self, request: web.Request) -> web.Response:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        after = _int(request.query.get("after", "0"), "after")

        def events() -> list[dict[str, Any]]:
            chat = self.world.chats.get(chat_id)
            return [e for e in chat.events if e["seq"] > after] if chat else []

        await self.world.wait_until(lambda: bool(events()), _wait(request))
        return _ok(events=events(), seq=self.world.seq)

    async def callback_answer(self, request: web.Request) -> web.Response:
        record = self.world.callbacks.get(request.match_info["callback_id"])
        if record is None:
            raise ControlError(404, "no such callback query")
        await self.world.wait_until(lambda: record.answered, _wait(request))
        return _ok(**record.control())

    async def stats(self, request: web.Request) -> web.Response:
        return _ok(**self.world.stats.control(), pending_updates=len(self.world.updates))

    async def commands(self, request: web.Request) -> web.Response:
        return _ok(commands=list(self.world.commands.values()), profile=self.world.profile)

    async def file(self, request: web.Request) -> web.Response:
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise ControlError(404, "no such file")
        return web.Response(
            body=stored.data,
            content_type=stored.mime_type,
            headers={"Content-Disposition": f'attachment; filename="{stored.file_name}"'},
        )


def _command_entities(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]


def _check_button(chat: Chat, message: StoredMessage | None, message_id: int, data: str) -> None:
    """A real client can only press a button that is on screen."""
    if message is None or message.deleted or message.sender != "bot":
        raise ControlError(400, f"message {message_id} is not shown in chat {chat.id}")
    datas = [b.get("callback_data") for row in inline_buttons(message.markup) for b in row]
    if data not in datas:
        raise ControlError(400, f"message {message_id} has no button with callback_data {data!r}")


def _callback_message(
    world: World, chat: Chat, message: StoredMessage | None, message_id: int
) -> dict[str, Any]:
    if message is None or message.deleted:
        # Telegram's InaccessibleMessage: date 0
        return {"chat": chat.user.chat_api(), "message_id": message_id, "date": 0}
    return world.message_api(message)
