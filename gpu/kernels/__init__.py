"""Numba kernels behind gpu/indicators.py: one parallel loop over symbols, a few passes over time.

Each kernel follows TA-Lib's own definition (same seeding, warm-up, running sums and zero tests)
on the tail of each row that starts at its first fully valid candle.

Numba's on-disk cache (cache=True) keys each function on its own file only, so a change to a
helper in another file would leave stale machine code behind. Importing this package therefore
drops the cached kernels whenever any kernel source differs from the one they were built from.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def _drop_stale_cache() -> None:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for src in sorted(here.glob("*.py")):
        digest.update(src.name.encode())
        digest.update(src.read_bytes())
    stamp = digest.hexdigest()
    cache = here / "__pycache__"
    marker = cache / "kernels.sources.sha256"
    try:
        if marker.is_file() and marker.read_text() == stamp:
            return
        for stale in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            stale.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        marker.write_text(stamp)
    except OSError:  # read-only install: numba then falls back to its own cache location
        pass


_drop_stale_cache()
