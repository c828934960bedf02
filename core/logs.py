"""Process-wide logging: one format, secrets redacted (core.vault installs the redactor)."""

from __future__ import annotations

import logging
from pathlib import Path

from core.vault import REDACTOR


def setup_logging(level: str = "INFO", filename: Path | None = None) -> None:
    REDACTOR.install()
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        filename=filename,
        force=True,
    )
    for noisy in ("aiosqlite", "asyncio", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
