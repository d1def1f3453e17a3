"""The LSW training loop: epochs, learning-rate schedule, alpha updates, events, checkpoints, cancel.

No UI knowledge: progress goes out through two callbacks, `on_progress(epoch, step, steps)` (cheap,
every step) and `on_event(EpochEvent)` (every epoch), and a `threading.Event` asks it to stop.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lsw.config import RunConfig
from lsw.device_data import DeviceImages, resolve_device
from lsw.errors import LswError
from lsw.events import EpochEvent
from lsw.health import check_health
from lsw.histograms import epoch_histograms, groups_for
from lsw.methods import make_method
from lsw.metrics import accuracy, detection_metrics
from lsw.models import build_model
from lsw.prepare import Problem
from lsw.reweight import per_sample_loss
from lsw.rundir import RunDir, atomic_write
from lsw.scoring import flag_score, run_score, score_name


class Cancelled(Exception):
    """Raised inside the loop when the cancel flag is set; the last checkpoint stays valid."""


@dataclass
class Evaluation:
    """Per-sample outputs of a model over some rows, eval mode, no augmentation."""

    loss: np.ndarray
    pred: np.ndarray
    prob: np.ndarray


WARMUP = 0.05  # share of the steps over which the learning rate climbs linearly to its base


def lr_schedule(base: float, step: int, total: int) -> float:
    """The learning rate of `step` of `total`: a linear warm-up over the first 5% of the steps (at least
    one), then cosine decay to 0. Without the warm-up, the first full-size steps on freshly initialised
    BatchNorm layers can throw a network far off (He et al. warm ResNet-110 up for the same reason)."""
    warm = max(1, round(WARMUP * total))
    if step < warm:
        return base * (step + 1) / warm
    return base * 0.5 * (1.0 + math.cos(math.pi * min(step - warm, total - warm) / max(total - warm, 1)))


def autocast(device: torch.device):
    """bf16 autocast on CUDA, nothing on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], data: DeviceImages, index: np.ndarray,
            batch_size: int = 1024) -> torch.Tensor:
    """fn(normalised images) over rows `index` of `data` in batches, no augmentation, float32, concatenated.
    The caller puts the model in eval mode."""
    idx = torch.as_tensor(index, device=data.device)
    out = []
    for s in range(0, len(idx), batch_size):
        with autocast(data.device):
            out.append(fn(data.batch(idx[s:s + batch_size])).float())
    return torch.cat(out)


def predict_proba(model: torch.nn.Module, data: DeviceImages, index: np.ndarray) -> np.ndarray:
    """float32 (len(index), K) softmax probabilities of rows `index`, eval mode, no augmentation."""
    model.eval()
    return torch.softmax(batched(model, data, index), 1).cpu().numpy()


def evaluate(model: torch.nn.Module, data: DeviceImages, index: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Loss of `labels`, predicted class and its probability for rows `index` of `data`."""
    model.eval()
    logits = batched(model, data, index)
    loss = per_sample_loss(logits, torch.as_tensor(labels, device=logits.device))
    prob, pred = torch.softmax(logits, 1).max(1)
    return Evaluation(loss.cpu().numpy().astype(np.float32), pred.cpu().numpy().astype(np.int64),
                      prob.cpu().numpy().astype(np.float32))


class Trainer:
    """Trains a model with LSW on `problem` and writes the run to `run_dir`.

    Usage: `Trainer(config, problem, run_dir).run()`; `run(resume=True)` continues from the last
    checkpoint in `run_dir`. The method's per-sample score is `method_score()` over D^n (split order),
    higher = trusted: alpha for LSW, the peers' own scores for them.
    `wall_before`: wall seconds the run had taken before this process (restored from the checkpoint);
    `started`: `time.perf_counter()` when this process began on the run (default: now).
    """

    def __init__(self, config: RunConfig, problem: Problem, run_dir: str | RunDir,
                 on_event: Callable[[EpochEvent], None] | None = None,
                 on_progress: Callable[[int, int, int], None] | None = None,
                 cancel: threading.Event | None = None, started: float | None = None) -> None:
        self.config = config
        self.problem = problem
        self.run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        self.on_event = on_event
        self.on_progress = on_progress
        self.cancel = cancel or threading.Event()
        self.device = resolve_device(config.device)
        train = problem.source.train
        self.data = DeviceImages(train.images, self.device, hflip=train.hflip)
        test = problem.source.test if config.eval_test else None
        self.test = None if test is None else DeviceImages(test.images, self.device, test.hflip, like=self.data)
        self.noisy = torch.as_tensor(problem.split.noisy, device=self.device)
        self.clean = torch.as_tensor(problem.split.clean, device=self.device)
        self.labels = torch.as_tensor(problem.labels, device=self.device)
        torch.manual_seed(config.seed)
        self.model = build_model(config.model, train.shape, train.num_classes).to(self.device)
        if self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay, nesterov=config.momentum > 0)
        self.method = make_method(config.method, len(self.noisy), config, self.device)
        self.last_loss = np.zeros(len(self.noisy), dtype=np.float32)  # latest evaluation loss over D^n
        self.gen = torch.Generator().manual_seed(config.seed)
        self.epoch = 0
        self.elapsed = 0.0
        self.wall_before = 0.0
        self.started = time.perf_counter() if started is None else started
        self.events: list[EpochEvent] = []
        self.step_seconds = 0.0

    # -- state ---------------------------------------------------------------------------------
    def method_score(self) -> np.ndarray:
        """float32 (n_noisy,), the method's own per-sample score (LSW: alpha), higher = trusted."""
        return np.asarray(self.method.scores(self.last_loss), dtype=np.float32)

    def score(self, method_score: np.ndarray | None = None) -> np.ndarray:
        """float32 (n_noisy,), the score that flags samples: `config.score` for LSW (see `lsw.scoring`),
        the method's own score for its peers. `method_score` defaults to `self.method_score()`."""
        method_score = self.method_score() if method_score is None else method_score
        return flag_score(run_score(self.config.to_dict()), method_score, self.last_loss)

    def wall_seconds(self) -> float:
        """Wall seconds of the run so far, over every process that worked on it."""
        return self.wall_before + time.perf_counter() - self.started

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.noisy) / self.config.batch_size))

    def save_checkpoint(self) -> None:
        state = {
            "epoch": self.epoch, "elapsed": self.elapsed, "wall": self.wall_seconds(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "method": self.method.state_dict(),
            "last_loss": self.last_loss, "gen": self.gen.get_state(),
            "cpu_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if self.device.type == "cuda" else None,
            "config": self.config.to_dict(),
        }
        atomic_write(self.run_dir.checkpoint, lambda f: torch.save(state, f))

    def load_checkpoint(self) -> None:
        path = self.run_dir.checkpoint
        if not path.exists():
            raise LswError(f"no checkpoint to resume from in {self.run_dir.path}: start a new run")
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.method.load_state_dict(state["method"])
        self.last_loss = state["last_loss"]
        self.gen.set_state(state["gen"])
        torch.set_rng_state(state["cpu_rng"])
        if state["cuda_rng"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"])
        self.epoch = state["epoch"]
        self.elapsed = state["elapsed"]
        self.wall_before = state.get("wall", state["elapsed"])
        self.run_dir.truncate_to(self.epoch)

    def write_header(self) -> None:
        """The run's config and samples: what the run is about, before the first epoch."""
        p, src = self.problem, self.problem.source
        self.run_dir.write_config({**self.config.to_dict(), "source": src.name, "fingerprint": src.fingerprint,
                                   "device": str(self.device), "noise_rate": p.noise_rate,
                                   "classes": src.train.classes})
        arrays = dict(noisy_index=p.split.noisy, clean_index=p.split.clean, val_index=p.split.val, labels=p.labels,
                      source_labels=src.train.labels, ids=np.array(src.train.ids, dtype=str),
                      classes=np.array(src.train.classes, dtype=str))
        if p.true_labels is not None:
            arrays["true_labels"] = p.true_labels
        self.run_dir.write_samples(**arrays)

    # -- loop ----------------------------------------------------------------------------------
    def run(self, resume: bool = False) -> list[EpochEvent]:
        """Train to `config.epochs`; returns the events of the epochs run by this call."""
        if resume:
            self.load_checkpoint()
        else:
            self.write_header()
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

    def train_epoch(self) -> None:
        cfg, epoch = self.config, self.epoch
        started = time.perf_counter()
        steps = self.steps_per_epoch
        total_steps = steps * cfg.epochs
        learn = epoch >= cfg.start_epoch and self.method.needs_clean
        perm = torch.randperm(len(self.noisy), generator=self.gen).to(self.device)
        clean_iter = self.clean_batches()
        loss_sum = torch.zeros((), device=self.device)
        for step, pos in enumerate(torch.tensor_split(perm, steps)):
            if self.cancel.is_set():
                raise Cancelled()
            lr = lr_schedule(cfg.lr, epoch * steps + step, total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            rows = self.noisy[pos]
            x, y = self.data.batch(rows, augment=True), self.labels[rows]
            clean = None
            if learn:
                c = next(clean_iter)
                clean = (self.data.batch(c, augment=True), self.labels[c])
            with autocast(self.device):
                loss_sum += self.method.step(self.model, self.optimizer, x, y, pos, clean, lr, epoch)
            if self.on_progress is not None:
                self.on_progress(epoch, step + 1, steps)
        mean_loss = float(loss_sum) / steps  # the one host sync of the epoch
        self.step_seconds = (time.perf_counter() - started) / steps
        if not math.isfinite(mean_loss):
            raise LswError(f"the training loss became {mean_loss} in epoch {epoch + 1} at learning rate "
                           f"{cfg.lr}: lower the learning rate (for example {cfg.lr / 10:g}) and start again")
        self.epoch += 1
        self.elapsed += time.perf_counter() - started
        self.finish_epoch()

    def finish_epoch(self) -> None:
        """Evaluate, write the epoch's arrays and metrics, checkpoint, and emit the event."""
        cfg, p = self.config, self.problem
        noisy_idx = p.split.noisy
        ev = evaluate(self.model, self.data, noisy_idx, p.labels[noisy_idx])
        self.last_loss = ev.loss
        clean_ev = evaluate(self.model, self.data, p.split.clean, p.labels[p.split.clean])
        val = p.split.val
        val_ev = evaluate(self.model, self.data, val, p.labels[val]) if len(val) else None
        test_acc = None
        if self.test is not None:
            test = p.source.test
            test_ev = evaluate(self.model, self.test, np.arange(len(test)), test.labels)
            test_acc = accuracy(test_ev.pred, test.labels)
        weight = self.method_score()
        score = self.score(weight)
        is_noisy = p.is_noisy
        detection = None
        if is_noisy is not None:
            d = detection_metrics(is_noisy, score, cfg.threshold)
            detection = {k: d[k] for k in ("auc", "f1", "fdr", "recall")}
        val_acc = None if val_ev is None else accuracy(val_ev.pred, p.labels[val])
        val_loss = None if val_ev is None else float(val_ev.loss.mean())
        held, held_ev = (val, val_ev) if val_ev is not None else (p.split.clean, clean_ev)
        health = check_health(epoch=self.epoch, epochs=cfg.epochs, num_classes=p.source.train.num_classes,
                              acc=accuracy(held_ev.pred, p.labels[held]), loss=float(held_ev.loss.mean()),
                              labels=p.labels[held], on="validation set" if val_ev is not None else "clean set",
                              flag_rate=float((score < cfg.threshold).mean()), lr=cfg.lr)
        event = EpochEvent(
            epoch=self.epoch, epochs=cfg.epochs, method_score=weight, loss=ev.loss, pred=ev.pred, prob=ev.prob,
            train_acc=accuracy(ev.pred, p.labels[noisy_idx]), test_acc=test_acc,
            clean_loss=float(clean_ev.loss.mean()), detection=detection, elapsed=self.elapsed,
            lr=self.optimizer.param_groups[0]["lr"], step_seconds=self.step_seconds, val_acc=val_acc,
            val_loss=val_loss, health=health.to_dict())
        name = score_name(cfg.method)
        hist = epoch_histograms(name, weight, ev.loss, groups_for(score, cfg.threshold, is_noisy))
        per_set = {f"{s}_{k}": getattr(e, k) for s, e in (("clean", clean_ev), ("val", val_ev)) if e is not None
                   for k in ("loss", "pred", "prob")}
        self.run_dir.write_epoch(self.epoch, event.scalars(), hist, **{name: weight}, loss=ev.loss, pred=ev.pred,
                                 prob=ev.prob, **per_set)
        self.write_features()
        self.save_checkpoint()
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def write_features(self, max_samples: int = 3000) -> None:
        """The run's features: penultimate features of a fixed subsample of D^n, for the embedding map.

        positions: int64 (m,), positions in D^n; features: float32 (m, D). Same subsample every epoch.
        """
        n = len(self.problem.split.noisy)
        positions = np.sort(np.random.default_rng(self.config.seed).permutation(n)[:max_samples])
        self.run_dir.write_features(self.epoch, positions, self.features(self.problem.split.noisy[positions]))

    def features(self, index: np.ndarray) -> np.ndarray:
        """float32 (len(index), D): penultimate features of rows `index` of the train set."""
        self.model.eval()
        return batched(self.model.features, self.data, index).cpu().numpy()
