"""What the trainer reports after every epoch."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpochEvent:
    """The state of a run after one epoch. Arrays are over the noisy set D^n, in its order.

    epoch: epochs completed (1-based). epochs: total planned.
    method_score: float32 (n,), the method's own per-sample score in [0, 1] (alpha for LSW, see
        `lsw.scoring.score_name`); higher = trusted.
    loss: float32 (n,), per-sample cross-entropy of the given label (eval mode, no augmentation).
    trust: float32 (n,), the trust score (`lsw.trust`: how strongly the model holds to the given label, averaged
        over the second half of training).
    pred, prob: int64 / float32 (n,), predicted class and its softmax probability.
    train_acc: accuracy on D^n against the given labels. test_acc: on the test split, or None.
    clean_loss: mean loss on the clean set D^c (the honest signal of progress).
    detection: {auc, f1, fdr, recall} when true labels are known, else None.
    elapsed: seconds since the run started (excluding time before a resume).
    lr: the model learning rate at the end of the epoch.
    step_seconds: mean wall time of one training step in this epoch (device work included).
    val_acc, val_loss: accuracy and mean loss on the validation set (held out of the trusted set), or None
        when the trusted set was too small to hold one out.
    health: `lsw.health.Health.to_dict()`, whether the model is learning after this epoch.
    alpha_learned: whether this epoch learned the weights (see `lsw.train.Trainer.learning_alpha`).
    above_chance: whether the held-out accuracy is clearly above chance (`lsw.health.above_chance`).
    sets: per-sample evaluations of the trusted set's parts, e.g. clean_loss / clean_pred / clean_prob
        over D^c and val_loss / val_pred / val_prob over the validation set (split order).
    feature_positions, features: int64 (m,) positions in D^n and float32 (m, D) penultimate features of
        that fixed subsample (the embedding map), or None.
    phase: "lsw" for the training epochs; "second pass" for the one record after them (`lsw.second_pass`),
        numbered epochs + 1, whose trust is the run's final one.
    """

    epoch: int
    epochs: int
    method_score: np.ndarray
    loss: np.ndarray
    trust: np.ndarray
    pred: np.ndarray
    prob: np.ndarray
    train_acc: float
    test_acc: float | None
    clean_loss: float
    detection: dict | None
    elapsed: float
    lr: float
    step_seconds: float = 0.0
    val_acc: float | None = None
    val_loss: float | None = None
    health: dict | None = None
    alpha_learned: bool = False
    above_chance: bool = False
    sets: dict[str, np.ndarray] = field(default_factory=dict)
    feature_positions: np.ndarray | None = None
    features: np.ndarray | None = None
    phase: str = "lsw"

    def scalars(self) -> dict:
        """The per-epoch numbers (no arrays), ready for JSON."""
        d = {
            "epoch": self.epoch,
            "epochs": self.epochs,
            "train_acc": self.train_acc,
            "test_acc": self.test_acc,
            "clean_loss": self.clean_loss,
            "elapsed": self.elapsed,
            "lr": self.lr,
            "step_seconds": self.step_seconds,
            "val_acc": self.val_acc,
            "val_loss": self.val_loss,
            "health": self.health,
            "alpha_learned": self.alpha_learned,
            "phase": self.phase,
        }
        d.update(self.detection or {})
        return d
