"""Content fingerprints and the on-disk cache of decoded splits, one per (source fingerprint, image size).

Layout, in `cache_dir`, else $LSW_CACHE_DIR, else ~/.cache/lsw:

    <kind>-<key>-<S>px-v<VERSION>.train.u8   the train images, raw uint8 (N, C, S, S), memory-mapped
    <kind>-<key>-<S>px-v<VERSION>.test.u8    the test images, when the source has a test split
    <kind>-<key>-<S>px-v<VERSION>.npz        labels, ids, classes, skipped list, shapes, version

Every file is built under a temporary name (`.tmp-<pid>` appended) and renamed when complete, the
.npz last: a cache whose .npz exists is complete, and a killed build leaves only temporary files,
which the next build of the same cache removes before it starts again. Before a build, the images'
size is checked against the free disk space. A complete cache that is damaged afterwards (an images
file of the wrong size, an .npz that cannot be read or says another version) is refused in one line
naming the file to delete: silently rebuilding an hour-long decode is the caller's choice, not ours.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lsw.atomic import atomic_write
from lsw.errors import LswError
from lsw.images import LabeledImages

# Bump when decoding changes what a cached array holds: old cache files are then ignored.
CACHE_VERSION = 3
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


SPARE = 64 << 20  # bytes left free on the disk after a cache is built


def cache_stem(cache_dir: str | Path | None, kind: str, key: str, size: int) -> Path:
    return cache_root(cache_dir) / f"{kind}-{key}-{size}px-v{CACHE_VERSION}"


def cache_path(cache_dir: str | Path | None, kind: str, key: str, size: int) -> Path:
    """The cache's .npz (its presence means the cache is complete)."""
    return cache_stem(cache_dir, kind, key, size).with_suffix(".npz")


def images_path(stem: Path, split: str) -> Path:
    return stem.with_name(f"{stem.name}.{split}.u8")


def _tmp(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


class Scratch:
    """What a build writes into: `images(split)` is the temporary raw file for that split's images."""

    def __init__(self, stem: Path) -> None:
        self.stem = stem

    def images(self, split: str) -> Path:
        return _tmp(images_path(self.stem, split))

    def reserve(self, nbytes: int) -> None:
        """Refuse (LswError) when the cache folder's disk cannot hold `nbytes` more plus a margin."""
        free = shutil.disk_usage(self.stem.parent).free
        if nbytes + SPARE > free:
            raise LswError(f"the decoded images need about {_mb(nbytes)} in {self.stem.parent} but the disk has "
                           f"{_mb(free)} free: free some space, choose a smaller --image-size, or set "
                           "LSW_CACHE_DIR to a larger disk")


def _mb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def to_arrays(images: LabeledImages, prefix: str) -> dict[str, np.ndarray]:
    """`images` without its pixels as plain (pickle-free) arrays named `<prefix>_<field>`."""
    out = {
        "shape": np.array(images.images.shape, dtype=np.int64),
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


def from_arrays(arrays: dict[str, np.ndarray], prefix: str, pixels: np.ndarray) -> LabeledImages:
    """The inverse of `to_arrays` with `pixels` as the images; raises (any exception) when inconsistent."""
    a = {k[len(prefix) + 1:]: v for k, v in arrays.items() if k.startswith(prefix + "_")}
    classes = [str(c) for c in a["classes"]]
    images = LabeledImages(
        images=pixels, labels=a["labels"], classes=classes, ids=[str(i) for i in a["ids"]],
        true_labels=a.get("true_labels"), trusted=a.get("trusted"), hflip=bool(a["hflip"]),
        skipped=[(str(p), str(r)) for p, r in a["skipped"]])
    for labels in (images.labels, images.true_labels):
        if labels is not None and len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError("label out of range")
    for extra in (images.true_labels, images.trusted):
        if extra is not None and len(extra) != len(images):
            raise ValueError("length mismatch")
    return images


def open_images(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The raw uint8 file `path` as a read-only memory map of `shape`; LswError when its size differs."""
    expected = int(np.prod(shape, dtype=np.int64))
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    if size != expected:
        found = "is missing" if size < 0 else f"holds {size} bytes where {expected} were written"
        raise LswError(f"decode cache {path} {found} (truncated or damaged): delete it and its .npz to rebuild")
    if expected == 0:
        return np.empty(shape, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=tuple(shape))


def _read(stem: Path) -> tuple[LabeledImages, LabeledImages | None] | None:
    meta = stem.with_suffix(".npz")
    if not meta.exists():
        return None
    fix = "delete it (and the .u8 files beside it) to rebuild"
    try:
        with np.load(meta, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - any unreadable file gets the same one line
        raise LswError(f"decode cache {meta} cannot be read (truncated or damaged): {fix}") from None
    version = int(arrays["version"]) if "version" in arrays else None
    if version != CACHE_VERSION:
        raise LswError(f"decode cache {meta} is from another version of lsw (v{version}, this one reads "
                       f"v{CACHE_VERSION}): {fix}")
    out = []
    for split in SPLITS:
        if f"{split}_shape" not in arrays:
            out.append(None)
            continue
        pixels = open_images(images_path(stem, split), tuple(int(s) for s in arrays[f"{split}_shape"]))
        try:
            out.append(from_arrays(arrays, split, pixels))
        except Exception:  # noqa: BLE001
            raise LswError(f"decode cache {meta} is inconsistent: {fix}") from None
    if out[0] is None:
        raise LswError(f"decode cache {meta} has no train split: {fix}")
    return out[0], out[1]


def _clear_stale(stem: Path) -> None:
    """Remove temporary files of this cache left by builds whose process is gone (a killed build)."""
    for p in stem.parent.glob(f"{stem.name}.*.tmp-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _store(stem: Path, scratch: Scratch, parts: dict[str, LabeledImages]) -> None:
    """Write the pixels that are still in memory, then rename the images files and write the .npz last."""
    arrays: dict[str, np.ndarray] = {"version": np.int64(CACHE_VERSION)}
    for split, images in parts.items():
        tmp = scratch.images(split)
        if not isinstance(images.images, np.memmap) or Path(images.images.filename) != tmp.resolve():
            scratch.reserve(images.images.nbytes)
            with open(tmp, "wb") as f:
                np.ascontiguousarray(images.images).tofile(f)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        arrays.update(to_arrays(images, split))
    for split in parts:
        os.replace(scratch.images(split), images_path(stem, split))
    atomic_write(stem.with_suffix(".npz"), lambda f: np.savez(f, **arrays))


def cached_splits(cache_dir: str | Path | None, kind: str, key: str, size: int,
                  build: Callable[[Scratch], tuple[LabeledImages, LabeledImages | None]]
                  ) -> tuple[LabeledImages, LabeledImages | None]:
    """(train, test) of (`kind`, `key`) at image size `size`, read from the cache as memory maps; on a
    miss, `build(scratch)` them and store them. A build either returns pixels in memory (small sets) or
    writes them into `scratch.images(split)` and returns a memory map of that file (see `lsw.data.pool`)."""
    stem = cache_stem(cache_dir, kind, key, size)
    found = _read(stem)
    if found is not None:
        return found
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        _clear_stale(stem)
    except OSError as e:
        raise LswError(f"cannot write the decode cache in {stem.parent} ({e.strerror or e}): set LSW_CACHE_DIR "
                       "to a writable folder") from None
    scratch = Scratch(stem)
    try:
        train, test = build(scratch)
        _store(stem, scratch, {"train": train} if test is None else {"train": train, "test": test})
    except OSError as e:
        raise LswError(f"cannot write the decode cache in {stem.parent} ({e.strerror or e}): free some space "
                       "or set LSW_CACHE_DIR to a writable folder") from None
    finally:
        for split in SPLITS:
            scratch.images(split).unlink(missing_ok=True)
    found = _read(stem)
    assert found is not None
    return found
