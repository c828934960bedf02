"""Small helpers shared by the sandbox Telegram tests."""

from __future__ import annotations

import struct
import zlib

from aiogram import Bot

from tests.fixtures.telegram import TelegramServerHandle, make_bot


def png(width: int, height: int) -> bytes:
    """A valid grey PNG image of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def open_chat(server: TelegramServerHandle, user_id: int, text: str = "hi") -> int:
    """The user writes first (as on Telegram, a bot cannot start a private chat); returns that message id."""
    return await server.send_text(user_id, text)


def html_bot(server: TelegramServerHandle) -> Bot:
    return make_bot(server, parse_mode="HTML")
