"""Content fingerprints and the on-disk cache of decoded splits (one .npz per source, written atomically).

The cache directory is `cache_dir`, else $LSW_CACHE_DIR, else ~/.cache/lsw. A cache file that is
missing, unreadable or inconsistent is a miss: the split is decoded again and the file rewritten.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lsw.images import LabeledImages
from lsw.rundir import atomic_write

# Bump when decoding changes what a cached array holds: old cache files are then ignored.
CACHE_VERSION = 2
SPLITS = ("train", "test")


def cache_root(cache_dir: str | Path | None) -> Path:
    """The folder holding cache files: `cache_dir`, else $LSW_CACHE_DIR, else ~/.cache/lsw."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get("LSW_CACHE_DIR") or Path.home() / ".cache" / "lsw").expanduser()


def fingerprint(*parts: object) -> str:
    """sha256 over the repr of `parts` (str, numbers, tuples and lists of them), as 24 hex digits."""
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()[:24]


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of `path` (symlinks followed), or None when it cannot be stat'ed."""
    try:
        st = path.stat()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop on some Python versions
        return None
    return st.st_size, st.st_mtime_ns


def cache_path(cache_dir: str | Path | None, kind: str, key: str) -> Path:
    return cache_root(cache_dir) / f"{kind}-{key}-v{CACHE_VERSION}.npz"


def to_arrays(images: LabeledImages, prefix: str) -> dict[str, np.ndarray]:
    """`images` as plain (pickle-free) arrays named `<prefix>_<field>`."""
    out = {
        "images": images.images,
        "labels": images.labels,
        "classes": np.array(images.classes, dtype=str),
        "ids": np.array(images.ids, dtype=str),
        "hflip": np.array(images.hflip),
        "skipped": np.array(images.skipped, dtype=str).reshape(-1, 2),
    }
    if images.true_labels is not None:
        out["true_labels"] = images.true_labels
    if images.trusted is not None:
        out["trusted"] = images.trusted
    return {f"{prefix}_{k}": v for k, v in out.items()}


def from_arrays(arrays: dict[str, np.ndarray], prefix: str) -> LabeledImages:
    """The inverse of `to_arrays`; raises (any exception) when the arrays are inconsistent."""
    a = {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "_")}
    classes = [str(c) for c in a["classes"]]
    images = LabeledImages(
        images=a["images"], labels=a["labels"], classes=classes, ids=[str(i) for i in a["ids"]],
        true_labels=a.get("true_labels"), trusted=a.get("trusted"), hflip=bool(a["hflip"]),
        skipped=[(str(p), str(r)) for p, r in a["skipped"]])
    for labels in (images.labels, images.true_labels):
        if labels is not None and len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError("label out of range")
    for extra in (images.true_labels, images.trusted):
        if extra is not None and len(extra) != len(images):
            raise ValueError("length mismatch")
    return images


def _read(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - a corrupt or truncated cache file is only a miss
        return None


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        atomic_write(path, lambda f: np.savez(f, **arrays))
    except OSError:
        pass  # a read-only or full disk still loads, only slower next time


def cached_splits(cache_dir: str | Path | None, kind: str, key: str,
                  build: Callable[[], tuple[LabeledImages, LabeledImages | None]]
                  ) -> tuple[LabeledImages, LabeledImages | None]:
    """(train, test) from the cache file of (`kind`, `key`); on a miss, `build()` them and write the file."""
    path = cache_path(cache_dir, kind, key)
    arrays = _read(path)
    if arrays is not None:
        try:
            train = from_arrays(arrays, "train")
            test = from_arrays(arrays, "test") if "test_labels" in arrays else None
            return train, test
        except Exception:  # noqa: BLE001 - an inconsistent cache file is rebuilt
            pass
    train, test = build()
    arrays = to_arrays(train, "train")
    if test is not None:
        arrays.update(to_arrays(test, "test"))
    _write(path, arrays)
    return train, test
