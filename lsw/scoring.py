"""Which per-sample score flags a label (higher = trusted; flagged = score < threshold).

- "trust" (default): how strongly the LSW-trained model holds to the *given* label, on the image and its
  mirror, in eval mode: the mean of its probability against every class and against the strongest rival
  alone, averaged over the epochs of the second half of training (`lsw.trust`, where the measurements are;
  in the first half, the current epoch's; until 2026-12-02 it was the probability of the given label,
  exp(-loss)). LSW's weights keep the model from
  fitting the labels they distrust, so this model's loss separates wrong labels better than alpha's
  own running sum and better than a plainly trained model's loss. Measured (CPU, tinynet, last epoch;
  AUC trust / alpha): digits symmetric 0.3, 10 clean per class, 10 epochs 0.9993 / 0.9642; digits
  instance 0.4 0.9992 / 0.9753; Fashion-MNIST 6,000-sample subset, instance 0.4, 12 epochs 0.9727 /
  0.9013, where a plainly trained model's loss gave 0.949. Commands in the README's Results section.
- "alpha": the learned weight itself, the paper's rule (alpha >= 0.3 kept).

The peers of `lsw.research.compare` flag by their own score, named by what it holds (`score_name`):
MW-Net's weight-net output, L2RW's mean batch weight, small-loss's exp(-loss); none of them is alpha.
"""
from __future__ import annotations

import numpy as np

from lsw.errors import LswError

SCORES = ("trust", "alpha")  # what an LSW run may flag by (RunConfig.score)
METHOD_SCORES = {"lsw": "alpha", "mwnet": "mwnet_weight", "l2rw": "l2rw_weight", "small-loss": "small_loss_trust"}


def score_name(method: str) -> str:
    """The name of `method`'s own per-sample score (higher = trusted): "alpha" for LSW only."""
    if method not in METHOD_SCORES:
        raise LswError(f"unknown method '{method}': choose one of {', '.join(METHOD_SCORES)}")
    return METHOD_SCORES[method]


def flag_score(score: str, method_score: np.ndarray, trust: np.ndarray) -> np.ndarray:
    """float32 (n,) score in [0, 1], higher = trusted, named `score`: "trust" is the trust score (n,)
    (`lsw.trust`); "alpha" and the peers' names (`METHOD_SCORES`) are the method's own per-sample
    score (n,) as it is."""
    if score == "trust":
        return np.asarray(trust, dtype=np.float32)
    if score in SCORES or score in METHOD_SCORES.values():
        return np.asarray(method_score, dtype=np.float32)
    raise LswError(f"unknown flag score '{score}': choose one of {', '.join(SCORES)}")


def run_score(config: dict) -> str:
    """The name of the score a run (its config dict) flags by: an LSW run's `score` (runs written
    before the choice existed flag by alpha); a peer of `lsw.research.compare` flags by its own score."""
    method = config.get("method", "lsw")
    return config.get("score", "alpha") if method == "lsw" else score_name(method)
