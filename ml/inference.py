"""The inference service: the active model, one forward pass for all symbols per cycle.

Each call stats the registry's `active` pointer (a microsecond syscall); when the file changed
(os.replace gives it a new inode and mtime), the named version is loaded and used from that call on,
so an activation reaches a running bot without a restart. A version that fails to load is logged and
the previous model keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from ml.bundle import ModelBundle, Prediction
from ml.market import IndicatorFn, MarketArrays
from ml.registry import ModelRegistry, RegistryError

log = logging.getLogger(__name__)


class InferenceService:
    def __init__(self, models_dir: Path | str, device: str = "auto") -> None:
        self.registry = ModelRegistry(models_dir)
        self.device = device
        self._bundle: ModelBundle | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str | None:
        """The version serving now (after checking the pointer)."""
        bundle = self.current()
        return bundle.version if bundle else None

    def current(self) -> ModelBundle | None:
        """The active model, reloaded when the active pointer changed since the last call."""
        try:
            st = os.stat(self.registry.pointer)
        except FileNotFoundError:
            self._bundle, self._stamp = None, None
            return None
        stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._switch(stamp)
        return self._bundle

    def _switch(self, stamp: tuple[int, int, int]) -> None:
        version = self.registry.active_version()
        if version is None:
            self._bundle = None
        elif self._bundle is None or self._bundle.version != version:
            try:
                self._bundle = self.registry.load(version, self.device)
                log.info("model %s is now serving", version)
            except RegistryError as exc:
                kept = self._bundle.version if self._bundle else None
                log.error("active model %s not loaded, keeping %s: %s", version, kept, exc)
        self._stamp = stamp

    def predict(self, market: MarketArrays, indicator: IndicatorFn | None = None) -> Prediction | None:
        """Probabilities for every symbol at the newest candle, or None when no model is active."""
        bundle = self.current()
        if bundle is None:
            return None
        return bundle.predict_last(market, indicator)
