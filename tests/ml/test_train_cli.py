"""`run_bot.py train`: the options, a run on the sandbox's synthetic market, the version registered."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from core.config import load_settings
from core.db.models import Base, ModelVersion
from core.training import add_arguments, main
from ml.registry import ModelRegistry
from sandbox.exchange.synthetic import synthetic_ohlcv


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)  # the caller's option
    add_arguments(parser)
    return parser.parse_args(list(argv))


def provider(args: argparse.Namespace) -> dict:
    return synthetic_ohlcv(n_symbols=6, n_candles=500, seed=7, end_ms=1_750_000_000_000)


FAST = ("--epochs", "2", "--kinds", "mlp,conv", "--window", "8", "--horizon", "4", "--device", "cpu")


def test_train_registers_and_promotes_on_the_synthetic_market(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.sqlite3"
    sync_engine = create_engine(f"sqlite:///{db}")
    Base.metadata.create_all(sync_engine)
    settings = load_settings(models_dir=tmp_path / "models", database_url=f"sqlite+aiosqlite:///{db}")

    assert main(parse(*FAST), provider, settings) == 0
    out = capsys.readouterr()
    assert "Training on 6 symbols x 500 candles" in out.out
    assert "Model v1" in out.out and "log loss" in out.out and "Backtest" in out.out
    assert "train mlp" in out.err  # the progress bars
    reg = ModelRegistry(tmp_path / "models")
    assert reg.versions() == ["v1"]
    with Session(sync_engine) as session:
        row = session.execute(select(ModelVersion)).scalar_one()
    assert row.version == "v1" and row.path == str(reg.path_of("v1"))
    assert row.active == (reg.active_version() == "v1")
    assert "val" in row.metrics and "backtest" in row.metrics

    assert main(parse(*FAST, "--no-promote", "--seed", "11"), provider, settings) == 0
    assert reg.versions() == ["v1", "v2"]
    assert reg.active_version() != "v2"


def test_train_without_a_migrated_database_still_registers_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(
        models_dir=tmp_path / "models", database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    )
    assert main(parse(*FAST, "--kinds", "mlp"), provider, settings) == 0
    out = capsys.readouterr().out
    assert "model_versions table was not updated" in out and "db upgrade" in out
    assert ModelRegistry(tmp_path / "models").versions() == ["v1"]


def test_bad_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(models_dir=tmp_path / "models")
    assert main(parse("--kinds", "transformer"), provider, settings) == 2
    assert "model kind must be one of" in capsys.readouterr().err


def test_models_cli_lists_activates_and_rolls_back(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    db = tmp_path / "bot.sqlite3"
    Base.metadata.create_all(create_engine(f"sqlite:///{db}"))
    settings = load_settings(models_dir=tmp_path / "models", database_url=f"sqlite+aiosqlite:///{db}")
    for seed in ("1", "2"):
        assert main(parse(*FAST, "--no-promote", "--seed", seed), provider, settings) == 0
    env = dict(os.environ, MODELS_DIR=str(tmp_path / "models"), DATABASE_URL=settings.database_url)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(root / "run_bot.py"), "models", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            timeout=120,
        )

    assert [line.split()[0] for line in cli("list").stdout.splitlines()] == ["v2", "v1"]  # none active
    assert cli("activate", "v1").returncode == 0
    assert cli("activate", "v2").returncode == 0
    assert cli("list").stdout.splitlines()[0].startswith("* v2")
    assert "active model: v1" in cli("rollback").stdout
    reg = ModelRegistry(tmp_path / "models")
    assert reg.active_version() == "v1"
    with Session(create_engine(f"sqlite:///{db}")) as session:
        active = session.execute(select(ModelVersion.version).where(ModelVersion.active)).scalars().all()
    assert active == ["v1"]
    bad = cli("activate", "v9")
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == f"models: model version v9 does not exist in {reg.versions_dir}"
    )
