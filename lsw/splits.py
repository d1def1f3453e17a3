"""The clean set D^c (trusted) and the noisy set D^n, drawn per class and seeded."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lsw.errors import LswError


@dataclass
class Split:
    """Sorted int64 row indices of the train set: `noisy` = D^n, `clean` = D^c."""

    noisy: np.ndarray
    clean: np.ndarray


def make_split(labels: np.ndarray, num_classes: int, *, trusted: np.ndarray | None = None, clean_frac: float = 0.1,
               clean_per_class: int | None = None, seed: int = 0) -> Split:
    """D^c = the trusted rows when any are marked, else `clean_per_class` (or `clean_frac` of each
    class, at least one) rows per class drawn with `seed`; D^n = the rest."""
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if trusted is not None and np.any(trusted):
        clean = np.flatnonzero(trusted)
    else:
        if clean_per_class is None and not 0.0 < clean_frac < 1.0:
            raise LswError(f"clean fraction {clean_frac} must be between 0 and 1 (the paper uses 0.1)")
        if clean_per_class is not None and clean_per_class < 1:
            raise LswError(f"clean samples per class must be at least 1, got {clean_per_class}")
        rng = np.random.default_rng(seed)
        parts = []
        for c in range(num_classes):
            rows = np.flatnonzero(labels == c)
            if len(rows) == 0:
                continue
            want = clean_per_class if clean_per_class is not None else max(1, round(clean_frac * len(rows)))
            if want >= len(rows):
                raise LswError(f"class {c} has {len(rows)} samples, too few to draw {want} clean ones and keep "
                               "some in the noisy set: lower the clean set size")
            parts.append(rng.choice(rows, want, replace=False))
        clean = np.concatenate(parts) if parts else np.array([], dtype=np.int64)
    clean = np.sort(clean).astype(np.int64)
    noisy = np.setdiff1d(np.arange(n), clean).astype(np.int64)
    if len(noisy) == 0:
        raise LswError("the noisy set is empty: every sample is in the clean set")
    if len(clean) >= len(noisy):
        raise LswError(f"the clean set ({len(clean)}) must be smaller than the noisy set ({len(noisy)})")
    present = set(np.unique(labels[noisy]).tolist())
    missing = sorted(present - set(np.unique(labels[clean]).tolist()))
    if missing:
        raise LswError(f"classes {missing} have no sample in the clean set: mark trusted rows of every class")
    return Split(noisy, clean)
