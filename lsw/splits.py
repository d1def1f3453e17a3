"""The trusted set, split into the clean set D^c and a validation set, and the noisy set D^n; per class, seeded.

The validation set is a fifth of the trusted set (at least 2 per class) that is never trained on and never
seen by the meta-gradient: it gives a folder or manifest without a test split an honest accuracy and the
health check (`lsw.health`) its evidence. It is held out only when every class can spare it and keep at
least as many rows in D^c; otherwise it is empty and the health check falls back on D^c.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lsw.errors import LswError


@dataclass
class Split:
    """Sorted int64 row indices of the train set: `noisy` = D^n, `clean` = D^c, `val` = the held-out
    validation part of the trusted set (may be empty)."""

    noisy: np.ndarray
    clean: np.ndarray
    val: np.ndarray = dataclasses.field(default_factory=lambda: np.array([], dtype=np.int64))


def hold_out(clean: np.ndarray, labels: np.ndarray, frac: float = 0.2, min_per_class: int = 2,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, val): `frac` of each class of the trusted rows `clean` (at least `min_per_class`) moved to
    val, drawn with `seed`. All or nothing: when some class cannot spare that many and keep at least as
    many in D^c, or `frac` is 0, val is empty (a validation set missing a class would misreport accuracy)."""
    empty = np.array([], dtype=np.int64)
    if frac <= 0 or len(clean) == 0:
        return clean, empty
    rng = np.random.default_rng(seed + 1)
    held = []
    for c in np.unique(labels[clean]):
        rows = clean[labels[clean] == c]
        k = max(min_per_class, round(frac * len(rows)))
        if len(rows) < 2 * k:
            return clean, empty
        held.append(rng.choice(rows, k, replace=False))
    val = np.sort(np.concatenate(held)).astype(np.int64)
    return np.setdiff1d(clean, val).astype(np.int64), val


def make_split(labels: np.ndarray, num_classes: int, *, trusted: np.ndarray | None = None, clean_frac: float = 0.1,
               clean_per_class: int | None = None, seed: int = 0, val_frac: float = 0.2) -> Split:
    """The trusted set = the trusted rows when any are marked, else `clean_per_class` (or `clean_frac` of
    each class, at least one) rows per class drawn with `seed`; D^n = the rest. `val_frac` of the trusted
    set is held out as the validation set (see `hold_out`), the remainder is D^c."""
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
    clean, val = hold_out(clean, labels, val_frac, seed=seed)
    return Split(noisy, clean, val)
