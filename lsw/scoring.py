"""Which per-sample score flags a label (higher = trusted; flagged = score < threshold).

- "trust" (default): the probability that the LSW-trained model gives the *given* label, exp(-loss),
  in eval mode without augmentation, at the same epoch as alpha. LSW's weights keep the model from
  fitting the labels they distrust, so this model's loss separates wrong labels better than alpha's
  own running sum and better than a plainly trained model's loss. Measured (CPU, tinynet, last epoch;
  AUC trust / alpha): digits symmetric 0.3, 10 clean per class, 10 epochs 0.9993 / 0.9642; digits
  instance 0.4 0.9992 / 0.9753; Fashion-MNIST 6,000-sample subset, instance 0.4, 12 epochs 0.9727 /
  0.9013, where a plainly trained model's loss gave 0.949. Commands in the README's Results section.
- "alpha": the learned weight itself, the paper's rule (alpha >= 0.3 kept).
"""
from __future__ import annotations

import numpy as np

from lsw.errors import LswError

SCORES = ("trust", "alpha")


def flag_score(score: str, alpha: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """float32 (n,) score in [0, 1], higher = trusted, from alpha (n,) and the per-sample eval loss (n,)."""
    if score == "alpha":
        return np.asarray(alpha, dtype=np.float32)
    if score == "trust":
        return np.exp(-np.asarray(loss, dtype=np.float64)).astype(np.float32)
    raise LswError(f"unknown flag score '{score}': choose one of {', '.join(SCORES)}")


def run_score(config: dict) -> str:
    """The score a stored run (its config.json) flags by: LSW runs written before the choice existed,
    and the peers of `lsw.compare` (whose "alpha" is their own score), flag by alpha."""
    return config.get("score", "alpha") if config.get("method", "lsw") == "lsw" else "alpha"
