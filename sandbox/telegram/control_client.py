"""An async client for the sandbox Telegram control API (used by tests, the terminal chat and scripts)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp

from sandbox.telegram.server import DEFAULT_TOKEN


class ControlRequestError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error


class TelegramControl:
    """Plays Telegram users against the sandbox and reads back what the bot did, over HTTP."""

    def __init__(self, url: str, token: str = DEFAULT_TOKEN) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> TelegramControl:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        wait = float((query or {}).get("wait", 0))
        timeout = aiohttp.ClientTimeout(total=wait + 15)
        async with self._http().request(
            method, f"{self.url}{path}", json=body, params=query, timeout=timeout
        ) as resp:
            data: dict[str, Any] = await resp.json()
        if not data.get("ok"):
            raise ControlRequestError(resp.status, str(data.get("error", data)))
        return data

    # ------------------------------------------------------------ the users' side

    async def send_text(
        self,
        user_id: int,
        text: str,
        language_code: str | None = "en",
        *,
        username: str | None = None,
        first_name: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """Inject a private message from the user; returns its message_id (use it as `after_id`)."""
        body: dict[str, Any] = {"text": text}
        if reply_to_message_id is not None:
            body["reply_to_message_id"] = reply_to_message_id
        for key, value in (
            ("language_code", language_code),
            ("username", username),
            ("first_name", first_name),
        ):
            if value:
                body[key] = value
        data = await self._call("POST", f"/sandbox/users/{user_id}/messages", body=body)
        return int(data["message_id"])

    async def press(self, user_id: int, message_id: int, data: str, forge: bool = False) -> str:
        """Press an inline button (or, with forge=True, send any callback data); returns the query id."""
        body = {"message_id": message_id, "data": data, "forge": forge}
        result = await self._call("POST", f"/sandbox/users/{user_id}/callbacks", body=body)
        return str(result["callback_query_id"])

    async def block(self, user_id: int) -> None:
        await self._call("POST", f"/sandbox/users/{user_id}/block")

    async def unblock(self, user_id: int) -> None:
        await self._call("POST", f"/sandbox/users/{user_id}/unblock")

    # ------------------------------------------------------------ what the bot did

    async def chat(
        self, chat_id: int, *, after_id: int = 0, wait: float = 0, count: int = 1
    ) -> dict[str, Any]:
        """The full view: messages (bot, shown), deleted (any sender), user_messages (shown)."""
        query = {"after": after_id, "wait": wait, "count": count}
        return await self._call("GET", f"/sandbox/chats/{chat_id}/messages", query=query)

    async def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages the chat still shows, oldest first."""
        return list((await self.chat(chat_id))["messages"])

    async def deleted(self, chat_id: int) -> list[dict[str, Any]]:
        return list((await self.chat(chat_id))["deleted"])

    async def wait_messages(
        self,
        chat_id: int,
        after_id: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - the server waits (long poll), not the client
        count: int = 1,
    ) -> list[dict[str, Any]]:
        """Bot messages with id > after_id, waiting (server-side) until at least `count` exist or timeout."""
        return list((await self.chat(chat_id, after_id=after_id, wait=timeout, count=count))["messages"])

    async def events(
        self, chat_id: int, after_seq: int = 0, wait: float = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Chat events after `after_seq` (message, edited, deleted, callback_answer, chat_action), seq."""
        data = await self._call(
            "GET", f"/sandbox/chats/{chat_id}/events", query={"after": after_seq, "wait": wait}
        )
        return list(data["events"]), int(data["seq"])

    async def callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - the server waits (long poll), not the client
    ) -> dict[str, Any]:
        """The bot's answerCallbackQuery for that press, waiting up to `timeout` for it."""
        return await self._call("GET", f"/sandbox/callbacks/{callback_query_id}", query={"wait": timeout})

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "/sandbox/stats")

    async def commands(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/sandbox/commands"))["commands"])

    async def file_bytes(self, file_id: str) -> bytes:
        async with self._http().get(f"{self.url}/sandbox/files/{file_id}") as resp:
            if resp.status != 200:
                raise ControlRequestError(resp.status, await resp.text())
            return await resp.read()
