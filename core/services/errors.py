"""The one exception type whose message is meant for the user."""

from __future__ import annotations


class UserError(Exception):
    """A refusal the user can act on. `msgid` is a gettext msgid; `params` fill its {placeholders}."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params
