"""On-disk cache of decoded arrays, keyed by a content fingerprint; written atomically."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from lsw.rundir import atomic_write


def cache_root(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get("LSW_CACHE_DIR") or Path.home() / ".cache" / "lsw")


def fingerprint(*parts: object) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def file_stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def load_cached(cache_dir: str | Path | None, key: str) -> dict[str, np.ndarray] | None:
    """The arrays cached under `key`, or None (absent or unreadable: it is then rebuilt)."""
    path = cache_root(cache_dir) / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - a corrupt cache is just a miss
        return None


def save_cached(cache_dir: str | Path | None, key: str, arrays: dict[str, np.ndarray]) -> None:
    try:
        atomic_write(cache_root(cache_dir) / f"{key}.npz", lambda f: np.savez(f, **arrays))
    except OSError:
        pass  # a read-only home still loads, only slower next time
