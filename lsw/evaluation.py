"""Evaluating a model without augmentation, and the per-epoch evaluation that becomes an EpochEvent.

The trainer only trains; after each epoch `EpochEvaluator` looks at the model and the method and
reports what the epoch achieved (scores over D^n, the clean, validation and test sets, detection when
the truth is known, the health check, features for the map). Recorders and the UI take it from there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lsw import dist
from lsw.config import RunConfig
from lsw.device_data import DeviceImages
from lsw.events import EpochEvent
from lsw.health import above_chance, check_health
from lsw.loop import autocast
from lsw.metrics import accuracy, detection_metrics
from lsw.models import Classifier
from lsw.prepare import Problem
from lsw.reweight import per_sample_loss
from lsw.scoring import flag_score, run_score
from lsw.trust import TrustAverage

FEATURE_SAMPLES = 3000  # the embedding map's fixed subsample of D^n


@dataclass
class Evaluation:
    """Per-sample outputs of a model over some rows, eval mode, no augmentation."""

    loss: np.ndarray
    pred: np.ndarray
    prob: np.ndarray


def eval_batch_size(device: torch.device) -> int:
    """Rows per evaluation batch: 1024 on a GPU; 256 on a CPU, where smallcnn's forward over 1,400 photos
    took 1.87 s at 1024 and 1.46 s at 256 (bigger batches spill the caches)."""
    return 1024 if device.type == "cuda" else 256


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], data: DeviceImages, index: np.ndarray,
            batch_size: int | None = None, split: bool = False) -> torch.Tensor:
    """fn(normalised images) over rows `index` of `data` in batches, no augmentation, float32, concatenated.
    The caller puts the model in eval mode. `split`: in a data-parallel run each process computes its share
    of the rows and every process gets the whole result (`lsw.dist.gather_rows`)."""
    if split:
        return dist.gather_rows(lambda share: batched(fn, data, share, batch_size), index)
    batch_size = batch_size or eval_batch_size(data.device)
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


def evaluate(model: torch.nn.Module, data: DeviceImages, index: np.ndarray, labels: np.ndarray,
             split: bool = False) -> Evaluation:
    """Loss of `labels`, predicted class and its probability for rows `index` of `data` (`split`: see `batched`)."""
    model.eval()
    return outcome(batched(model, data, index, split=split), labels)


def against_all(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """float32 (n,): the given label's probability, softmax(z)_y, of (n, K) `logits` and (n,) `labels`."""
    return torch.softmax(logits.float(), 1).gather(1, labels.view(-1, 1)).squeeze(1)


def against_rival(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """float32 (n,): the given label's probability against its strongest rival alone, sigmoid(z_y - max_{k != y}
    z_k), of (n, K) `logits` (K >= 2) and (n,) `labels`."""
    logits = logits.float()
    given = logits.gather(1, labels.view(-1, 1)).squeeze(1)
    rival = logits.scatter(1, labels.view(-1, 1), float("-inf")).max(1).values
    return torch.sigmoid(given - rival)


def reading(logits: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """One trust reading (`lsw.trust`), float32 (n,): the mean of `against_all` and `against_rival`."""
    return ((against_all(logits, labels) + against_rival(logits, labels)) / 2).cpu().numpy().astype(np.float32)


def trust_reading(model: torch.nn.Module, data: DeviceImages, index: np.ndarray, labels: np.ndarray,
                  logits: torch.Tensor | None = None, split: bool = False) -> np.ndarray:
    """One epoch's trust reading of rows `index` (`lsw.trust.reading`), float32 (len(index),), from the mean
    of each image's logits and its mirror's when `data` allows flips. `logits`: the plain view's, when the
    caller has them already; eval mode, `split` as in `batched`."""
    model.eval()
    if logits is None:
        logits = batched(model, data, index, split=split)
    if data.hflip:
        logits = (logits + batched(lambda x: model(x.flip(3)), data, index, split=split)) / 2
    return reading(logits, torch.as_tensor(labels, device=logits.device))


def outcome(logits: torch.Tensor, labels: np.ndarray) -> Evaluation:
    """The Evaluation of (n, K) `logits` against (n,) `labels`."""
    loss = per_sample_loss(logits, torch.as_tensor(labels, device=logits.device))
    prob, pred = torch.softmax(logits, 1).max(1)
    return Evaluation(loss.cpu().numpy().astype(np.float32), pred.cpu().numpy().astype(np.int64),
                      prob.cpu().numpy().astype(np.float32))


class EpochEvaluator:
    """Builds the EpochEvent of a finished epoch from the model and the method's state.

    data: the train set on the device; test: the test set on the device, or None (not evaluated).
    In a data-parallel run every process evaluates its share of each set and gets the whole result, so
    every process builds the same event (rank 0 alone hands it to observers).
    """

    def __init__(self, config: RunConfig, problem: Problem, data: DeviceImages, test: DeviceImages | None) -> None:
        self.config, self.problem, self.data, self.test = config, problem, data, test
        n = len(problem.split.noisy)
        self.positions = np.sort(np.random.default_rng(config.seed).permutation(n)[:FEATURE_SAMPLES])
        self.trust = TrustAverage(n, config.epochs)  # part of the trainer's checkpoint

    def audited(self, model: Classifier, noisy: np.ndarray, labels: np.ndarray,
                read: bool = True) -> tuple[Evaluation, np.ndarray | None, np.ndarray]:
        """(the Evaluation of D^n, its trust reading when `read`, the features of its mapped rows `positions`).
        When the map shows all of D^n, one pass gives the features and the logits, through the head (a second
        pass cost as much as the first: on a 1,400-photo folder, half of the evaluation time)."""
        model.eval()
        if len(self.positions) == len(noisy):  # positions are then 0..n-1 in order
            h = batched(model.features, self.data, noisy, split=True)
            with torch.no_grad():
                logits = model.head(h)
            features = h.cpu().numpy()
        else:
            logits = batched(model, self.data, noisy, split=True)
            features = batched(model.features, self.data, noisy[self.positions], split=True).cpu().numpy()
        now = trust_reading(model, self.data, noisy, labels, logits, split=True) if read else None
        return outcome(logits, labels), now, features

    def __call__(self, model: torch.nn.Module, method_scores: Callable[[np.ndarray], np.ndarray], epoch: int,
                 elapsed: float, lr: float, step_seconds: float, trust: np.ndarray | None = None) -> EpochEvent:
        """method_scores(eval_loss over D^n) -> the method's own per-sample score (`Method.scores`). `trust`:
        the trust score to report instead of the running average's (the second pass's, `lsw.second_pass`)."""
        cfg, p = self.config, self.problem
        noisy, val = p.split.noisy, p.split.val
        ev, read, features = self.audited(model, noisy, p.labels[noisy], read=trust is None)
        clean_ev = evaluate(model, self.data, p.split.clean, p.labels[p.split.clean], split=True)
        val_ev = evaluate(model, self.data, val, p.labels[val], split=True) if len(val) else None
        test_acc = None
        if self.test is not None:
            test = p.source.test
            test_acc = accuracy(evaluate(model, self.test, np.arange(len(test)), test.labels, split=True).pred,
                                test.labels)
        weight = np.asarray(method_scores(ev.loss), dtype=np.float32)
        trust = self.trust.update(epoch, read) if trust is None else np.asarray(trust, dtype=np.float32)
        score = flag_score(run_score(cfg.to_dict()), weight, trust)
        detection = None
        if p.is_noisy is not None:
            d = detection_metrics(p.is_noisy, score, cfg.threshold)
            detection = {k: d[k] for k in ("auc", "f1", "fdr", "recall")}
        held, held_ev = (val, val_ev) if val_ev is not None else (p.split.clean, clean_ev)
        held_acc, held_labels = accuracy(held_ev.pred, p.labels[held]), p.labels[held]
        health = check_health(epoch=epoch, epochs=cfg.epochs, num_classes=p.source.train.num_classes,
                              acc=held_acc, loss=float(held_ev.loss.mean()),
                              labels=held_labels, on="validation set" if val_ev is not None else "clean set",
                              flag_rate=float((score < cfg.threshold).mean()), lr=cfg.lr)
        sets = {f"{name}_{k}": getattr(e, k) for name, e in (("clean", clean_ev), ("val", val_ev)) if e is not None
                for k in ("loss", "pred", "prob")}
        return EpochEvent(
            epoch=epoch, epochs=cfg.epochs, method_score=weight, loss=ev.loss, trust=trust, pred=ev.pred, prob=ev.prob,
            train_acc=accuracy(ev.pred, p.labels[noisy]), test_acc=test_acc,
            clean_loss=float(clean_ev.loss.mean()), detection=detection, elapsed=elapsed, lr=lr,
            step_seconds=step_seconds, val_acc=None if val_ev is None else accuracy(val_ev.pred, p.labels[val]),
            val_loss=None if val_ev is None else float(val_ev.loss.mean()), health=health.to_dict(),
            sets=sets, feature_positions=self.positions, features=features,
            above_chance=above_chance(held_acc, held_labels))
