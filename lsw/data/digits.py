"""scikit-learn's digits: 1,797 8x8 grey images, always available once the requirements are installed."""
from __future__ import annotations

import hashlib

import numpy as np

from lsw.data.cache import fingerprint
from lsw.data.source import Source
from lsw.images import LabeledImages

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def load_digits() -> Source:
    """Digits as uint8 (N, 1, 8, 8) images (values 0..16 scaled by round(v * 255 / 16)), classes "0".."9".

    The set has no test split of its own: a stratified 20% (seed 0) is held out as `test`. Ids are
    "digits:<index>" with the index into scikit-learn's order, in both splits. hflip is False (a
    mirrored 2 is not a 2)."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    images = np.round(d.images * 255.0 / 16.0).astype(np.uint8)[:, None]
    target = d.target.astype(np.int64)
    index = np.arange(len(images))
    tr, te = train_test_split(index, test_size=TEST_FRACTION, stratify=target, random_state=SPLIT_SEED)
    classes = [str(k) for k in range(10)]

    def part(ix: np.ndarray) -> LabeledImages:
        ix = np.sort(ix)
        return LabeledImages(images[ix], target[ix], classes, [f"digits:{i}" for i in ix], hflip=False)

    content = hashlib.sha256(images.tobytes() + target.tobytes()).hexdigest()
    return Source("digits", part(tr), part(te), fingerprint("digits", content))
