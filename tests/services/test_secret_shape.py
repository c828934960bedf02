from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from core.services.keys import looks_like_secret

KEY_CHARS = string.ascii_letters + string.digits


@given(st.text(KEY_CHARS, min_size=24, max_size=128).filter(lambda s: any(c.isdigit() for c in s)))
def test_long_key_tokens_are_secrets(token: str) -> None:
    assert looks_like_secret(token) == any(c.isalpha() for c in token)


@given(st.text(min_size=0, max_size=200))
def test_text_with_spaces_or_short_is_not(text: str) -> None:
    if " " in text.strip() or len(text.strip()) < 24:
        assert not looks_like_secret(text)
