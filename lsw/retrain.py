"""The final classifier: retrained from scratch on the kept samples (paper Sec. 4.3 and Table 6)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lsw.batches import make_images
from lsw.config import RunConfig
from lsw.device_data import DeviceImages, resolve_device
from lsw.errors import LswError
from lsw.evaluation import evaluate
from lsw.loop import build_training, epoch_batches, lr_schedule, optimiser, run_epoch
from lsw.metrics import accuracy
from lsw.prepare import Problem
from lsw.reweight import distill_step, plain_step

# Table 6's settings (2, joint training, is the LSW model itself).
SETTINGS = {
    "plain": "(1) all of D^n and D^c, plain cross-entropy: the baseline",
    "weighted": "(3) all of D^n weighted by alpha, plus D^c",
    "filtered": "(4) D^n with alpha >= threshold, unweighted, plus D^c",
    "filtered-weighted": "(5) D^n with alpha >= threshold weighted by alpha, plus D^c",
    "upper-bound": "(6) only the truly clean samples of D^n, plus D^c (needs true labels)",
}


@dataclass
class RetrainResult:
    setting: str
    test_acc: float | None
    n_train: int
    seconds: float
    model: torch.nn.Module


def training_rows(problem: Problem, weight: np.ndarray, setting: str, threshold: float,
                  keep_by: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows of the train set to retrain on and their loss weights (None = unweighted).

    weight: float (n_noisy,) over D^n in split order, the loss weights: the method's own score (LSW's
    alpha; a peer's weight). keep_by: the flag score the "filtered" settings keep at >= threshold
    (default `weight`). D^c rows always have weight 1.
    """
    if setting not in SETTINGS:
        raise LswError(f"unknown retraining setting '{setting}': choose one of {', '.join(SETTINGS)}")
    noisy, clean = problem.split.noisy, problem.split.clean
    keep = np.ones(len(noisy), dtype=bool)
    if setting.startswith("filtered"):
        keep = (weight if keep_by is None else keep_by) >= threshold
    elif setting == "upper-bound":
        if problem.is_noisy is None:
            raise LswError("the upper-bound setting needs true labels (synthetic noise or a true_label column)")
        keep = ~problem.is_noisy
    rows = np.concatenate([noisy[keep], clean])
    if setting in ("weighted", "filtered-weighted"):
        return rows, np.concatenate([weight[keep], np.ones(len(clean))]).astype(np.float32)
    return rows, None


def fit(config: RunConfig, problem: Problem, rows: np.ndarray, weights: np.ndarray | None, epochs: int,
        data: DeviceImages, on_progress: Callable[[int, int, int], None] | None = None,
        cancel: threading.Event | None = None,
        on_epoch: Callable[[torch.nn.Module, int], None] | None = None,
        teacher: torch.nn.Module | None = None, teacher_weight: float = 0.0,
        start: torch.nn.Module | None = None, lr: float | None = None) -> torch.nn.Module:
    """A fresh `config.model` trained for `epochs` on train-set `rows` (labels `problem.labels`),
    optionally loss-weighted by `weights` (float (len(rows),)). on_epoch(model, epochs done) after every epoch.
    teacher: a trained network whose predictions make up `teacher_weight` of every target
    (`lsw.reweight.distill_step`; not with `weights`). start: a network to train further instead of a fresh one
    (trained in place; a fresh optimiser). The global torch RNG, which draws the crops and flips, is seeded with
    `config.seed` + 1 either way, so a network trained again from the same start is the same network.

    SGD (peak learning rate `lr`, default config.lr; Nesterov momentum, weight decay), warm-up then cosine decay
    to 0 (`lr_schedule`), batch `config.retrain_batch_size` (125 in the paper), crop and flip augmentation.
    """
    if teacher is not None and weights is not None:
        raise LswError("a network is trained either on loss weights or from a teacher, not both")
    device = data.device
    train = problem.source.train
    if start is None:
        model, opt = build_training(config, train.shape, train.num_classes, device, config.seed + 1)
    else:  # seeded as a fresh one is (`build_training`): its crops and flips do not hang on what ran before
        torch.manual_seed(config.seed + 1)
        model, opt = start, optimiser(config, start)
    base = config.lr if lr is None else lr
    rows_t = torch.as_tensor(rows, device=device)
    labels = torch.as_tensor(problem.labels, device=device)
    w = None if weights is None else torch.as_tensor(weights, device=device)
    gen = torch.Generator().manual_seed(config.seed + 1)

    def step(pos: torch.Tensor, lr: float) -> torch.Tensor:
        r = rows_t[pos]
        x, y = data.batch(r, augment=True), labels[r]
        if teacher is not None:
            return distill_step(model, opt, x, y, teacher, teacher_weight)
        return plain_step(model, opt, x, y, None if w is None else w[pos])

    for epoch in range(epochs):
        batches = epoch_batches(len(rows), config.retrain_batch_size, gen, device)
        steps = len(batches)
        progress = None if on_progress is None else (lambda i, n, epoch=epoch: on_progress(epoch, i, n))
        run_epoch(opt, batches, step, lambda i, epoch=epoch, steps=steps: lr_schedule(
            base, epoch * steps + i, steps * epochs), device, cancel, progress)
        if on_epoch is not None:
            on_epoch(model, epoch + 1)
    return model


def retrain(config: RunConfig, problem: Problem, weight: np.ndarray, setting: str = "filtered",
            on_progress: Callable[[int, int, int], None] | None = None,
            cancel: threading.Event | None = None, keep_by: np.ndarray | None = None) -> RetrainResult:
    """Train `config.model` from scratch for `config.retrain_epochs` epochs on the rows `setting` picks
    (see `fit` for the recipe) and measure its test accuracy when the source has a test split.
    weight: the method's own score as loss weights; keep_by: the flag score the filtered settings keep
    (default `weight`; see `training_rows`)."""
    started = time.perf_counter()
    train = problem.source.train
    rows, weights = training_rows(problem, weight, setting, config.threshold, keep_by)
    data = make_images(train.images, resolve_device(config.device), train.hflip, config.data_path)
    model = fit(config, problem, rows, weights, config.retrain_epochs, data, on_progress, cancel)
    test_acc = None
    if problem.source.test is not None:
        test = problem.source.test
        test_data = make_images(test.images, data.device, test.hflip, config.data_path, like=data)
        ev = evaluate(model, test_data, np.arange(len(test)), test.labels)
        test_acc = accuracy(ev.pred, test.labels)
    return RetrainResult(setting, test_acc, len(rows), time.perf_counter() - started, model)
