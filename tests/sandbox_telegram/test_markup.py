"""The parse_mode parsers: Telegram's visible text, entities and error texts."""

from __future__ import annotations

import html

import pytest
from aiogram.utils.text_decorations import html_decoration, markdown_decoration
from hypothesis import given
from hypothesis import strategies as st

from sandbox.telegram.markup import MarkupError, parse

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


def _seen(text: str) -> str:
    """Telegram drops carriage returns from every text."""
    return text.replace("\r", "")


def _utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


@given(_TEXT)
def test_html_escaped_text_comes_back_unchanged(text: str) -> None:
    plain, entities = parse(html.escape(text, quote=False), "HTML")
    assert (plain, entities) == (_seen(text), [])


@given(_TEXT)
def test_markdown_v2_escaped_text_comes_back_unchanged(text: str) -> None:
    plain, entities = parse(markdown_decoration.quote(text), "MarkdownV2")
    assert (plain, entities) == (_seen(text), [])


@given(_TEXT, _TEXT, _TEXT)
def test_html_bold_entity_covers_exactly_the_bold_part(before: str, bold: str, after: str) -> None:
    source = (
        html_decoration.quote(before) + html_decoration.bold(html_decoration.quote(bold)) + html.escape(after)
    )
    plain, entities = parse(source, "HTML")
    before, bold, after = _seen(before), _seen(bold), _seen(after)
    assert plain == before + bold + after
    expected = [{"type": "bold", "offset": _utf16(before), "length": _utf16(bold)}] if bold else []
    assert entities == expected


@given(_TEXT, _TEXT)
def test_markdown_v2_italic_entity_offsets_are_utf16(before: str, italic: str) -> None:
    source = markdown_decoration.quote(before) + markdown_decoration.italic(markdown_decoration.quote(italic))
    plain, entities = parse(source, "MarkdownV2")
    before, italic = _seen(before), _seen(italic)
    assert plain == before + italic
    expected = [{"type": "italic", "offset": _utf16(before), "length": _utf16(italic)}] if italic else []
    assert entities == expected


def test_html_nested_tags_links_and_pre_language() -> None:
    plain, entities = parse(
        '<b>Hi <i>there</i></b> <a href="https://x.org/?a=1&amp;b=2">link</a>\n'
        '<pre><code class="language-python">x = 1 &lt; 2</code></pre> &#128512; &copy',
        "html",
    )
    assert plain == "Hi there link\nx = 1 < 2 😀 &copy"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 8},
        {"type": "italic", "offset": 3, "length": 5},
        {"type": "text_link", "offset": 9, "length": 4, "url": "https://x.org/?a=1&b=2"},
        {"type": "pre", "offset": 14, "length": 9, "language": "python"},
    ]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("é <b", "Unclosed start tag at byte offset 3"),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b x>y</b>", 'Expected equal sign in declaration of an attribute of the tag "b" at byte offset 0'),
    ],
)
def test_html_errors_carry_telegrams_text(source: str, error: str) -> None:
    with pytest.raises(MarkupError) as info:
        parse(source, "HTML")
    assert str(info.value) == error


def test_markdown_v2_entities() -> None:
    plain, entities = parse(
        "*b* _i_ __u__ ~s~ ||sp|| `c` [l](https://t.me/x\\)y) \\. ```py\nz\n```", "MarkdownV2"
    )
    assert plain == "b i u s sp c l . z\n"
    kinds = [(e["type"], plain[e["offset"] : e["offset"] + e["length"]]) for e in entities]
    assert kinds == [
        ("bold", "b"),
        ("italic", "i"),
        ("underline", "u"),
        ("strikethrough", "s"),
        ("spoiler", "sp"),
        ("code", "c"),
        ("text_link", "l"),
        ("pre", "z\n"),
    ]
    assert entities[6]["url"] == "https://t.me/x)y"
    assert entities[7]["language"] == "py"


def test_markdown_v2_blockquote_at_line_start() -> None:
    plain, entities = parse("hi\n>quoted\n>more\nend", "MarkdownV2")
    assert plain == "hi\nquoted\nmore\nend"
    assert entities == [{"type": "blockquote", "offset": 3, "length": 11}]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("Price: 1.5", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("wow!", "Character '!' is reserved and must be escaped with the preceding '\\'"),
        ("é *bold", "Can't find end of Bold entity at byte offset 3"),
        ("[link](http://x", "Can't find end of a URL at byte offset 7"),
        ("`code", "Can't find end of Code entity at byte offset 0"),
    ],
)
def test_markdown_v2_errors_carry_telegrams_text(source: str, error: str) -> None:
    with pytest.raises(MarkupError) as info:
        parse(source, "MarkdownV2")
    assert str(info.value) == error


def test_legacy_markdown() -> None:
    plain, entities = parse("*b* _i_ [l](https://x.org) 1.5!", "Markdown")
    assert plain == "b i l 1.5!"
    assert [e["type"] for e in entities] == ["bold", "italic", "text_link"]
    with pytest.raises(MarkupError, match="Can't find end of the entity starting at byte offset 2"):
        parse("a *b", "Markdown")
