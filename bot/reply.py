"""`reply`: sends into the chat an update came from, for message and button handlers alike."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message

MAX_TEXT = 4096  # Telegram refuses longer messages ("message is too long")


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line breaks where possible (a list of 50 positions
    or a long blacklist does not fit in one message)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one overlong line: cut it hard
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    pieces.append(current)
    return [p for p in pieces if p] or [text]


@dataclass(frozen=True)
class Reply:
    bot: Bot
    chat_id: int

    async def text(self, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        """Send the text, in several messages when it is too long; the buttons go with the last one."""
        pieces = split_text(text)
        for piece in pieces[:-1]:
            await self.bot.send_message(self.chat_id, piece)
        return await self.bot.send_message(self.chat_id, pieces[-1], reply_markup=markup)

    async def photo(self, png: bytes, caption: str, filename: str = "chart.png") -> Message:
        return await self.bot.send_photo(
            self.chat_id, BufferedInputFile(png, filename=filename), caption=caption[:1024]
        )
