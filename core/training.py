"""Training runs and the promotion decision, for `run_bot.py train`, the admin /retrain and the schedule.

`train_and_maybe_promote` runs the CPU-heavy part (features, training, evaluation, the `ml` strategy's
backtest on the test window) in a child Python process, so the bot's event loop never blocks; the
parent only applies the promotion rule of core.model_registry and mirrors the result into the
database. The report carries the numbers whether the new version was promoted or not.

The child is `python -m core.training <job dir>`: the candles go in as an .npz file, progress comes
back as JSON lines on stdout, the result as result.json. Cancelling the call kills the child.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import model_registry
from core.config import ROOT, Settings
from ml.bundle import ModelBundle
from ml.features import FeatureConfig
from ml.labels import CLASS_NAMES, LabelConfig
from ml.market import Candles, MarketArrays
from ml.registry import ModelRegistry
from ml.train import TrainConfig

log = logging.getLogger(__name__)
ProgressFn = Callable[[dict[str, Any]], None]
CandleInput = Mapping[str, pd.DataFrame] | MarketArrays
_PROGRESS = "PROGRESS "


class TrainingBusy(RuntimeError):
    """A training run is already in progress in this process."""


@dataclass(frozen=True)
class TrainSettings:
    models_dir: Path
    train: TrainConfig = field(default_factory=TrainConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)
    min_improvement: float = 0.0  # in validation log loss
    promote: bool = True  # False: register the version, never activate it
    backtest_deposit: Decimal = Decimal(10000)
    backtest_fee: Decimal = Decimal("0.001")

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> TrainSettings:
        return cls(models_dir=settings.models_dir, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "models_dir": str(self.models_dir),
            "train": self.train.to_dict(),
            "features": self.features.to_dict(),
            "labels": self.labels.to_dict(),
            "min_improvement": self.min_improvement,
            "promote": self.promote,
            "backtest_deposit": str(self.backtest_deposit),
            "backtest_fee": str(self.backtest_fee),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainSettings:
        return cls(
            models_dir=Path(data["models_dir"]),
            train=TrainConfig.from_dict(data["train"]),
            features=FeatureConfig.from_dict(data["features"]),
            labels=LabelConfig.from_dict(data["labels"]),
            min_improvement=float(data["min_improvement"]),
            promote=bool(data["promote"]),
            backtest_deposit=Decimal(data["backtest_deposit"]),
            backtest_fee=Decimal(data["backtest_fee"]),
        )


@dataclass
class TrainReport:
    ok: bool
    version: str | None = None
    kind: str | None = None
    promoted: bool = False
    decision: str = ""
    active_before: str | None = None
    active_after: str | None = None
    val: dict[str, Any] = field(default_factory=dict)  # the candidate on the validation window
    active_val: dict[str, Any] | None = None  # the active model on the same samples
    candidate_val_common: dict[str, Any] | None = None  # the candidate on those same samples
    test: dict[str, Any] = field(default_factory=dict)
    backtest: dict[str, Any] | None = None  # the `ml` strategy with the new model, test window
    active_backtest: dict[str, Any] | None = None  # the same with the active model
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """A plain-text summary for the admins' chat."""
        if not self.ok:
            return f"Training failed: {self.error}"
        head = "promoted and active" if self.promoted else "registered, not promoted"
        lines = [
            f"Model {self.version} ({self.kind}): {head}.",
            f"Rule: {model_registry.PROMOTION_METRIC}; {self.decision}.",
        ]
        d = self.data
        if d:
            lines.append(
                f"Data: {d.get('n_symbols')} symbols x {d.get('n_candles')} candles; {self.seconds:.0f} s."
            )
        for name, m in (("Validation", self.val), ("Test", self.test)):
            if m.get("n"):
                lines.append(
                    f"{name} ({m['n']} samples): accuracy {m['accuracy']:.3f} "
                    f"(baseline {m['baseline_accuracy']:.3f}), macro F1 {m['macro_f1']:.3f} "
                    f"(baseline {m['baseline_macro_f1']:.3f}), log loss {m['log_loss']:.4f} "
                    f"(baseline {m['baseline_log_loss']:.4f}), ECE {m['ece']:.3f}."
                )
        new, old = self.candidate_val_common, self.active_val
        if new and old and old.get("n"):
            lines.append(
                f"Same validation samples ({old['n']}): new {new['log_loss']:.4f}, "
                f"{self.active_before} {old['log_loss']:.4f}."
            )
        for name, bt in (("the new model", self.backtest), (str(self.active_before), self.active_backtest)):
            if bt:
                lines.append(
                    f"Backtest of ml with {name} on the test window: return {bt['total_return_pct']:.2f}%, "
                    f"max drawdown {bt['max_drawdown_pct']:.2f}%, {bt['trades']} trades"
                    + (
                        f", win rate {bt['win_rate_pct']:.1f}%."
                        if bt.get("win_rate_pct") is not None
                        else "."
                    )
                )
        lines += [f"Note: {n}" for n in self.notes]
        lines.append(f"Active model: {self.active_after or 'none'}.")
        return "\n".join(lines)


# -- candles ------------------------------------------------------------------------------------------


def to_candles(candles: CandleInput) -> Candles:
    """ml's array form of per-symbol DataFrames (date, open, high, low, close, volume) or of a frame."""
    if isinstance(candles, Mapping):
        from core.strategy.frame import MarketFrame

        frame = MarketFrame.from_candles(candles)
        return Candles(
            frame.symbols, frame.times, frame.open, frame.high, frame.low, frame.close, frame.volume
        )
    if isinstance(candles, Candles):
        return candles
    return Candles(
        tuple(candles.symbols),
        candles.times,
        candles.open,
        candles.high,
        candles.low,
        candles.close,
        candles.volume,
    )


def _save_candles(c: Candles, path: Path) -> None:
    np.savez(
        path,
        symbols=np.array(c.symbols),
        times=c.times,
        open=c.open,
        high=c.high,
        low=c.low,
        close=c.close,
        volume=c.volume,
    )


def _load_candles(path: Path) -> Candles:
    with np.load(path) as z:
        return Candles(
            tuple(str(s) for s in z["symbols"]),
            z["times"],
            z["open"],
            z["high"],
            z["low"],
            z["close"],
            z["volume"],
        )


# -- the CPU-heavy part (the child process, or the CLI's own process) ----------------------------------


def _backtest(
    market: Candles, bundle: ModelBundle, test_span: dict[str, int], cfg: TrainSettings
) -> dict[str, Any]:
    """The `ml` strategy with this model over the test window, through the backtester."""
    from core.backtest.engine import BacktestConfig, run_backtest
    from core.backtest.metrics import compute
    from core.strategy.frame import MarketFrame
    from core.strategy.ml_strategy import MlStrategy, attach_predictions

    frame = MarketFrame(
        market.symbols, market.times, market.open, market.high, market.low, market.close, market.volume
    )
    attach_predictions(frame, bundle, history=True)
    config = BacktestConfig(
        deposit=cfg.backtest_deposit,
        fee=cfg.backtest_fee,
        start_ms=test_span["start_ms"],
        end_ms=test_span["end_ms"],
    )
    summary = compute(run_backtest(frame, MlStrategy(), config))
    keys = (
        "total_return_pct",
        "max_drawdown_pct",
        "sharpe",
        "trades",
        "win_rate_pct",
        "profit_factor",
        "exposure_pct",
        "fees",
    )
    return {k: summary["metrics"].get(k) for k in keys}


def run_job(market: Candles, cfg: TrainSettings, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train, evaluate against the active model, backtest, save the version (inactive). Plain-data result."""
    from ml.pipeline import compare_on_window, fit_version, save_version

    def on_epoch(kind: str, epoch: int, epochs: int, numbers: dict[str, float]) -> None:
        if progress is not None:
            progress({"kind": kind, "epoch": epoch, "epochs": epochs, **numbers})

    started = time.monotonic()
    registry = ModelRegistry(cfg.models_dir)
    outcome = fit_version(market, cfg.train, cfg.features, cfg.labels, on_epoch)
    split = outcome.meta["data_range"]["split"]
    notes: list[str] = []
    test = outcome.metrics["test"]
    if test.get("n") and test["log_loss"] >= test["baseline_log_loss"]:
        notes.append("on the test window the model does not beat the class-share baseline")

    active = registry.active_version()
    active_bundle, comparison = None, None
    if active is not None:
        try:
            active_bundle = registry.load(active, device="cpu")
            comparison = compare_on_window(
                outcome.bundle, active_bundle, market, outcome.prepared, outcome.prepared.split.val
            )
            notes += comparison["notes"]
        except Exception as exc:  # a broken active model must not stop a replacement
            notes.append(f"the active model {active} could not be evaluated: {exc}")

    backtest = active_backtest = None
    try:
        backtest = _backtest(market, outcome.bundle, split["test"], cfg)
        if active_bundle is not None:
            active_backtest = _backtest(market, active_bundle, split["test"], cfg)
    except Exception as exc:
        log.exception("ml backtest failed")
        notes.append(f"the backtest could not run: {exc}")

    info = save_version(registry, outcome, backtest=backtest)
    return {
        "version": info.version,
        "kind": outcome.metrics["kind"],
        "val": _summary(outcome.metrics["val"]),
        "test": _summary(test),
        "active_before": active,
        "active_val": _summary(comparison["active"]) if comparison else None,
        "candidate_val_common": _summary(comparison["candidate"]) if comparison else None,
        "backtest": backtest,
        "active_backtest": active_backtest,
        "data": {"n_symbols": len(market.symbols), "n_candles": len(market.times), "split": split},
        "candidates": outcome.candidates,
        "notes": notes,
        "seconds": time.monotonic() - started,
    }


def _summary(m: dict[str, Any]) -> dict[str, Any]:
    out = {k: m[k] for k in model_registry.SUMMARY_KEYS if k in m}
    if "class_share" in m:
        out["class_share"] = dict(zip(CLASS_NAMES, m["class_share"], strict=True))
    return out


def _child_main(job_dir: Path) -> int:
    cfg = TrainSettings.from_json(json.loads((job_dir / "job.json").read_text()))

    def progress(numbers: dict[str, Any]) -> None:
        print(_PROGRESS + json.dumps(numbers), flush=True)

    result = run_job(_load_candles(job_dir / "candles.npz"), cfg, progress)
    (job_dir / "result.json").write_text(json.dumps(result, default=str))
    return 0


async def _run_child(market: Candles, cfg: TrainSettings, progress: ProgressFn | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="train-") as tmp:
        job_dir = Path(tmp)
        await asyncio.to_thread(_save_candles, market, job_dir / "candles.npz")
        (job_dir / "job.json").write_text(json.dumps(cfg.to_json()))
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "core.training", str(job_dir),
            cwd=str(ROOT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert proc.stdout is not None and proc.stderr is not None
            stderr_task = asyncio.ensure_future(proc.stderr.read())
            async for raw in proc.stdout:
                line = raw.decode(errors="replace").strip()
                if line.startswith(_PROGRESS) and progress is not None:
                    with contextlib.suppress(ValueError):
                        progress(json.loads(line[len(_PROGRESS) :]))
            code = await proc.wait()
            stderr = (await stderr_task).decode(errors="replace")
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if code != 0 or not (job_dir / "result.json").exists():
            last = [ln for ln in stderr.strip().splitlines() if ln.strip()][-1:] or [f"exit code {code}"]
            raise RuntimeError(f"the training process failed: {last[0][:300]}")
        result: dict[str, Any] = json.loads((job_dir / "result.json").read_text())
        return result


# -- the promotion and the report ----------------------------------------------------------------------


async def _promote(
    result: dict[str, Any], cfg: TrainSettings, sm: async_sessionmaker[AsyncSession] | None
) -> TrainReport:
    registry = ModelRegistry(cfg.models_dir)
    report = TrainReport(
        ok=True,
        version=result["version"],
        kind=result["kind"],
        active_before=result["active_before"],
        val=result["val"],
        active_val=result["active_val"],
        candidate_val_common=result["candidate_val_common"],
        test=result["test"],
        backtest=result["backtest"],
        active_backtest=result["active_backtest"],
        data=result["data"],
        notes=list(result["notes"]),
        seconds=float(result["seconds"]),
    )
    version = result["version"]
    t = result["test"]
    test = (t["log_loss"], t["baseline_log_loss"]) if t.get("n") else None
    if result["active_val"] is not None and not result["active_val"].get("n"):
        decision = model_registry.PromotionDecision(
            False,
            f"no validation sample both models can score; {result['active_before']} stays",
            float("nan"),
            float("nan"),
        )
    elif result["active_val"] is not None:
        cand = result["candidate_val_common"]
        decision = model_registry.decide_promotion(
            cand["log_loss"],
            cand["baseline_log_loss"],
            result["active_val"]["log_loss"],
            result["active_before"],
            cfg.min_improvement,
            test,
        )
    else:
        val = result["val"]
        decision = model_registry.decide_promotion(val["log_loss"], val["baseline_log_loss"], test=test)
    report.decision = decision.reason
    promote = decision.promote and cfg.promote
    if decision.promote and not cfg.promote:
        report.decision += " (promotion switched off for this run)"
    if promote and registry.active_version() != result["active_before"]:
        promote = False
        report.decision += "; the active model changed during training, so nothing was switched"
    if sm is not None:
        try:
            await model_registry.record(sm, registry.info(version), backtest=result["backtest"])
            if promote:
                await model_registry.activate(sm, registry, version)
        except SQLAlchemyError as exc:
            report.notes.append(
                f"the model_versions table was not updated ({type(exc).__name__}; run `run_bot.py db "
                "upgrade`); MODELS_DIR was, and core.model_registry.sync copies it into the table"
            )
    if promote and registry.active_version() != version:
        registry.activate(version)
    report.promoted = promote
    report.active_after = registry.active_version()
    return report


_lock = asyncio.Lock()


async def train_and_maybe_promote(
    candles: CandleInput,
    settings: TrainSettings,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    progress: ProgressFn | None = None,
) -> TrainReport:
    """Train a new version in a child process; promote it if it beats the active one (see
    core.model_registry). Never raises for a failed run: the report says what went wrong.
    Raises TrainingBusy when a run is already going in this process."""
    if _lock.locked():
        raise TrainingBusy("a training run is already in progress")
    async with _lock:
        started = time.monotonic()
        try:
            market = await asyncio.to_thread(to_candles, candles)
            result = await _run_child(market, settings, progress)
            report = await _promote(result, settings, sessionmaker)
        except (ValueError, RuntimeError, OSError) as exc:
            log.warning("training failed: %s", exc)
            return TrainReport(ok=False, error=str(exc), seconds=time.monotonic() - started)
        report.seconds = time.monotonic() - started
        return report


# -- run_bot.py train ------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `run_bot.py train` (the candle source options, like --data, are the caller's)."""
    d = TrainConfig()
    parser.add_argument("--epochs", type=int, default=d.epochs, help="maximum epochs per model kind")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--kinds", default=",".join(d.kinds), help="model kinds to try: mlp,conv,lstm")
    parser.add_argument("--window", type=int, default=d.window, help="candles the temporal branch sees")
    parser.add_argument("--horizon", type=int, default=LabelConfig().horizon, help="label horizon in candles")
    parser.add_argument("--device", default=d.device, help="auto, cpu or cuda")
    parser.add_argument(
        "--no-promote", action="store_true", help="register the version but never activate it"
    )


def settings_from_args(args: argparse.Namespace, settings: Settings) -> TrainSettings:
    train = replace(
        TrainConfig(),
        epochs=args.epochs,
        seed=args.seed,
        kinds=tuple(k.strip() for k in args.kinds.split(",") if k.strip()),
        window=args.window,
        device=args.device,
    )
    return TrainSettings.from_settings(
        settings,
        train=train,
        labels=replace(LabelConfig(), horizon=args.horizon),
        promote=not args.no_promote,
    )


def main(
    args: argparse.Namespace,
    candles_provider: Callable[[argparse.Namespace], CandleInput],
    settings: Settings | None = None,
) -> int:
    """`run_bot.py train`: train in this process with a progress bar, print the metrics, register the
    version (and promote it by the same rule as the bot). Returns the exit code."""
    from tqdm import tqdm

    from core.config import ConfigError, load_settings
    from core.db.session import make_engine, make_sessionmaker

    try:
        settings = settings or load_settings()
        cfg = settings_from_args(args, settings)
        market = to_candles(candles_provider(args))
    except (ConfigError, ValueError, OSError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    print(
        f"Training on {len(market.symbols)} symbols x {len(market.times)} candles; "
        f"kinds: {', '.join(cfg.train.kinds)}"
    )
    bars: dict[str, tqdm[Any]] = {}

    def progress(numbers: dict[str, Any]) -> None:
        kind = numbers["kind"]
        if kind not in bars:
            bars[kind] = tqdm(total=numbers["epochs"], desc=f"train {kind}", unit="epoch")
        if numbers["epoch"] == 0:
            return
        bar = bars[kind]
        bar.update(1)
        bar.set_postfix(train=f"{numbers['train_loss']:.4f}", val=f"{numbers['val_loss']:.4f}")

    try:
        result = run_job(market, cfg, progress)
    except (ValueError, RuntimeError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 1
    finally:
        for bar in bars.values():
            bar.close()

    async def finish() -> TrainReport:
        engine = make_engine(settings.database_url)
        try:
            return await _promote(result, cfg, make_sessionmaker(engine))
        finally:
            await engine.dispose()

    report = asyncio.run(finish())
    print(report.text())
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(Path(sys.argv[1])))
