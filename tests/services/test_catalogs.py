"""Every message the code marks for translation is in both catalogs, and translated in Russian."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.services.l10n import LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "__": None}


def extracted() -> set[str]:
    ids: set[str] = set()
    for folder in ("bot", "core/services"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalog(lang: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {m.id: str(m.string or "") for m in read_po(f) if m.id and isinstance(m.id, str)}


def test_code_marks_messages() -> None:
    assert len(extracted()) > 150


def test_every_message_is_in_every_catalog() -> None:
    ids = extracted()
    for lang in ("en", "ru"):
        missing = sorted(ids - set(catalog(lang)))
        assert not missing, f"{lang} catalog misses {missing[:5]} ({len(missing)} in all)"


def test_russian_translates_everything_with_the_same_placeholders() -> None:
    import string

    ru = catalog("ru")
    for msgid in extracted():
        text = ru.get(msgid, "")
        assert text, f"no Russian for {msgid!r}"
        fields = {f for _, f, _, _ in string.Formatter().parse(msgid) if f}
        assert {f for _, f, _, _ in string.Formatter().parse(text) if f} == fields, msgid
