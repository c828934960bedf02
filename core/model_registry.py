"""The model versions table as a mirror of ml's file registry (MODELS_DIR), and the promotion rule.

The files are the source of truth (the inference service reads them); every change here is made to the
table and the files together, and `sync` repairs the table from the files if a crash came between.

Promotion rule (metric: log loss, lower is better). A candidate is promoted only if
- its validation log loss is lower than the active model's on the SAME validation window and samples,
  by at least `min_improvement` (no active model: this condition is void), and
- it is lower than the trivial baseline (always predicting the training class shares) both on the
  validation window and on the test window. The validation window picked the epoch and the model kind,
  so it flatters the candidate; the test window is seen by nothing before the final scoring.
Log loss rewards calibrated probabilities, which is what the `ml` strategy consumes (its thresholds
and strengths are probabilities), where accuracy would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import ModelVersion
from ml.registry import ModelRegistry, VersionInfo

PROMOTION_METRIC = "log loss, vs the active model on validation and vs the baseline on validation and test"
SUMMARY_KEYS = (
    "n",
    "accuracy",
    "macro_f1",
    "log_loss",
    "ece",
    "baseline_accuracy",
    "baseline_macro_f1",
    "baseline_log_loss",
)


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    candidate: float
    baseline: float
    active: float | None = None
    active_version: str | None = None


def decide_promotion(
    candidate_log_loss: float,
    baseline_log_loss: float,
    active_log_loss: float | None = None,
    active_version: str | None = None,
    min_improvement: float = 0.0,
    test: tuple[float, float] | None = None,
) -> PromotionDecision:
    """Apply the promotion rule of the module doc. The log losses are the validation ones (candidate
    and active on the same samples); `test` is the candidate's (log loss, baseline) on the test window."""
    c, b, a = candidate_log_loss, baseline_log_loss, active_log_loss
    args: dict[str, Any] = {"candidate": c, "baseline": b, "active": a, "active_version": active_version}
    if a is not None and not c < a - min_improvement:
        margin = f" by {min_improvement:g}" if min_improvement else ""
        return PromotionDecision(
            False, f"does not beat {active_version}{margin} ({c:.4f} vs {a:.4f})", **args
        )
    if not c < b:
        return PromotionDecision(
            False, f"does not beat the class-share baseline ({c:.4f} vs {b:.4f})", **args
        )
    if test is not None and not test[0] < test[1]:
        return PromotionDecision(
            False, f"does not beat the baseline on the test window ({test[0]:.4f} vs {test[1]:.4f})", **args
        )
    if a is None:
        return PromotionDecision(True, f"no active model; beats the baseline ({c:.4f} vs {b:.4f})", **args)
    return PromotionDecision(True, f"beats {active_version} ({c:.4f} vs {a:.4f}) and the baseline", **args)


def _created(meta: dict[str, Any]) -> datetime:
    try:
        return datetime.strptime(str(meta["created_at"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (KeyError, ValueError):
        return datetime.now(UTC)


def _row_values(info: VersionInfo) -> dict[str, Any]:
    meta = info.meta
    metrics = meta.get("metrics", {})
    summary = {
        split: {k: metrics[split][k] for k in SUMMARY_KEYS if k in metrics.get(split, {})}
        for split in ("val", "test")
        if split in metrics
    }
    data = meta.get("data_range", {})
    return {
        "path": str(info.path),
        "kind": str(meta.get("kind", "unknown"))[:32],
        "metrics": {**summary, "selection": metrics.get("selection"), "backtest": meta.get("backtest")},
        "data_range": {k: data[k] for k in ("n_symbols", "n_candles", "split") if k in data},
        "created_at": _created(meta),
    }


async def record(
    sm: async_sessionmaker[AsyncSession], info: VersionInfo, backtest: dict[str, Any] | None = None
) -> None:
    """Insert or refresh the row of one version (inactive unless it already was)."""
    values = _row_values(info)
    if backtest is not None:
        values["metrics"]["backtest"] = backtest
    async with sm.begin() as session:
        row = (
            await session.execute(select(ModelVersion).where(ModelVersion.version == info.version))
        ).scalar_one_or_none()
        if row is None:
            session.add(ModelVersion(version=info.version, active=False, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


async def _mark_active(session: AsyncSession, version: str | None) -> None:
    await session.execute(update(ModelVersion).where(ModelVersion.active.is_(True)).values(active=False))
    if version is not None:
        await session.execute(
            update(ModelVersion)
            .where(ModelVersion.version == version)
            .values(active=True, activated_at=datetime.now(UTC))
        )


async def activate(sm: async_sessionmaker[AsyncSession], registry: ModelRegistry, version: str) -> None:
    """Activate a version in the files (the inference services switch on their next call) and the table."""
    info = registry.info(version)  # a clear error before anything changes
    await record(sm, info)
    async with sm.begin() as session:
        await _mark_active(session, version)
        # the file goes last inside the transaction: if it fails, the table change is rolled back
        registry.activate(version)


async def rollback(sm: async_sessionmaker[AsyncSession], registry: ModelRegistry) -> str:
    """Go back to the version active before the current one; returns it."""
    target = registry.previous_version()
    if target is not None:
        await record(sm, registry.info(target))
    async with sm.begin() as session:
        await _mark_active(session, target)
        version = registry.rollback()
    return version


async def sync(sm: async_sessionmaker[AsyncSession], registry: ModelRegistry) -> None:
    """Make the table match the files: every version has a row, only the active one is active."""
    for version in registry.versions():
        await record(sm, registry.info(version))
    async with sm.begin() as session:
        await _mark_active(session, registry.active_version())


@dataclass(frozen=True)
class VersionRow:
    version: str
    kind: str
    active: bool
    created_at: datetime
    activated_at: datetime | None
    metrics: dict[str, Any]
    data_range: dict[str, Any]


async def list_versions(sm: async_sessionmaker[AsyncSession], limit: int = 20) -> list[VersionRow]:
    """The newest versions first."""
    async with sm() as session:
        rows = (
            await session.execute(
                select(ModelVersion)
                .order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
                .limit(limit)
            )
        ).scalars()
        return [
            VersionRow(
                r.version, r.kind, r.active, r.created_at, r.activated_at, r.metrics or {}, r.data_range or {}
            )
            for r in rows
        ]
