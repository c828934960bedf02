"""Strategies by name, so users enable them by name. Open: the model work registers `ml` here."""

from __future__ import annotations

from typing import Any, TypeVar

from core.strategy.base import Strategy

S = TypeVar("S", bound=type[Strategy])

_REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: S) -> S:
    """Class decorator: make a strategy available under its `name`."""
    name = cls.name
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"strategy {name!r} is already registered")
    _REGISTRY[name] = cls
    return cls


def available() -> list[str]:
    return sorted(_REGISTRY)


def create(name: str, **params: Any) -> Strategy:
    """A strategy instance by name; unknown names raise a ValueError listing the known ones."""
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; available: {', '.join(available())}") from None
    return cls(**params)
