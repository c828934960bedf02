"""Terminal chat: type as a Telegram user of the sandbox and watch the bot answer.

Plain stdin/stdout (works under tmux and with pipes). Inline buttons are shown numbered; `/press N`
presses button N of the latest message that has buttons; photos and documents are saved under a
directory and their path is printed; `/quit` (or end of input) leaves.

    python -m sandbox.chat --url http://127.0.0.1:8081 --user 1001 --lang en
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from sandbox.telegram.control_client import ControlRequestError, TelegramControl

HELP = "Type a message and Enter. /press N presses button N of the latest message with buttons; /quit exits."
_INDENT = "     "


def _stdin_lines(stdin: TextIO, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines of stdin on a queue (None at end). A daemon thread reads, so a pending read never blocks exit."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in iter(stdin.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass  # stdin closed under us
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="chat-stdin", daemon=True).start()
    return queue


class TerminalChat:
    def __init__(
        self,
        control: TelegramControl,
        user_id: int,
        language: str,
        files_dir: Path,
        out: TextIO,
        *,
        reply_timeout: float = 3.0,
        settle: float = 0.3,
    ) -> None:
        self.control = control
        self.user_id = user_id
        self.language = language
        self.files_dir = files_dir
        self.out = out
        self.reply_timeout = reply_timeout
        self.settle = settle
        self.seq = 0
        self.buttons: dict[int, list[dict[str, Any]]] = {}  # shown message id -> its inline buttons in order
        self._activity = asyncio.Event()

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self, lines: asyncio.Queue[str | None]) -> None:
        _, self.seq = await self.control.events(self.user_id)  # show what happens from now on
        follower = asyncio.create_task(self._follow())
        self.say(f"Chatting with the sandbox bot as user {self.user_id} ({self.language}). {HELP}")
        try:
            while (line := await lines.get()) is not None:
                line = line.strip()
                if not line:
                    continue
                if line in ("/quit", "/exit"):
                    break
                before = self.seq
                if await self._handle(line):
                    await self._settle(before)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    async def _handle(self, line: str) -> bool:
        """Send the line (or press a button); True if the bot may answer."""
        try:
            if line == "/press" or line.startswith("/press "):
                return await self._press(line.removeprefix("/press").strip())
            await self.control.send_text(self.user_id, line, self.language)
            return True
        except ControlRequestError as e:
            self.say(f"! {e.error}")
        except aiohttp.ClientError as e:
            self.say(f"! sandbox unreachable: {e}")
        return False

    async def _press(self, arg: str) -> bool:
        latest = max((mid for mid, buttons in self.buttons.items() if buttons), default=None)
        if latest is None:
            self.say("! no message with buttons")
            return False
        buttons = self.buttons[latest]
        if not arg.isdigit() or not 1 <= int(arg) <= len(buttons):
            self.say(f"! choose a button 1..{len(buttons)}")
            return False
        button = buttons[int(arg) - 1]
        if "callback_data" not in button:
            self.say(f"{_INDENT}(opens {button.get('url', 'nothing here')})")
            return False
        await self.control.press(self.user_id, latest, button["callback_data"])
        return True

    async def _settle(self, before: int) -> None:
        """Wait for the bot to react, then for a short quiet spell, so piped input stays in order."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout
        while self.seq <= before and loop.time() < deadline:
            self._activity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), deadline - loop.time())
        while True:
            self._activity.clear()
            try:
                await asyncio.wait_for(self._activity.wait(), self.settle)
            except TimeoutError:
                return

    async def _follow(self) -> None:
        while True:
            try:
                events, _ = await self.control.events(self.user_id, after_seq=self.seq, wait=25)
            except (aiohttp.ClientError, ControlRequestError, TimeoutError) as e:
                self.say(f"! lost the sandbox ({e}); retrying")
                await asyncio.sleep(1)
                continue
            for event in events:
                await self._show(event)
                self.seq = max(self.seq, int(event["seq"]))
            if events:
                self._activity.set()

    async def _show(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind in ("message", "edited"):
            message = event["message"]
            await self._show_message(message, edited=kind == "edited")
        elif kind == "deleted":
            message = event["message"]
            self.buttons.pop(message["message_id"], None)
            whose = "your" if message["sender"] == "user" else "its"
            self.say(f"bot deleted {whose} message #{message['message_id']}")
        elif kind == "callback_answer" and event["callback"].get("text"):
            callback = event["callback"]
            self.say(f"bot ({'alert' if callback['show_alert'] else 'notice'})> {callback['text']}")

    async def _show_message(self, message: dict[str, Any], *, edited: bool) -> None:
        label = f"bot (edited #{message['message_id']})>" if edited else "bot>"
        for media in ("photo", "document"):
            if message.get(media):
                path = await self._save(message, message[media])
                self.say(f"{label} [{media}] saved to {path}")
                label = _INDENT[:-1]
        if message.get("text"):
            self.say(f"{label} " + message["text"].replace("\n", "\n" + _INDENT))
        buttons = [b for row in message["buttons"] for b in row]
        self.buttons[message["message_id"]] = buttons
        number = 0
        for row in message["buttons"]:
            cells = []
            for button in row:
                number += 1
                url = f" -> {button['url']}" if "url" in button else ""
                cells.append(f"[{number}] {button['text']}{url}")
            self.say(_INDENT + "  ".join(cells))
        if message.get("keyboard"):
            keys = "  ".join(f"[{text}]" for row in message["keyboard"] for text in row)
            self.say(f"{_INDENT}keyboard (type the text): {keys}")

    async def _save(self, message: dict[str, Any], media: dict[str, Any]) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        name = Path(media.get("file_name") or "file").name
        path = (self.files_dir / f"{message['chat_id']}-{message['message_id']}-{name}").resolve()
        path.write_bytes(await self.control.file_bytes(media["file_id"]))
        return path


async def run_chat(
    telegram_url: str,
    user_id: int,
    language: str = "en",
    files_dir: Path = Path("var/sandbox/chat_files"),
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    reply_timeout: float = 3.0,
    settle: float = 0.3,
) -> None:
    """Chat as `user_id` with the bot behind the sandbox at `telegram_url` until /quit or end of input."""
    lines = _stdin_lines(stdin or sys.stdin, asyncio.get_running_loop())
    async with TelegramControl(telegram_url) as control:
        chat = TerminalChat(
            control,
            user_id,
            language,
            files_dir,
            stdout or sys.stdout,
            reply_timeout=reply_timeout,
            settle=settle,
        )
        await chat.run(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.chat", description=HELP)
    parser.add_argument("--url", default="http://127.0.0.1:8081", help="sandbox Telegram server base URL")
    parser.add_argument("--user", type=int, default=1001, help="the Telegram user id to chat as")
    parser.add_argument("--lang", default="en", help="the user's language_code")
    parser.add_argument("--files", type=Path, default=Path("var/sandbox/chat_files"))
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_chat(args.url, args.user, args.lang, args.files))


if __name__ == "__main__":
    main()
