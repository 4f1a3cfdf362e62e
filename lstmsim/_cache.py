"""Where Numba caches lstmsim's compiled kernels, and why there.

Numba keys a cached function on its own file only: when `run_sequence` (kernel.py) changes, the
cached `run_chunk` (train_loop.py) that inlined it would still be loaded, stale. So the cache lives in
a folder named after a hash of all of lstmsim's sources: any edit or upgrade gets a fresh folder.
A user's NUMBA_CACHE_DIR is respected as the parent.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def source_hash() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def configure() -> Path:
    import numba

    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "lstmsim", "numba")
    path = Path(base) / source_hash()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError:
        path = Path(tempfile.gettempdir()) / f"lstmsim-numba-{source_hash()}"
        path.mkdir(parents=True, exist_ok=True)
    numba.config.CACHE_DIR = str(path)
    return path


CACHE_DIR = configure()
