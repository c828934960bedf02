"""The array backend: cupy on a machine with a CUDA device, numpy otherwise.

`COMPUTE_BACKEND` (auto | cpu | gpu) overrides the choice; `gpu` without a usable device is a
start-up error rather than a silent fallback, so a misconfigured GPU host is noticed at once.
"""

from __future__ import annotations

import os
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("auto", "cpu", "gpu")


class BackendError(RuntimeError):
    """The requested compute backend cannot be used here."""


def _cupy_with_device() -> tuple[ModuleType | None, str]:
    """cupy if it imports and a CUDA device answers, else None and the reason."""
    try:
        import cupy  # type: ignore[import-not-found]
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return None, f"cupy does not import ({type(exc).__name__}: {exc})"
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # no driver / no device raises a CUDARuntimeError
        return None, f"no CUDA device answers ({type(exc).__name__}: {exc})"
    if count <= 0:
        return None, "no CUDA device found"
    return cupy, ""


def backend_name(requested: str | None = None) -> str:
    """The effective backend, 'cpu' or 'gpu', for `requested` (default: $COMPUTE_BACKEND or auto)."""
    choice = (
        (requested if requested is not None else os.environ.get("COMPUTE_BACKEND", "auto")).strip().lower()
    )
    if choice not in BACKENDS:
        raise BackendError(f"COMPUTE_BACKEND must be one of {', '.join(BACKENDS)}, got {choice!r}")
    if choice == "cpu":
        return "cpu"
    cupy, reason = _cupy_with_device()
    if cupy is not None:
        return "gpu"
    if choice == "gpu":
        raise BackendError(f"COMPUTE_BACKEND=gpu but the GPU backend is unavailable: {reason}")
    return "cpu"


@lru_cache(maxsize=4)
def _xp_for(requested: str | None) -> ModuleType:
    if backend_name(requested) == "gpu":
        cupy, _ = _cupy_with_device()
        assert cupy is not None
        return cupy
    return np


def get_xp(requested: str | None = None) -> ModuleType:
    """The array module to compute with: cupy or numpy (see module doc). Cached per setting."""
    if requested is None:
        requested = os.environ.get("COMPUTE_BACKEND", "auto")
    return _xp_for(requested.strip().lower())


def clear_cache() -> None:
    """Forget the cached choice (after changing COMPUTE_BACKEND or the installed packages)."""
    _xp_for.cache_clear()


def is_gpu_array(arr: Any) -> bool:
    """True for a cupy (device) array, without importing cupy."""
    return type(arr).__module__.split(".")[0] == "cupy"


def to_numpy(arr: Any) -> np.ndarray:
    """A host numpy array for a numpy or cupy array (or anything array-like)."""
    if is_gpu_array(arr):
        return arr.get()  # type: ignore[no-any-return]
    return np.asarray(arr)
