"""A network's reading of the samples it trained on, nearly out of sample: the kept rows in folds, each fold read
by a copy of the trained network fine-tuned for a while without it. The second pass reads its second network so and,
by default, the LSW network too (`config.fold_first`).

Why. A network accepts a wrong label it trains on: on the CIFAR-10N random1 5k subset, the second network
trained on the right labels and half of the hardest wrong ones ranked the right labels above the wrong ones it
trained on at AUC 0.83 to 0.84, above the unseen ones at 0.91 to 0.94 (`bench/second_pass_rows.py --rows
half-hard`, seeds 0 and 2). Reading every sample out of sample by training one network a fold from scratch
(cross-fitting) lost more to the smaller training sets than it gained (4 folds: 0.8849 against 0.8953 at seed 0).
Starting each fold's network from the trained one keeps what the whole set taught it, and fine-tuning it
without the fold makes it drift off what it memorised of the fold's labels; the rows the second pass dropped
are read by every fold's copy, averaged.

The copy trains like the second network (`lsw.retrain.fit`: SGD, warm-up then cosine decay, crop and flip) at
half the learning rate for `EPOCH_SHARE` of the run's epochs, and the fold reading stands in for the second
network's own reading in the final trust (`lsw.second_pass`). Measured on the CIFAR-10N random1 5k subset (10%
trusted, seeds 0 / 1 / 2, the saved runs' second pass trained again by a one-off script that differs from this
module in the warm-up and the batch order; README, *The fold reading*): final AUC 0.8969 / 0.9073 / 0.9090 ->
0.9009 / 0.9107 / 0.9140 (this module at seed 0: 0.8997), F1 +0.013 on average; at 10k +0.0023 / +0.0012. Settings
tried at seed 0 (5k): 4 folds after 2, 4 or 8 epochs at 0.05: 0.8966, 0.8991, 0.9009; 4 epochs at 0.1: 0.8981; 2
folds after 4 or 8 epochs: 0.8967, 0.8972; 8 folds for the LSW network's copies: below. It costs about 30% more
time for an LSW run on the CPU (164 to 211 s at 5k, 374 s at 10k).

The LSW network read the same way (`config.fold_first`, the default since it was measured): it trained on every
sample of D^n, weighted by alpha, so its own trust is in-sample too. Copies of it fine-tuned like the second
network's (plain SGD on D^c and the kept rows without the fold) read the fold, and that reading stands in for its
trust in the final mean. On the same saved runs (the second network's fold reading from the one-off script above,
the LSW network's by this module; README, *The fold reading*), final AUC 5k seeds 0 / 1 / 2: 0.9009 / 0.9107 /
0.9140 -> 0.9053 / 0.9120 / 0.9177; 10k seeds 1 / 2: 0.9325 / 0.9419 -> 0.9337 / 0.9415; the LSW network's fold
reading alone against its own trust: 0.8876 / 0.8969 / 0.9033 -> 0.8989 / 0.9022 / 0.9123 (5k), 0.9235 / 0.9346 ->
0.9276 / 0.9344 (10k); the committed code end to end (`bench/teacher_second_pass.py --fold-first 1`): 5k seeds 0 / 1
/ 2 0.8997 / 0.9119 / 0.9137 -> 0.9039 / 0.9126 / 0.9157, 10k seed 0 0.9293 -> 0.9314; whole `compare` runs at 10k
seeds 1 / 2 (read from their `second_pass/` readings) 0.9333 / 0.9416 -> 0.9349 / 0.9418. It loses on heavy synthetic
noise: Fashion-MNIST 6k, 41% instance noise, 0.9701 -> 0.9663 (copies fine-tuned plainly on kept rows a third wrong
lose what the learned weights gave the LSW network), and up to 0.0013 on digits near the ceiling. As much time again
as the second network's folds. 12 epochs of fine-tuning instead of 8 (the second network's folds, alone): 0.9022
against 0.8977 at 5k seed 0, 0.9367 against 0.9379 (the one-off) at 10k seed 2: 8 stays.

Which rows the copies fine-tune on, and their draws (2026-12-07, `config.fold_keep`, `draw`). The copies of both
networks fine-tune on the 80% of D^n that the mean of the two in-sample readings (the LSW trust and the second
network's own) ranks highest, not on the second network's 90% by the LSW trust (10k: about 390 wrong labels among
their rows instead of about 800), and the LSW network's copies draw their folds, batch order and augmentation apart
from the second network's. 10k, seeds 0 / 1 / 2 (`lsw.second_pass` has the figures and commands): final AUC 0.9314 /
0.9349 / 0.9418 -> 0.9327 / 0.9361 / 0.9445. Fine-tuning is seeded (`lsw.retrain.fit`), so a saved run's fold
readings are read again exactly.

The LSW network in 8 folds (2026-12-07, `config.fold_reading_first`; the second network stays at 4): each copy
fine-tunes on seven eighths of the rows instead of three quarters. CIFAR-10N random1, 10% trusted, the LSW network's
copies read again on the saved runs (`bench/fold_rows.py RUN --by prov:0.8 --folds 8`, the second network's 4-fold
reading kept; README, *The LSW network in eight folds*), its fold reading / the final AUC, seeds 0 / 1 / 2: 10k
0.9279 / 0.9311 / 0.9391 -> 0.9292 / 0.9323 / 0.9403 and 0.9327 / 0.9361 / 0.9445 -> 0.9332 / 0.9363 / 0.9449; 5k
0.8989 / 0.9035 / 0.9108 -> 0.9008 / 0.9070 / 0.9122 and 0.9070 / 0.9119 / 0.9172 -> 0.9071 / 0.9136 / 0.9176. Ahead
at all six; the final's gain (+0.0001 to +0.0017) is the size of the spread between draws, and it costs 2 to 2.5
times the LSW network's fold time (at 10k on this CPU 654 to 847 s against 325 s). The second network in 8 folds was
not measured (it needs the second network trained again, about 35 min a seed at 10k).
"""
from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable

import numpy as np
import torch

from lsw.config import RunConfig
from lsw.device_data import DeviceImages
from lsw.evaluation import trust_reading
from lsw.prepare import Problem
from lsw.retrain import fit

EPOCH_SHARE = 0.4  # each fold's fine-tuning, as a share of `config.epochs` (8 of 20)
LR_SHARE = 0.5  # its peak learning rate, as a share of `config.lr`


def fold_epochs(config: RunConfig) -> int:
    """Epochs of each fold's fine-tuning."""
    return max(1, round(EPOCH_SHARE * config.epochs))


def folded_networks(config: RunConfig) -> int:
    """How many networks a second pass of `config` reads in folds: 0, 1 (the second) or 2 (and the first)."""
    return 0 if config.fold_reading == 0 else 1 + int(config.fold_first)


def reads_first(config: RunConfig) -> bool:
    """Whether a second pass of `config` reads the run's own network (the LSW network) in folds too."""
    return folded_networks(config) == 2


def first_fold_count(config: RunConfig) -> int:
    """The folds of the LSW network's reading when `reads_first(config)`: `fold_reading_first`, or as many as the
    second network's (`fold_reading`) when that is 0."""
    return config.fold_reading_first or config.fold_reading


def network_folds(config: RunConfig) -> list[int]:
    """The folds of each network a second pass of `config` reads in folds, in the order it reads them: the second
    network's, then the LSW network's when `reads_first(config)`; [] when none."""
    return [config.fold_reading, first_fold_count(config)][:folded_networks(config)]


def fold_steps(config: RunConfig, pass_steps: int) -> int:
    """Plain steps of all the folds' fine-tuning (of both networks when `config.fold_first`), when an epoch of the
    second network takes `pass_steps` (its rows are the `second_pass` share; the copies', the `fold_keep` share
    less a fold)."""
    share = config.fold_keep / config.second_pass if config.fold_keep and config.second_pass else 1.0
    return sum(folds * fold_epochs(config) * round(pass_steps * share * (folds - 1) / folds)
               for folds in network_folds(config))


def folds_of(n: int, folds: int, seed: int) -> np.ndarray:
    """int (n,): a seeded fold number in [0, folds) for each of n rows, the folds as near equal as can be."""
    return np.random.default_rng(seed).permutation(n) % folds


def fold_reading(model: torch.nn.Module, config: RunConfig, problem: Problem, data: DeviceImages,
                 kept: np.ndarray, on_progress: Callable[[int, int, int, int], None] | None = None,
                 cancel: threading.Event | None = None, draw: int = 0, folds: int | None = None) -> np.ndarray:
    """float64 (n_noisy,): the trust reading (`lsw.evaluation.trust_reading`) of every sample of D^n by a copy
    of `model` (the second network, trained on D^c and the D^n positions `kept`, or the LSW network) fine-tuned on
    D^c and `kept` without it: each of `folds` (default `config.fold_reading`) folds of `kept` is read by its own
    copy, the other positions by every copy (their mean). `model` itself is not changed. on_progress(fold, epoch,
    step, steps) every step. draw: which seeded draw of the folds, batch order and augmentation (`config.seed` +
    draw): the two networks of a second pass draw apart, so that their readings of a sample do not share a fold's
    rows and crops."""
    noisy, clean = problem.split.noisy, problem.split.clean
    folds = config.fold_reading if folds is None else folds
    config = dataclasses.replace(config, seed=config.seed + draw)
    dropped = np.setdiff1d(np.arange(len(noisy)), kept)
    fold = folds_of(len(kept), folds, config.seed)
    out = np.zeros(len(noisy))
    for f in range(folds):
        progress = None if on_progress is None else (lambda e, i, n, f=f: on_progress(f, e, i, n))
        tuned = fit(config, problem, np.concatenate([noisy[kept[fold != f]], clean]), None, fold_epochs(config),
                    data, progress, cancel, start=copy.deepcopy(model), lr=LR_SHARE * config.lr)
        read = np.concatenate([kept[fold == f], dropped])
        reading = trust_reading(tuned, data, noisy[read], problem.labels[noisy[read]]).astype(np.float64)
        inside = int((fold == f).sum())
        out[kept[fold == f]] = reading[:inside]
        out[dropped] += reading[inside:] / folds
    return out
