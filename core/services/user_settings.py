"""Per-user risk settings: their bounds, presets and validated updates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.db.models import User
from core.services.errors import UserError
from core.services.l10n import N_

# Until core.strategy exposes its registry, these are the names it ships (see available_strategies).
FALLBACK_STRATEGIES: tuple[str, ...] = ("sma_cross", "breakout", "mean_reversion", "trend")


@dataclass(frozen=True)
class SettingSpec:
    name: str  # the User column
    label: str  # gettext msgid
    minimum: Decimal
    maximum: Decimal
    integer: bool
    presets: tuple[str, ...]
    unit: str = "%"


SETTINGS: dict[str, SettingSpec] = {
    s.name: s
    for s in (
        SettingSpec(
            "risk_per_trade_pct",
            N_("Risk per trade"),
            Decimal("0.1"),
            Decimal("10"),
            False,
            ("0.5", "1", "2", "3"),
        ),
        SettingSpec(
            "max_open_positions",
            N_("Max open positions"),
            Decimal(1),
            Decimal(50),
            True,
            ("1", "3", "5", "10"),
            "",
        ),
        SettingSpec(
            "max_symbol_share_pct",
            N_("Max share per symbol"),
            Decimal(1),
            Decimal(100),
            False,
            ("10", "25", "50", "100"),
        ),
        SettingSpec(
            "daily_loss_limit_pct",
            N_("Daily loss limit"),
            Decimal("0.5"),
            Decimal(50),
            False,
            ("2", "5", "10", "20"),
        ),
    )
}


def available_strategies() -> tuple[str, ...]:
    """Strategy names from core.strategy's registry when it is installed, else the fallback list."""
    try:
        from core.strategy import registry  # type: ignore[attr-defined]
    except ImportError:
        return FALLBACK_STRATEGIES
    for attr in ("names", "available", "list_strategies"):
        fn: Callable[[], object] | None = getattr(registry, attr, None)
        if callable(fn):
            names = fn()
            if isinstance(names, list | tuple) and names:
                return tuple(str(n) for n in names)
    mapping = getattr(registry, "STRATEGIES", None) or getattr(registry, "REGISTRY", None)
    if isinstance(mapping, dict) and mapping:
        return tuple(sorted(str(k) for k in mapping))
    return FALLBACK_STRATEGIES


def parse_setting(name: str, text: str) -> Decimal | int:
    spec = SETTINGS.get(name)
    if spec is None:
        raise UserError(N_("Unknown setting."))
    raw = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or len(raw) > 12:
        raise UserError(N_("“{text}” is not a number."), text=text.strip()[:20])
    if spec.integer and value != value.to_integral_value():
        raise UserError(N_("This setting takes a whole number."))
    if not spec.minimum <= value <= spec.maximum:
        raise UserError(
            N_("The value must be between {low} and {high}."), low=_fmt(spec.minimum), high=_fmt(spec.maximum)
        )
    if spec.integer:
        return int(value)
    return value.quantize(Decimal("0.01"))


def apply_setting(user: User, name: str, text: str) -> Decimal | int:
    value = parse_setting(name, text)
    setattr(user, name, value)
    return value


def toggle_strategy(user: User, name: str, known: tuple[str, ...]) -> bool:
    """Turn a strategy on or off; returns whether it is now enabled. At least one stays on."""
    if name not in known:
        raise UserError(N_("Unknown strategy."))
    enabled = [s for s in (user.strategies or []) if s in known]
    if name in enabled:
        if len(enabled) == 1:
            raise UserError(N_("At least one strategy must stay enabled."))
        user.strategies = [s for s in enabled if s != name]
        return False
    user.strategies = [*enabled, name]
    return True


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")
