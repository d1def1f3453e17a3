"""From a RunConfig to the problem the trainer solves: source, clean/noisy split, given labels."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsw.config import RunConfig
from lsw.data import Source, load_source
from lsw.data.labels import load_label_file
from lsw.errors import LswError
from lsw.imagesize import image_size_for
from lsw.noise import add_noise, parse_noise, realised_rate
from lsw.splits import Split, make_split


@dataclass
class Problem:
    """The inputs of one audit.

    source: the loaded data (train and optional test split).
    split: row indices of the noisy set D^n and the clean set D^c in source.train.
    labels: int64 (N,), the labels training sees: the source's labels with synthetic noise added to
        the D^n rows (D^c rows keep theirs).
    true_labels: int64 (N,) when known (synthetic noise, or a manifest's true_label), else None.
    noise_rate: realised fraction of wrong labels in D^n when known, else None.
    """

    source: Source
    split: Split
    labels: np.ndarray
    true_labels: np.ndarray | None
    noise_rate: float | None

    @property
    def is_noisy(self) -> np.ndarray | None:
        """bool (n_noisy,): given label != true label, over D^n in split order; None when unknown."""
        if self.true_labels is None:
            return None
        idx = self.split.noisy
        return self.labels[idx] != self.true_labels[idx]


def prepare(config: RunConfig, cache_dir: str | Path | None = None, progress: bool = True,
            source: Source | None = None) -> Problem:
    """Load `config.data` (unless `source` is given), split it, and add the configured noise or the given
    labels of `config.labels` (see `lsw.data.labels`)."""
    noise = parse_noise(config.noise)
    if noise is not None and config.labels:
        raise LswError("give either synthetic noise (--noise) or a label file (--labels), not both")
    if source is None:
        source = load_source(config.data, cache_dir=cache_dir, progress=progress,
                             image_size=image_size_for(config.image_size, config.model))
    given = None
    if config.labels:
        given = load_label_file(config.labels, len(source.train), source.train.num_classes)
        digest = hashlib.sha256(given.tobytes()).hexdigest()[:12]
        source = dataclasses.replace(source, fingerprint=f"{source.fingerprint}+labels-{digest}")
    if config.max_samples is not None and config.max_samples < len(source.train):
        keep = np.sort(np.random.default_rng(config.seed).permutation(len(source.train))[:config.max_samples])
        source = dataclasses.replace(source, train=source.train.subset(keep))
        given = None if given is None else given[keep]
    train = source.train
    split = make_split(train.labels, train.num_classes, trusted=train.trusted, clean_frac=config.clean_frac,
                       clean_per_class=config.clean_per_class, seed=config.seed,
                       val_frac=config.val_frac)
    labels = train.labels.copy()
    true_labels = None if train.true_labels is None else train.true_labels.copy()
    if noise is not None:
        if true_labels is None:
            true_labels = train.labels.copy()
        idx = split.noisy
        features = train.images[idx].reshape(len(idx), -1).astype(np.float32) / 255.0
        labels[idx] = add_noise(train.labels[idx], train.num_classes, config.noise, seed=config.noise_seed,
                                features=features)
    if given is not None:
        if true_labels is None:
            true_labels = train.labels.copy()
        labels[split.noisy] = given[split.noisy]
    rate = None if true_labels is None else realised_rate(true_labels[split.noisy], labels[split.noisy])
    return Problem(source, split, labels, true_labels, rate)
