"""Shared test set-up. Fixture modules per area live in tests/fixtures/ and are registered here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.db",
    "tests.fixtures.exchange",
    "tests.fixtures.telegram",
]
