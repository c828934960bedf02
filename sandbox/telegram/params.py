"""Bot API method parameters from a query string, a form, a multipart body or a JSON body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from sandbox.telegram.errors import bad_request


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str


class Params:
    """Typed access to parameters; values arrive as strings (forms) or as JSON values."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    @classmethod
    async def read(cls, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON object")
                values.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, FileField):
                        uploads[key] = Upload(value.file.read(), value.filename)
                    else:
                        values[key] = value
        return cls(values, uploads)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "") or name in self.uploads

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        """A JSON value; forms carry it JSON-encoded in a string."""
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def input_file(self, name: str) -> Upload | str | None:
        """An uploaded file (directly or via "attach://<part>"), or a file_id / URL string."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.get_str(name)
        if value and value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"file attachment {value} not found")  # no such multipart part
            return upload
        return value or None
