"""The LSW training loop: epochs, the learning-rate schedule, the method's steps, checkpoints, cancel.

The loop only trains. After every epoch it asks its evaluator for the EpochEvent and hands it to its
observers (`lsw.recorder.RunRecorder` writes the run folder; the dashboard's job and the CLI watch);
progress goes out every step through `on_progress(epoch, step, steps)`, and a `threading.Event` asks
it to stop. No UI knowledge, no file layout.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from lsw import dist
from lsw.atomic import atomic_write
from lsw.batches import make_images
from lsw.config import RunConfig
from lsw.device_data import resolve_device
from lsw.errors import LswError
from lsw.evaluation import EpochEvaluator
from lsw.events import EpochEvent
from lsw.loop import Cancelled, build_training, epoch_batches, lr_schedule, run_epoch, steps_per_epoch
from lsw.methods import make_method
from lsw.prepare import Problem
from lsw.trust import loss_reading

__all__ = ["Trainer", "Cancelled"]


class Trainer:
    """Trains a model with `config.method` (LSW or a peer) on `problem`, checkpointing to `checkpoint`.

    Usage: `Trainer(config, problem, checkpoint, observers=[recorder]).run()`; `load_checkpoint()` first
    continues a run. The method's own per-sample score over D^n (split order, higher = trusted: alpha
    for LSW) is `method_score()`. `started`: `time.perf_counter()` when this process began on the run.

    Started by torchrun, every process builds a Trainer and they train data-parallel (`lsw.dist`): each
    takes its share of every batch, rank 0 alone writes the checkpoint, and a resume reads rank 0's.
    Each process holds the whole training set (resident or streamed, as one process would): any process
    may be handed any row in the next epoch's permutation.
    """

    def __init__(self, config: RunConfig, problem: Problem, checkpoint: str | Path,
                 observers: Sequence[Callable[[EpochEvent], None]] = (),
                 on_progress: Callable[[int, int, int], None] | None = None,
                 cancel: threading.Event | None = None, started: float | None = None) -> None:
        self.config, self.problem, self.checkpoint = config, problem, Path(checkpoint)
        self.observers, self.on_progress = list(observers), on_progress
        self.cancel = cancel or threading.Event()
        self.device = dist.local_device(resolve_device(config.device))
        train = problem.source.train
        self.data = make_images(train.images, self.device, train.hflip, config.data_path)
        test = problem.source.test if config.eval_test else None
        test_data = None if test is None else make_images(test.images, self.device, test.hflip, config.data_path,
                                                          like=self.data)
        self.evaluator = EpochEvaluator(config, problem, self.data, test_data)
        self.noisy = torch.as_tensor(problem.split.noisy, device=self.device)
        self.clean = torch.as_tensor(problem.split.clean, device=self.device)
        self.labels = torch.as_tensor(problem.labels, device=self.device)
        self.model, self.optimizer = build_training(config, train.shape, train.num_classes, self.device, config.seed)
        self.method = make_method(config.method, len(self.noisy), config, self.device)
        if problem.reviewed is not None:
            self.method.pin(problem.reviewed[problem.split.noisy])
        # the rows the real steps train on: D^n, then D^c for a method that trains on it too (positions past
        # D^n's end are D^c's rows, and the method gives them weight 1)
        self.rows = torch.cat([self.noisy, self.clean]) if self.method.trains_on_clean else self.noisy
        if dist.active():
            check_parallel(config, self.method, len(self.clean))
        self.last_loss = np.zeros(len(self.noisy), dtype=np.float32)  # latest evaluation loss over D^n
        self.last_trust = np.ones(len(self.noisy), dtype=np.float32)  # latest trust score (`lsw.trust`)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.epoch, self.elapsed, self.wall_before, self.step_seconds = 0, 0.0, 0.0, 0.0
        self.started = time.perf_counter() if started is None else started
        self.events: list[EpochEvent] = []
        self.model_learns = False  # set once the held-out accuracy is clearly above chance
        self.alpha_this_epoch = False

    def method_score(self) -> np.ndarray:
        """float32 (n_noisy,), the method's own per-sample score (LSW: alpha), higher = trusted."""
        return np.asarray(self.method.scores(self.last_loss), dtype=np.float32)

    def learning_alpha(self) -> bool:
        """Whether this epoch learns the weights: after `start_epoch` epochs and `start_steps` steps, once
        the model is learning.

        The meta-gradient of a model still at chance is noise, and following it collapses alpha: on a
        1,500-photo CIFAR-10 folder (11 steps an epoch, so start_epoch 2 meant 22 steps), half the
        weights fell under 0.01 by epoch 5 and the network ended predicting one class for 94% of the
        samples. So alpha waits until the held-out accuracy is clearly above chance
        (`lsw.health.above_chance`), which on digits or a full CIFAR-10 is the case after epoch 1, and
        for `start_steps` steps (see `RunConfig`; at most half of the run's steps): above chance is not yet
        a model that tells classes apart.
        """
        per_epoch = steps_per_epoch(len(self.rows), self.config.batch_size)
        return (self.method.needs_clean and self.epoch >= self.config.first_weight_epoch(per_epoch)
                and self.model_learns)

    def wall_seconds(self) -> float:
        """Wall seconds of the run so far, over every process that worked on it."""
        return self.wall_before + time.perf_counter() - self.started

    # -- checkpoints ---------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        if not dist.is_main():
            return
        state = {
            "epoch": self.epoch, "elapsed": self.elapsed, "wall": self.wall_seconds(),
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "method": self.method.state_dict(), "last_loss": self.last_loss,
            "trust": self.evaluator.trust.state_dict(), "gen": self.gen.get_state(),
            "model_learns": self.model_learns,
            "cpu_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if self.device.type == "cuda" else None,
            "config": self.config.to_dict(),
        }
        atomic_write(self.checkpoint, lambda f: torch.save(state, f))

    def load_checkpoint(self) -> None:
        state = dist.from_main(self.read_checkpoint)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.method.load_state_dict(state["method"])
        self.last_loss = state["last_loss"]
        if "trust" in state:  # checkpoints written before the average kept only the loss
            self.evaluator.trust.load_state_dict(state["trust"], self.last_loss)
        else:
            self.evaluator.trust.update(0, loss_reading(self.last_loss))
        self.last_trust = self.evaluator.trust.current()
        self.model_learns = state.get("model_learns", True)
        self.gen.set_state(state["gen"])
        torch.set_rng_state(state["cpu_rng"])
        if state["cuda_rng"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"])
        self.epoch, self.elapsed = state["epoch"], state["elapsed"]
        self.wall_before = state.get("wall", state["elapsed"])

    def read_checkpoint(self) -> dict:
        """The checkpoint's state; data-parallel, read by rank 0 onto the CPU and handed to every process
        (the run folder need not be on a disk the other machines see)."""
        if not self.checkpoint.exists():
            raise LswError(f"no checkpoint to resume from in {self.checkpoint.parent}: start a new run")
        where = "cpu" if dist.active() else self.device
        return torch.load(self.checkpoint, map_location=where, weights_only=False)

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> list[EpochEvent]:
        """Train to `config.epochs`; returns the events of the epochs run by this call."""
        try:
            while self.epoch < self.config.epochs:
                self.train_epoch()
        except torch.cuda.OutOfMemoryError as e:
            raise LswError(f"out of GPU memory at batch size {self.config.batch_size}: "
                           "try a smaller batch size or model") from e
        return self.events

    def clean_batches(self):
        """Endless clean batches of `clean_batch_size` rows of D^c, reshuffled each pass."""
        n = len(self.clean)
        size = min(self.config.clean_batch_size, n)
        while True:
            perm = torch.randperm(n, generator=self.gen).to(self.device)
            for s in range(0, n - size + 1, size):
                yield self.clean[perm[s:s + size]]

    def read_order(self, batches: Sequence[torch.Tensor], cleans: list[torch.Tensor]) -> list[torch.Tensor]:
        """The rows the epoch's steps read, in order: each step's clean batch (when it has one), then its
        noisy batch (see `step` in `train_epoch`)."""
        order = []
        for i, pos in enumerate(batches):
            order += [cleans[i], self.rows[pos]] if cleans else [self.rows[pos]]
        return order

    def train_epoch(self) -> None:
        cfg, epoch = self.config, self.epoch
        started = time.perf_counter()
        dist.seed_augmentation(cfg.seed, epoch)
        # Every process draws the same global batches and takes its share of each (`lsw.dist.part`).
        batches = [dist.part(b) for b in epoch_batches(len(self.rows), cfg.batch_size, self.gen, self.device)]
        steps = len(batches)
        self.alpha_this_epoch = self.learning_alpha()
        # Drawn up front (the same draws from self.gen, in the same order, as drawing them step by step)
        # so that a streamed data set can read every batch ahead in the order the steps ask for it.
        # (zip takes from `batches` first, so no clean batch beyond the last step is drawn.)
        clean_list = [dist.part(c) for _, c in zip(batches, self.clean_batches())] if self.alpha_this_epoch else []
        self.data.prefetch(self.read_order(batches, clean_list))
        cleans = iter(clean_list)

        def step(pos: torch.Tensor, lr: float) -> torch.Tensor:
            rows = self.rows[pos]
            clean = None
            if self.alpha_this_epoch:
                c = next(cleans)
                clean = (self.data.batch(c, augment=True), self.labels[c])
            return self.method.step(self.model, self.optimizer, self.data.batch(rows, augment=True),
                                    self.labels[rows], pos, clean, lr, epoch)

        progress = None if self.on_progress is None else (lambda i, n: self.on_progress(epoch, i, n))
        try:
            mean_loss = run_epoch(self.optimizer, batches, step,
                                  lambda i: lr_schedule(cfg.lr, epoch * steps + i, steps * cfg.epochs),
                                  self.device, self.cancel, progress)
        finally:
            self.data.close()  # a cancelled or failed epoch leaves no reader behind
        self.method.merge(torch.cat(batches))  # each sample's weight from the process that held it
        dist.average_buffers(self.model)
        self.step_seconds = (time.perf_counter() - started) / steps
        if not math.isfinite(mean_loss):
            raise LswError(f"the training loss became {mean_loss} in epoch {epoch + 1} at learning rate "
                           f"{cfg.lr}: lower the learning rate (for example {cfg.lr / 10:g}) and start again")
        self.epoch += 1
        self.elapsed += time.perf_counter() - started
        self.finish_epoch()

    def finish_epoch(self) -> None:
        """Evaluate, hand the event to the observers, checkpoint."""
        event = self.evaluator(self.model, self.method.scores, self.epoch, self.elapsed,
                               self.optimizer.param_groups[0]["lr"], self.step_seconds)
        self.last_loss, self.last_trust = event.loss, event.trust
        event.alpha_learned = self.alpha_this_epoch
        # from rank 0: the processes must agree on whether the next epoch learns alpha (its steps differ)
        self.model_learns = dist.from_main(lambda: self.model_learns or event.above_chance)
        for observe in self.observers:
            observe(event)
        self.save_checkpoint()
        self.events.append(event)


def check_parallel(config: RunConfig, method, n_clean: int) -> None:
    """LswError unless `method` can train data-parallel and every process gets rows of every batch."""
    n = dist.world_size()
    if not method.distributed:
        raise LswError(f"method '{config.method}' runs in one process only: start it without torchrun")
    if min(config.batch_size, config.clean_batch_size, n_clean) < n:
        raise LswError(f"{n} processes need batches of at least {n} rows: raise --batch-size and "
                       f"--clean-batch-size (the clean set has {n_clean}), or start fewer processes")
