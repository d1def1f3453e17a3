"""Packed CIFAR-10 (JPEG bytes + offsets in one .npz, see shared/data/README.md), decoded once and cached."""
from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from lsw.data.cache import cached_splits, file_stamp, fingerprint
from lsw.data.decode import fit_array
from lsw.data.source import Source
from lsw.errors import LswError
from lsw.images import LabeledImages

SPLITS = ("train", "test")
FIX = "pass cifar10:PATH to the packed CIFAR-10 .npz (see shared/data/README.md) or download it again"


def decode_jpeg(data: np.ndarray) -> np.ndarray:
    """uint8 (3, H, W) RGB pixels of one JPEG file given as a uint8 1-D array (Pillow, on the CPU)."""
    with Image.open(io.BytesIO(data.tobytes())) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)


def decode_packed(blob: np.ndarray, offsets: np.ndarray, progress: bool, desc: str, path: Path) -> np.ndarray:
    """uint8 (N, 3, H, W) from the N JPEG files blob[offsets[i]:offsets[i+1]]; all must share one size."""
    out: np.ndarray | None = None
    for i in tqdm(range(len(offsets) - 1), desc=desc, disable=not progress, unit="img"):
        try:
            a = decode_jpeg(blob[offsets[i]:offsets[i + 1]])
        except Exception as e:  # noqa: BLE001 - any decoder failure means a damaged file
            raise LswError(f"{path}: {desc} image {i} is not a readable JPEG ({type(e).__name__}): "
                           f"{FIX}") from None
        if out is None:
            out = np.empty((len(offsets) - 1, *a.shape), dtype=np.uint8)
        if a.shape != out.shape[1:]:
            raise LswError(f"{path}: {desc} image {i} has shape {a.shape}, the first one "
                           f"{out.shape[1:]}: {FIX}")
        out[i] = a
    return out if out is not None else np.empty((0, 3, 32, 32), dtype=np.uint8)


def _check_split(z: dict[str, np.ndarray], split: str, n_classes: int, path: Path) -> None:
    blob, offsets, labels = z[f"{split}_jpeg"], z[f"{split}_offsets"], z[f"{split}_labels"]
    problem = None
    if blob.dtype != np.uint8 or blob.ndim != 1:
        problem = f"{split}_jpeg must be uint8 bytes, found {blob.dtype} {blob.shape}"
    elif offsets.ndim != 1 or offsets.dtype.kind not in "iu" or len(offsets) != len(labels) + 1:
        problem = f"{split}_offsets must be {len(labels) + 1} integers, found {offsets.dtype} {offsets.shape}"
    elif len(offsets) and (offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) <= 0)):
        problem = f"{split}_offsets do not cut {split}_jpeg ({len(blob)} bytes) into non-empty files"
    elif labels.dtype.kind not in "iu" or (len(labels) and (labels.min() < 0 or labels.max() >= n_classes)):
        problem = f"{split}_labels must be integers in [0, {n_classes})"
    if problem:
        raise LswError(f"{path}: {problem}: {FIX}")


def _read(path: Path) -> dict[str, np.ndarray]:
    names = [f"{s}_{a}" for s in SPLITS for a in ("jpeg", "offsets", "labels")] + ["classes"]
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [n for n in names if n not in z.files]
            if missing:
                raise LswError(f"{path} has no array {', '.join(missing)}: {FIX}")
            return {n: z[n] for n in names}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise LswError(f"{path} is not a readable .npz ({' '.join(str(e).split())[:120]}): {FIX}") from None


def load_cifar10(path: str | Path, cache_dir: str | Path | None = None, progress: bool = True,
                 image_size: int = 32) -> Source:
    """train uint8 (50000, 3, S, S) and test (10000, 3, S, S), S = min(image_size, 32),
    memory-mapped, with the file's labels (the true
    ones, so `true_labels` is None); ids "cifar10:<split>:<i>". Decoded once, then read from the cache."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise LswError(f"CIFAR-10 file {path} not found: {FIX}")
    key = fingerprint("cifar10", file_stamp(path))

    def build(scratch) -> tuple[LabeledImages, LabeledImages]:
        z = _read(path)
        classes = [str(c) for c in np.atleast_1d(z["classes"])]
        parts = []
        for s in SPLITS:
            _check_split(z, s, len(classes), path)
            images = fit_array(decode_packed(z[f"{s}_jpeg"], z[f"{s}_offsets"], progress, f"cifar10 {s}", path),
                               image_size)
            labels = z[f"{s}_labels"].astype(np.int64)
            ids = [f"cifar10:{s}:{i}" for i in range(len(labels))]
            parts.append(LabeledImages(images, labels, classes, ids))
        return parts[0], parts[1]

    train, test = cached_splits(cache_dir, "cifar10", key, image_size, build)
    return Source("cifar10", train, test, key)
