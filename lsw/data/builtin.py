"""Sources that need no user files: scikit-learn's digits, Fashion-MNIST IDX files, packed CIFAR-10."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lsw.data.cache import file_stamp, fingerprint, load_cached, save_cached
from lsw.data.source import Source
from lsw.errors import LswError
from lsw.images import LabeledImages

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def load_digits() -> Source:
    """scikit-learn's 1,797 8x8 digits (0..16 scaled to 0..255). It has no test split of its own: a
    stratified 20% (seed 0) is held out as one; ids keep the original index. No flips (a flipped 2)."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    images = np.round(d.images * 255.0 / 16.0).astype(np.uint8)[:, None]
    index = np.arange(len(images))
    tr, te = train_test_split(index, test_size=0.2, stratify=d.target, random_state=0)
    tr, te = np.sort(tr), np.sort(te)
    classes = [str(k) for k in range(10)]

    def part(ix: np.ndarray) -> LabeledImages:
        return LabeledImages(images[ix], d.target[ix], classes, [f"digits:{i}" for i in ix], hflip=False)

    return Source("digits", part(tr), part(te), fingerprint("digits", images.shape, int(d.target.sum())))


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise LswError(f"cannot read {path}: {e}") from None
    if len(data) < 8 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise LswError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise LswError(f"{path} is truncated: expected {int(np.prod(dims))} values, found {body.size}")
    return body.reshape(dims)


def _idx_file(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).exists():
            return root / name
    raise LswError(f"{root / stem}(.gz) not found: `apt-get install dataset-fashion-mnist` or pass fashion-mnist:DIR")


def load_fashion_mnist(directory: str | Path = FASHION_DIR) -> Source:
    """Fashion-MNIST from its four IDX files (gzip or not): 60k train, 10k test, 28x28 grey."""
    root = Path(directory)
    if not root.is_dir():
        raise LswError(f"Fashion-MNIST folder {root} not found: `apt-get install dataset-fashion-mnist` "
                       "or pass fashion-mnist:DIR")
    parts = {}
    stamps = []
    for split, prefix in (("train", "train"), ("test", "t10k")):
        img_path = _idx_file(root, f"{prefix}-images-idx3-ubyte")
        lab_path = _idx_file(root, f"{prefix}-labels-idx1-ubyte")
        images, labels = _read_idx(img_path), _read_idx(lab_path)
        if len(images) != len(labels):
            raise LswError(f"{img_path} has {len(images)} images but {lab_path} has {len(labels)} labels")
        ids = [f"fashion-mnist:{split}:{i}" for i in range(len(images))]
        parts[split] = LabeledImages(images[:, None].copy(), labels.astype(np.int64), FASHION_CLASSES, ids)
        stamps += [file_stamp(img_path), file_stamp(lab_path)]
    return Source("fashion-mnist", parts["train"], parts["test"], fingerprint("fashion-mnist", stamps))


def load_cifar10(path: str | Path, cache_dir: str | Path | None = None, progress: bool = True) -> Source:
    """The packed CIFAR-10 file (JPEG bytes + offsets, see shared/data/README.md); decoded once and cached."""
    import io

    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise LswError(f"CIFAR-10 file {path} not found: pass cifar10:PATH to the packed .npz")
    key = fingerprint("cifar10", path.resolve(), file_stamp(path))
    cached = load_cached(cache_dir, key)
    try:
        z = np.load(path, allow_pickle=False)
        classes = [str(c) for c in z["classes"]]
        labels = {s: z[f"{s}_labels"].astype(np.int64) for s in ("train", "test")}
        if cached is None:
            cached = {}
            for s in ("train", "test"):
                blob, offsets = z[f"{s}_jpeg"], z[f"{s}_offsets"]
                out = np.empty((len(offsets) - 1, 3, 32, 32), dtype=np.uint8)
                for i in tqdm(range(len(out)), desc=f"decode cifar10 {s}", disable=not progress, unit="img"):
                    img = Image.open(io.BytesIO(blob[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB")
                    out[i] = np.asarray(img).transpose(2, 0, 1)
                cached[s] = out
            save_cached(cache_dir, key, cached)
    except (KeyError, ValueError, OSError) as e:
        raise LswError(f"{path} is not the packed CIFAR-10 file ({e})") from None
    parts = {s: LabeledImages(cached[s], labels[s], classes, [f"cifar10:{s}:{i}" for i in range(len(labels[s]))])
             for s in ("train", "test")}
    return Source("cifar10", parts["train"], parts["test"], key)
