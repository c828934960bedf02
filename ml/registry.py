"""The file registry of trained models in MODELS_DIR.

    MODELS_DIR/versions/v7/model.safetensors   weights
    MODELS_DIR/versions/v7/meta.json           features, normalisation, data range, metrics, code version
    MODELS_DIR/active                          the active version's name (replaced atomically)
    MODELS_DIR/history.json                    activations in order, for roll back

A version folder is written under a temporary name and renamed into place, so a reader sees either a
complete version or none. core/model_registry.py mirrors this into the model_versions table.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ml.bundle import ModelBundle
from ml.device import pick_device
from ml.features import FeatureConfig
from ml.labels import LabelConfig
from ml.model import MarketNet, ModelConfig
from ml.normalize import Normalizer

WEIGHTS, META, ACTIVE, HISTORY = "model.safetensors", "meta.json", "active", "history.json"
_VERSION_RE = re.compile(r"^v(\d+)$")


class RegistryError(Exception):
    """A version is missing or unreadable, or an activation is not possible."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    path: Path
    meta: dict[str, Any]


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _number(version: str) -> int:
    m = _VERSION_RE.match(version)
    if not m:
        raise RegistryError(f"not a version name: {version!r} (expected v<number>)")
    return int(m.group(1))


class ModelRegistry:
    def __init__(self, models_dir: Path | str) -> None:
        self.root = Path(models_dir)
        self.versions_dir = self.root / "versions"
        self.pointer = self.root / ACTIVE

    # -- versions ---------------------------------------------------------------------------------
    def versions(self) -> list[str]:
        if not self.versions_dir.is_dir():
            return []
        names = [p.name for p in self.versions_dir.iterdir() if p.is_dir() and _VERSION_RE.match(p.name)]
        return sorted(names, key=_number)

    def path_of(self, version: str) -> Path:
        _number(version)
        return self.versions_dir / version

    def info(self, version: str) -> VersionInfo:
        path = self.path_of(version)
        try:
            meta = json.loads((path / META).read_text())
        except FileNotFoundError:
            raise RegistryError(f"model version {version} does not exist in {self.versions_dir}") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise RegistryError(f"model version {version}: unreadable metadata ({exc})") from None
        return VersionInfo(version, path, meta)

    def save(self, bundle: ModelBundle, meta: dict[str, Any]) -> VersionInfo:
        """Store a new version (not activated) and return it; the bundle takes the version name."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.versions_dir, prefix=".staging-"))
        try:
            state = {k: v.detach().cpu().contiguous() for k, v in bundle.model.state_dict().items()}
            save_file(state, str(staging / WEIGHTS))
            full = {
                **meta,
                "model": bundle.model.config.to_dict(),
                "features": bundle.feature_config.to_dict(),
                "feature_names": bundle.feature_config.names(),
                "labels": bundle.label_config.to_dict(),
                "normalization": bundle.normalizer.to_dict(),
                "torch": torch.__version__,
            }
            while True:
                existing = self.versions()
                version = f"v{_number(existing[-1]) + 1 if existing else 1}"
                full["version"] = version
                full.setdefault("created_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                (staging / META).write_text(json.dumps(full, indent=2, sort_keys=True))
                try:
                    # rename fails if a concurrent writer took the number first: take the next one
                    os.rename(staging, self.versions_dir / version)
                    break
                except OSError:
                    if not (self.versions_dir / version).exists():
                        raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        bundle.version = version
        bundle.meta = full
        return VersionInfo(version, self.versions_dir / version, full)

    def load(self, version: str, device: str = "cpu") -> ModelBundle:
        info = self.info(version)
        meta = info.meta
        try:
            model = MarketNet(ModelConfig.from_dict(meta["model"]))
            model.load_state_dict(load_file(str(info.path / WEIGHTS)))
            bundle = ModelBundle(
                model,
                FeatureConfig.from_dict(meta["features"]),
                LabelConfig.from_dict(meta["labels"]),
                Normalizer.from_dict(meta["normalization"]),
                version=version,
                meta=meta,
            )
        except (KeyError, TypeError, ValueError, RuntimeError, OSError, SafetensorError) as exc:
            raise RegistryError(f"model version {version} cannot be loaded: {exc}") from None
        bundle.device = pick_device(device)
        model.to(bundle.device).eval()
        return bundle

    # -- activation -------------------------------------------------------------------------------
    def active_version(self) -> str | None:
        try:
            text = self.pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return text or None

    def history(self) -> list[dict[str, Any]]:
        try:
            data = json.loads((self.root / HISTORY).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return []
        return data if isinstance(data, list) else []

    def activate(self, version: str) -> None:
        """Make `version` the active model; inference services pick it up on their next call."""
        self.info(version)  # raises when it does not exist
        self.root.mkdir(parents=True, exist_ok=True)
        entries = [*self.history(), {"version": version, "at": time.time()}]
        _atomic_write(self.root / HISTORY, json.dumps(entries[-200:], indent=1))
        _atomic_write(self.pointer, version + "\n")

    def previous_version(self) -> str | None:
        """The version a roll back would activate: the last activation before the current one's."""
        return self._rollback_stack()[1]

    def _rollback_stack(self) -> tuple[list[dict[str, Any]], str | None]:
        current = self.active_version()
        entries = self.history()
        # the history is a stack: drop the current version's activations and vanished versions
        while entries and (
            entries[-1].get("version") == current
            or not (self.versions_dir / str(entries[-1].get("version"))).is_dir()
        ):
            entries.pop()
        return entries, (str(entries[-1]["version"]) if entries else None)

    def rollback(self) -> str:
        """Re-activate the version active before the current one and forget the current activation."""
        entries, prev = self._rollback_stack()
        if prev is None:
            raise RegistryError("there is no earlier version to roll back to")
        _atomic_write(self.root / HISTORY, json.dumps(entries, indent=1))
        _atomic_write(self.pointer, prev + "\n")
        return prev

    def deactivate(self) -> None:
        self.pointer.unlink(missing_ok=True)
