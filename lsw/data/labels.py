"""Given labels from a file (`--labels PATH.npz:KEY`): audit a source with another set of labels, for
example CIFAR-10 with the CIFAR-10N crowd-worker labels, without writing one file per image.

The file's labels become the given labels of the noisy set D^n; the source's own labels become the
truth (so detection is scored against them) and stay on the trusted rows, as with synthetic noise.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from lsw.errors import LswError


def parse_label_spec(spec: str) -> tuple[Path, str]:
    """"PATH.npz:KEY" -> (path, key); the key is after the last colon."""
    path, colon, key = spec.rpartition(":")
    if not colon or not path or not key:
        raise LswError(f"--labels {spec!r}: write PATH.npz:KEY (for example cifar10n-random1.npz:random_label1)")
    return Path(path).expanduser(), key


def load_label_file(spec: str, n: int, num_classes: int) -> np.ndarray:
    """int64 (n,) labels from the array KEY of the .npz at PATH; checked against the source's size and classes."""
    path, key = parse_label_spec(spec)
    if not path.is_file():
        raise LswError(f"label file {path} not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            if key not in z.files:
                raise LswError(f"{path} has no array {key!r}: it has {', '.join(z.files)}")
            labels = z[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise LswError(f"{path} is not a readable .npz ({' '.join(str(e).split())[:120]})") from None
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise LswError(f"{path}:{key} must be a 1-D integer array, found {labels.dtype} {labels.shape}")
    if len(labels) != n:
        raise LswError(f"{path}:{key} has {len(labels)} labels but the training set has {n} images")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise LswError(f"{path}:{key} holds labels outside [0, {num_classes}) for a {num_classes}-class source")
    return labels.astype(np.int64)
