"""`reply`: sends into the chat an update came from, for message and button handlers alike."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message


@dataclass(frozen=True)
class Reply:
    bot: Bot
    chat_id: int

    async def text(self, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        return await self.bot.send_message(self.chat_id, text, reply_markup=markup)

    async def photo(self, png: bytes, caption: str, filename: str = "chart.png") -> Message:
        return await self.bot.send_photo(
            self.chat_id, BufferedInputFile(png, filename=filename), caption=caption[:1024]
        )
