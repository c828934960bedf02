"""Device choice and the deterministic training context."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def pick_device(name: str = "auto") -> torch.device:
    """cuda when present (or asked for), cpu otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device cuda was asked for but torch sees no CUDA device")
    return torch.device(name)


def default_threads() -> int:
    """One: these models are too small to gain from intra-op threads, and on a busy 2-core machine
    two torch threads measured 10-30x slower per epoch than one (the threads wait on each other)."""
    return 1


@contextmanager
def deterministic(seed: int, threads: int | None = None) -> Iterator[None]:
    """Fixed seeds, deterministic kernels and a fixed thread count; the previous state is restored."""
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_threads = torch.get_num_threads()
    # cuBLAS needs this to be deterministic; harmless on the CPU
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads or default_threads())
    random.seed(seed)
    np.random.seed(seed)  # third-party code may draw from the global generator
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev_det)
        torch.set_num_threads(prev_threads)
