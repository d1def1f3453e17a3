"""Fashion-MNIST from its IDX files (Debian package dataset-fashion-mnist): 60k train, 10k test, 28x28."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from lsw.data.cache import cached_splits, file_stamp, fingerprint
from lsw.data.decode import fit_array
from lsw.data.source import Source
from lsw.errors import LswError
from lsw.images import LabeledImages

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
INSTALL_HINT = "`apt-get install dataset-fashion-mnist` or pass fashion-mnist:DIR"
# (split, file prefix, what, IDX rank): train-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz), ...
FILES = [(split, prefix, what, rank) for split, prefix in (("train", "train"), ("test", "t10k"))
         for what, rank in (("images", 3), ("labels", 1))]


def _candidates(root: Path, prefix: str, what: str, rank: int) -> list[Path]:
    names = [f"{prefix}-{what}-idx{rank}-ubyte", f"{prefix}-{what}.idx{rank}-ubyte"]
    return [root / (n + gz) for n in names for gz in (".gz", "")]


def fashion_files(directory: str | Path = FASHION_DIR) -> dict[tuple[str, str], Path]:
    """The four IDX files under `directory`, keyed by (split, "images" | "labels"); raises LswError."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise LswError(f"Fashion-MNIST folder {root} not found: {INSTALL_HINT}")
    found = {}
    for split, prefix, what, rank in FILES:
        paths = [p for p in _candidates(root, prefix, what, rank) if p.is_file()]
        if not paths:
            raise LswError(f"{root / f'{prefix}-{what}-idx{rank}-ubyte'}(.gz) not found: {INSTALL_HINT}")
        found[(split, what)] = paths[0]
    return found


def read_idx(path: Path, rank: int) -> np.ndarray:
    """The uint8 array of an IDX file (gzip-compressed or not) of the given rank; raises LswError."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise LswError(f"cannot read {path} ({e}): the file is damaged; reinstall it or pass another "
                       "DIR") from None
    if len(data) < 4 + 4 * rank or data[:3] != b"\0\0\x08" or data[3] != rank:
        raise LswError(f"{path} is not an IDX file of unsigned bytes with {rank} dimension(s) "
                       f"(magic {data[:4].hex() or 'missing'}): reinstall it or pass another DIR")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank)
    expected = int(np.prod(dims, dtype=np.int64))
    if body.size != expected:
        raise LswError(f"{path} holds {body.size} values where its header {dims} says {expected}: "
                       "the file is truncated or damaged; reinstall it")
    return body.reshape(dims)


def _read_split(files: dict[tuple[str, str], Path], split: str) -> LabeledImages:
    img_path, lab_path = files[(split, "images")], files[(split, "labels")]
    images, labels = read_idx(img_path, 3), read_idx(lab_path, 1)
    if len(images) != len(labels):
        raise LswError(f"{img_path} has {len(images)} images but {lab_path} has {len(labels)} labels: "
                       "the files do not belong together")
    if len(labels) and labels.max() >= len(FASHION_CLASSES):
        raise LswError(f"{lab_path} has label {int(labels.max())}, Fashion-MNIST has 10 classes: "
                       "the file is damaged")
    ids = [f"fashion-mnist:{split}:{i}" for i in range(len(images))]
    return LabeledImages(images[:, None].copy(), labels.astype(np.int64), list(FASHION_CLASSES), ids)


def load_fashion_mnist(directory: str | Path = FASHION_DIR, cache_dir: str | Path | None = None,
                       image_size: int = 32) -> Source:
    """train uint8 (60000, 1, S, S) and test (10000, 1, S, S), S = min(image_size, 28),
    memory-mapped; ids "fashion-mnist:<split>:<i>"."""
    files = fashion_files(directory)
    key = fingerprint("fashion-mnist", [(p.name, file_stamp(p)) for p in files.values()])
    def build(scratch) -> tuple[LabeledImages, LabeledImages]:
        parts = [_read_split(files, s) for s in ("train", "test")]
        for p in parts:
            p.images = fit_array(p.images, image_size)
        return parts[0], parts[1]

    train, test = cached_splits(cache_dir, "fashion-mnist", key, image_size, build)
    return Source("fashion-mnist", train, test, key)
