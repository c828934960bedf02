"""Injected faults: the next `count` requests to a path answer 500 or 429, hang, or lose their response.

- http_500: answer 500 (not executed unless `execute`);
- http_429: answer 429 with Retry-After (not executed);
- timeout: hang `delay` seconds (longer than the client waits); executed first unless `execute` is false;
- drop_response: execute the request, then close the connection without answering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("http_500", "timeout", "drop_response", "http_429")
DEFAULT_EXECUTE = {"http_500": False, "http_429": False, "timeout": True, "drop_response": True}


@dataclass
class Fault:
    path: str
    kind: str
    count: int = 1
    method: str | None = None
    delay: float = 30.0
    execute: bool = True
    retry_after: int = 1

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        path = data.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("path must be an absolute path such as /api/v3/order")
        count = int(data.get("count", 1))
        if count < 1:
            raise ValueError("count must be at least 1")
        method = data.get("method")
        execute = data.get("execute", DEFAULT_EXECUTE[kind])
        return cls(
            path=path,
            kind=kind,
            count=count,
            method=method.upper() if isinstance(method, str) else None,
            delay=float(data.get("delay", 30.0)),
            execute=bool(execute),
            retry_after=int(data.get("retry_after", 1)),
        )


class Faults:
    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self.fired: dict[str, int] = {k: 0 for k in KINDS}

    def add(self, fault: Fault) -> None:
        self.pending.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.pending:
            if fault.path == path and (fault.method is None or fault.method == method):
                fault.count -= 1
                if fault.count <= 0:
                    self.pending.remove(fault)
                self.fired[fault.kind] += 1
                return fault
        return None

    def clear(self) -> None:
        self.pending.clear()
