"""Formatted text (parse_mode HTML, MarkdownV2, Markdown) -> visible text and entities, as Telegram does.

The parsers follow tdlib's rules and error texts, so a bot that sends malformed markup gets the same
"can't parse entities: ..." answer here as from Telegram. Entity offsets are in UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class MarkupError(ValueError):
    """Malformed markup; the message is Telegram's text after "can't parse entities: "."""


@dataclass
class _Open:
    """An entity that has started but not ended yet."""

    kind: str  # Bot API entity type, or the HTML tag name while parsing HTML
    start: int  # index into the visible text (characters)
    byte_offset: int  # where it started in the source, for error texts
    attrs: dict[str, str] = field(default_factory=dict)
    name: str = ""  # tdlib's type name, used in MarkdownV2 error texts


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
    extra: tuple[tuple[str, str], ...] = ()


def parse(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Visible text and Bot API entities for `text` under `parse_mode` (None: plain text)."""
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return text.replace("\r", ""), []
    if mode == "html":
        plain, spans = _parse_html(text)
    elif mode == "markdownv2":
        plain, spans = _parse_markdown_v2(text)
    elif mode == "markdown":
        plain, spans = _parse_markdown(text)
    else:
        raise MarkupError(f"Unsupported parse_mode: {parse_mode}")  # caller prefixes "Bad Request: "
    plain, spans = _drop_cr(plain, spans)
    return plain, _to_entities(plain, spans)


def _drop_cr(plain: str, spans: list[Span]) -> tuple[str, list[Span]]:
    """Telegram removes every carriage return from texts (aiogram even relies on it: "_\ritalic_\r")."""
    if "\r" not in plain:
        return plain, spans
    kept_before = [0] * (len(plain) + 1)  # characters kept before each index
    for i, ch in enumerate(plain):
        kept_before[i + 1] = kept_before[i] + (ch != "\r")
    moved = [Span(s.kind, kept_before[s.start], kept_before[s.end], s.extra) for s in spans]
    return plain.replace("\r", ""), moved


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _to_entities(plain: str, spans: list[Span]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.end <= span.start:
            continue  # Telegram drops empty entities
        offset = _utf16_len(plain[: span.start])
        entity: dict[str, Any] = {
            "type": span.kind,
            "offset": offset,
            "length": _utf16_len(plain[span.start : span.end]),
        }
        entity.update(dict(span.extra))
        entities.append(entity)
    return entities


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


# ---------------------------------------------------------------- HTML

_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, i: int) -> tuple[str, int] | None:
    """The character of the entity at text[i] == '&' and the source length, or None if it is not one."""
    end = text.find(";", i + 1)
    if end == -1 or end - i > 12:
        return None
    body = text[i + 1 : end]
    if body in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[body], end - i + 1
    try:
        if body.startswith(("#x", "#X")):
            code = int(body[2:], 16)
        elif body.startswith("#"):
            code = int(body[1:], 10)
        else:
            return None
        return chr(code), end - i + 1
    except (ValueError, OverflowError):
        return None


def _unescape_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_html_entity(value, i)) is not None:
            out.append(decoded[0])
            i += decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _parse_html(text: str) -> tuple[str, list[Span]]:
    out: list[str] = []
    stack: list[_Open] = []
    spans: list[Span] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&" and (decoded := _decode_html_entity(text, i)) is not None:
            out.append(decoded[0])
            i += decoded[1]
            continue
        if c != "<":
            out.append(c)
            i += 1
            continue
        begin = i
        offset = _byte_offset(text, begin)
        i += 1
        if i >= n or text[i] != "/":
            i, tag, attrs = _read_start_tag(text, i, offset)
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
            stack.append(_Open(tag, len(out), offset, attrs))
            continue
        if not stack:
            raise MarkupError(f"Unexpected end tag at byte offset {offset}")
        i += 1
        name_start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        end_name = text[name_start:i].lower()
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != ">":
            raise MarkupError(f"Unclosed end tag at byte offset {offset}")
        i += 1
        opened = stack.pop()
        if end_name and end_name != opened.kind:
            raise MarkupError(
                f"Unmatched end tag at byte offset {offset}, "
                f'expected "</{opened.kind}>", found "</{end_name}>"'
            )
        spans.extend(_html_span(opened, len(out), spans))
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1].kind}"')
    return "".join(out), spans


def _read_start_tag(text: str, i: int, offset: int) -> tuple[int, str, dict[str, str]]:
    """Parse `name attr="v" ...>` from text[i]; return the index after '>', the tag name and attributes."""
    n = len(text)
    name_start = i
    while i < n and not text[i].isspace() and text[i] != ">":
        i += 1
    if i >= n:
        raise MarkupError(f"Unclosed start tag at byte offset {offset}")
    tag = text[name_start:i].lower()
    if tag not in _HTML_TAGS:
        raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {offset}')
    attrs: dict[str, str] = {}
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {offset}")
        if text[i] == ">":
            return i + 1, tag, attrs
        attr_start = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        attr = text[attr_start:i].lower()
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] != "=" and attr == "expandable":
            attrs[attr] = ""  # <blockquote expandable> has no value
            continue
        if i >= n or text[i] != "=":
            raise MarkupError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {offset}'
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {offset}")
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end == -1:
                raise MarkupError(f"Unclosed start tag at byte offset {offset}")
            attrs[attr] = _unescape_attr(text[i + 1 : end])
            i = end + 1
        else:
            value_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            attrs[attr] = _unescape_attr(text[value_start:i])


def _html_span(opened: _Open, end: int, spans: list[Span]) -> list[Span]:
    kind = _HTML_TAGS[opened.kind]
    if kind == "text_link":
        url = opened.attrs.get("href", "")
        return [Span("text_link", opened.start, end, (("url", url),))] if url else []
    if kind == "custom_emoji":
        emoji_id = opened.attrs.get("emoji-id", "")
        if not emoji_id:
            return []
        return [Span("custom_emoji", opened.start, end, (("custom_emoji_id", emoji_id),))]
    if kind == "blockquote" and "expandable" in opened.attrs:
        kind = "expandable_blockquote"
    if kind == "pre":
        # <pre><code class="language-x">...</code></pre> is one pre entity with a language
        for inner in list(spans):
            if inner.kind == "code" and (inner.start, inner.end) == (opened.start, end):
                lang = dict(inner.extra).get("language", "")
                spans.remove(inner)
                if lang:
                    return [Span("pre", opened.start, end, (("language", lang),))]
        return [Span("pre", opened.start, end)]
    if kind == "code":
        css = opened.attrs.get("class", "")
        if css.startswith("language-"):
            return [Span("code", opened.start, end, (("language", css.removeprefix("language-")),))]
    return [Span(kind, opened.start, end)]


# ---------------------------------------------------------------- MarkdownV2

_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_V2_TYPES = {
    "Bold": "bold",
    "Italic": "italic",
    "Underline": "underline",
    "Strikethrough": "strikethrough",
    "Spoiler": "spoiler",
    "TextUrl": "text_link",
    "Code": "code",
    "Pre": "pre",
    "PreCode": "pre",
    "CustomEmoji": "custom_emoji",
}


def _reserved_error(ch: str) -> MarkupError:
    return MarkupError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")


def _v2_is_end(name: str, text: str, i: int) -> bool:
    c = text[i]
    nxt = text[i + 1 : i + 2]
    match name:
        case "Bold":
            return c == "*"
        case "Italic":
            return c == "_" and nxt != "_"
        case "Code":
            return c == "`"
        case "Pre" | "PreCode":
            return text[i : i + 3] == "```"
        case "TextUrl" | "CustomEmoji":
            return c == "]"
        case "Underline":
            return text[i : i + 2] == "__"
        case "Strikethrough":
            return c == "~"
        case "Spoiler":
            return text[i : i + 2] == "||"
    return False


def _parse_markdown_v2(text: str) -> tuple[str, list[Span]]:
    out: list[str] = []
    stack: list[_Open] = []
    spans: list[Span] = []
    quote_start: int | None = None
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            i += 2
            continue
        in_code = bool(stack) and stack[-1].name in ("Code", "Pre", "PreCode")
        if c == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = len(out)
            i += 1
            continue
        if c == "\n" and quote_start is not None and text[i + 1 : i + 2] != ">":
            spans.append(Span("blockquote", quote_start, len(out)))
            quote_start = None
        reserved = "`" if in_code else _V2_RESERVED
        if c not in reserved:
            out.append(c)
            i += 1
            continue
        offset = _byte_offset(text, i)
        if stack and _v2_is_end(stack[-1].name, text, i):
            opened = stack.pop()
            extra: tuple[tuple[str, str], ...] = ()
            if opened.name in ("Underline", "Spoiler"):
                i += 2
            elif opened.name in ("Pre", "PreCode"):
                i += 3
                if opened.name == "PreCode":
                    extra = (("language", opened.attrs["language"]),)
            elif opened.name in ("TextUrl", "CustomEmoji"):
                i += 1
                if text[i : i + 1] == "(":
                    url_start = i + 1
                    url, i = _v2_read_url(text, url_start)
                else:
                    url = "".join(out[opened.start :])
                if opened.name == "CustomEmoji":
                    extra = (("custom_emoji_id", url.rpartition("id=")[2]),)
                else:
                    extra = (("url", url),)
            else:
                i += 1
            spans.append(Span(_V2_TYPES[opened.name], opened.start, len(out), extra))
            continue
        # start of an entity
        attrs: dict[str, str] = {}
        if c == "_":
            name, width = ("Underline", 2) if text[i + 1 : i + 2] == "_" else ("Italic", 1)
        elif c == "*":
            name, width = "Bold", 1
        elif c == "~":
            name, width = "Strikethrough", 1
        elif c == "|":
            if text[i + 1 : i + 2] != "|":
                raise _reserved_error(c)
            name, width = "Spoiler", 2
        elif c == "[":
            name, width = "TextUrl", 1
        elif c == "!":
            if text[i + 1 : i + 2] != "[":
                raise _reserved_error(c)
            name, width = "CustomEmoji", 2
        elif c == "`" and text[i : i + 3] == "```":
            name, width = "Pre", 3
            j = i + 3
            while j < n and not text[j].isspace() and text[j] != "`":
                j += 1
            if j != i + 3 and j < n and text[j] != "`":
                name, attrs = "PreCode", {"language": text[i + 3 : j]}
                width = j - i
            # one newline right after the opening fence is not part of the text
            if text[i + width : i + width + 2] in ("\r\n", "\n\r"):
                width += 2
            elif text[i + width : i + width + 1] in ("\n", "\r"):
                width += 1
        elif c == "`":
            name, width = "Code", 1
        else:
            raise _reserved_error(c)
        stack.append(_Open(_V2_TYPES[name], len(out), offset, attrs, name))
        i += width
    if stack:
        raise MarkupError(f"Can't find end of {stack[-1].name} entity at byte offset {stack[-1].byte_offset}")
    if quote_start is not None:
        spans.append(Span("blockquote", quote_start, len(out)))
    return "".join(out), spans


def _v2_read_url(text: str, i: int) -> tuple[str, int]:
    """Read a URL inside "(...)" from text[i]; return it and the index after ')'."""
    url: list[str] = []
    start = i
    while i < len(text) and text[i] != ")":
        if text[i] == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126:
            url.append(text[i + 1])
            i += 2
            continue
        url.append(text[i])
        i += 1
    if i >= len(text):
        raise MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(text, start)}")
    return "".join(url), i + 1


# ---------------------------------------------------------------- legacy Markdown

_MD_TYPES = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}


def _parse_markdown(text: str) -> tuple[str, list[Span]]:
    out: list[str] = []
    spans: list[Span] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.append(text[i + 1])
            i += 2
            continue
        if c not in _MD_TYPES:
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = text[i : i + 3] == "```"
        i += 3 if is_pre else 1
        start = len(out)
        while i < n and (text[i] != end_char or (is_pre and text[i : i + 3] != "```")):
            out.append(text[i])
            i += 1
        if i >= n:
            raise MarkupError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        i += 3 if is_pre else 1
        if c == "[":
            if text[i : i + 1] != "(":
                continue  # "[text]" without a URL is plain text
            close = text.find(")", i)
            if close == -1:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
                )
            spans.append(Span("text_link", start, len(out), (("url", text[i + 1 : close]),)))
            i = close + 1
        else:
            spans.append(Span("pre" if is_pre else _MD_TYPES[c], start, len(out)))
    return "".join(out), spans
