"""gettext for the bot: the shared catalogs under locales/, and the locale of each update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.db.models import User
from core.services.l10n import DEFAULT_LANGUAGE, DOMAIN, LOCALES_DIR, language_from_code


def compile_catalogs(locales_dir: Path = LOCALES_DIR) -> None:
    """Compile each .po whose .mo is missing or older (the Makefile does the same with pybabel)."""
    for po in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as src:
            catalog = read_po(src, locale=po.parent.parent.name, domain=DOMAIN)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as dst:
            write_mo(dst, catalog)
        tmp.replace(mo)


def make_i18n(locales_dir: Path = LOCALES_DIR) -> I18n:
    compile_catalogs(locales_dir)
    return I18n(path=locales_dir, default_locale=DEFAULT_LANGUAGE, domain=DOMAIN)


class UserLocaleMiddleware(I18nMiddleware):
    """The user's chosen language; before they have one, Telegram's language_code (ru or en)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        if user is not None and user.language in self.i18n.available_locales:
            locale = user.language
        else:
            tg_user = data.get("event_from_user")
            locale = language_from_code(tg_user.language_code if tg_user else None)
        data["locale"] = locale
        return locale
