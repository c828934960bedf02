"""gettext for code that runs outside aiogram's i18n context (notifications written by core).

The bot and core share one catalog (`locales/{en,ru}/LC_MESSAGES/messages.po`, domain "messages").
`N_` only marks a msgid for extraction; the text is translated where it is shown.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"


def N_(msgid: str) -> str:
    return msgid


def language_from_code(code: str | None) -> str:
    """Telegram's language_code ("ru", "ru-RU", "en-US", None) -> one of LANGUAGES."""
    if code and code.lower().split("-")[0].split("_")[0] == "ru":
        return "ru"
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=len(LANGUAGES))
def _translation(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[language], fallback=True)


def translator(language: str) -> Callable[[str], str]:
    """A `_` for one language; unknown languages and missing catalogs fall back to the msgid."""
    return _translation(language if language in LANGUAGES else DEFAULT_LANGUAGE).gettext
