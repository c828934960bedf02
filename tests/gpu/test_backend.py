"""The array backend: numpy here (no cupy installed), the COMPUTE_BACKEND override and its errors."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator

import numpy as np
import pytest

from gpu import backend


@pytest.fixture(autouse=True)
def fresh_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("COMPUTE_BACKEND", raising=False)
    backend.clear_cache()
    yield
    backend.clear_cache()


def _fake_cupy(devices: int | None) -> types.ModuleType:
    """A stand-in for the third-party cupy package: `devices=None` means the runtime call raises."""
    cupy = types.ModuleType("cupy")

    def get_device_count() -> int:
        if devices is None:
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
        return devices

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count)
    cupy.cuda = types.SimpleNamespace(runtime=runtime)  # type: ignore[attr-defined]
    return cupy


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="cupy is installed here")
def test_auto_is_numpy_without_cupy() -> None:
    assert backend.get_xp() is np
    assert backend.backend_name() == "cpu"


def test_cpu_is_numpy_even_with_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(devices=1))
    monkeypatch.setenv("COMPUTE_BACKEND", "cpu")
    assert backend.get_xp() is np


def test_gpu_without_cupy_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    monkeypatch.setenv("COMPUTE_BACKEND", "gpu")
    with pytest.raises(backend.BackendError, match="COMPUTE_BACKEND=gpu.*cupy does not import"):
        backend.get_xp()


@pytest.mark.parametrize("devices", [None, 0])
def test_cupy_without_a_device(monkeypatch: pytest.MonkeyPatch, devices: int | None) -> None:
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(devices))
    assert backend.get_xp("auto") is np
    with pytest.raises(backend.BackendError, match="no CUDA device"):
        backend.get_xp("gpu")


def test_cupy_with_a_device_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_cupy(devices=2)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setenv("COMPUTE_BACKEND", " GPU ")
    assert backend.get_xp() is fake
    assert backend.backend_name() == "gpu"


def test_unknown_setting_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPUTE_BACKEND", "tpu")
    with pytest.raises(backend.BackendError, match="auto, cpu, gpu"):
        backend.get_xp()


def test_to_numpy() -> None:
    arr = np.arange(3.0)
    assert backend.to_numpy(arr) is arr
    listed = backend.to_numpy([1.0, 2.0])
    assert isinstance(listed, np.ndarray)
    np.testing.assert_array_equal(listed, [1.0, 2.0])
    assert not backend.is_gpu_array(arr)
