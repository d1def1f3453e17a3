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
from lsw.trusted import ORIGIN_EVAL, ORIGIN_RANDOM, ORIGIN_ROWS, TrustedSet, place


@dataclass
class Problem:
    """The inputs of one audit.

    source: the loaded data (train and optional test split).
    split: row indices of the noisy set D^n and the clean set D^c in source.train.
    labels: int64 (N,), the labels training sees: the source's labels with synthetic noise added to
        the D^n rows (D^c rows keep theirs), and on the rows of a trusted set the reviewers' labels.
    given_labels: int64 (N,), the labels the data gives (`labels` before any reviewer's label): the one
        a reviewer saw, so the one decisions are keyed by (`lsw.store`) and the export's given_label.
    true_labels: int64 (N,) when known (synthetic noise, or a manifest's true_label), else None.
    noise_rate: realised fraction of wrong labels in D^n when known, else None.
    clean_origin: how D^c was obtained: "verified" or "reviews" (`lsw.trusted`), "trusted rows" (marked
        by the source), "evaluation" (synthetic noise or a label file: the clean rows keep their true
        labels) or "unverified" (drawn at random from the source's own labels: the pages and CLI warn).
    unverified: how many rows of the trusted set (D^c and validation) carry labels no one checked.
    trusted_set: the `lsw.trusted.TrustedSet` of `config.trusted`, or None.
    reviewed: bool (N,), the rows of D^n whose label a reviewer gave in an earlier round (the trusted set's
        `reviewed`); None without a trusted set.
    """

    source: Source
    split: Split
    labels: np.ndarray
    true_labels: np.ndarray | None
    noise_rate: float | None
    given_labels: np.ndarray
    clean_origin: str = ORIGIN_RANDOM
    unverified: int = 0
    trusted_set: TrustedSet | None = None
    reviewed: np.ndarray | None = None

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
    ts = TrustedSet.read(config.trusted) if config.trusted else None
    inherited = None
    if config.parent_run:  # a later round audits the labels its parent saw (noise included), not a new draw
        from lsw.rounds import parent_labels

        inherited = parent_labels(config.parent_run, source.train)
    split_labels, trusted = source.train.labels.copy(), source.train.trusted
    if ts is not None:
        if ts.dataset != source.fingerprint:
            raise LswError(f"the trusted set {config.trusted} belongs to another data set ({ts.dataset}), not "
                           f"{config.data} ({source.fingerprint}): verify a sample of this one")
        applied = place(ts, source.train.ids, source.train.classes)
        if not applied.trusted.any():
            raise LswError(f"the trusted set {config.trusted} holds no sample of {config.data}: verify a sample first")
        split_labels = (inherited[0] if inherited is not None else source.train.labels).copy()
        split_labels[applied.trusted] = applied.labels[applied.trusted]
        trusted = applied.trusted if source.train.trusted is None else applied.trusted | source.train.trusted
    train = source.train
    split = make_split(split_labels, train.num_classes, trusted=trusted, clean_frac=config.clean_frac,
                       clean_per_class=config.clean_per_class, seed=config.seed,
                       val_frac=config.val_frac)
    if ts is not None and applied.excluded.any():  # samples a reviewer excluded leave the run (rows keep their numbers)
        drop = np.flatnonzero(applied.excluded)
        split = Split(*(np.setdiff1d(part, drop).astype(np.int64) for part in (split.noisy, split.clean, split.val)))
    labels = train.labels.copy()
    true_labels = None if train.true_labels is None else train.true_labels.copy()
    if inherited is not None:
        labels = inherited[0].copy()
        true_labels = true_labels if inherited[1] is None else inherited[1].copy()
    elif noise is not None:
        if true_labels is None:
            true_labels = train.labels.copy()
        idx = split.noisy
        features = train.images[idx].reshape(len(idx), -1).astype(np.float32) / 255.0
        labels[idx] = add_noise(train.labels[idx], train.num_classes, config.noise, seed=config.noise_seed,
                                features=features)
    if given is not None and inherited is None:
        if true_labels is None:
            true_labels = train.labels.copy()
        labels[split.noisy] = given[split.noisy]
    given_labels = labels.copy()
    if ts is not None:  # D^c, and the D^n rows a reviewer labeled, train on the reviewers' labels
        labels[applied.trusted | applied.reviewed] = applied.labels[applied.trusted | applied.reviewed]
    origin, unverified = _clean_origin(config, ts, train, split)
    rate = None if true_labels is None else realised_rate(true_labels[split.noisy], labels[split.noisy])
    return Problem(source, split, labels, true_labels, rate, given_labels, origin, unverified, ts,
                   None if ts is None else applied.reviewed)


def _clean_origin(config: RunConfig, ts: TrustedSet | None, train, split: Split) -> tuple[str, int]:
    """(clean_origin, unverified) of `Problem`."""
    n_trusted = len(split.clean) + len(split.val)
    if ts is not None:
        index = {str(s): i for i, s in enumerate(train.ids)}
        rows = {index[s] for s in ts.unverified if s in index}
        return ts.origin, len(rows & set(split.clean.tolist()) | rows & set(split.val.tolist()))
    if train.trusted is not None and train.trusted.any():
        return ORIGIN_ROWS, 0
    if config.noise or config.labels:
        return ORIGIN_EVAL, 0
    return ORIGIN_RANDOM, n_trusted
