"""Pre-binned histograms of alpha and loss per epoch (the paper's Fig. 5), small enough to stream."""
from __future__ import annotations

import math

import numpy as np

ALPHA_BINS = np.linspace(0.0, 1.0, 51)


def loss_bins(max_loss: float) -> np.ndarray:
    """50 equal bins from 0 to max(1, ceil(max_loss)); larger losses land in the last bin."""
    top = max(1.0, math.ceil(max_loss)) if math.isfinite(max_loss) else 10.0
    return np.linspace(0.0, top, 51)


def groups_for(flag_score: np.ndarray, threshold: float, is_noisy: np.ndarray | None) -> dict[str, np.ndarray]:
    """{"clean", "noisy"} masks when the truth is known, else {"kept": flag_score >= thr, "flagged":
    flag_score < thr}, where `flag_score` is the run's flag score (higher = trusted)."""
    if is_noisy is not None:
        is_noisy = np.asarray(is_noisy, dtype=bool)
        return {"clean": ~is_noisy, "noisy": is_noisy}
    flag_score = np.asarray(flag_score)
    return {"kept": flag_score >= threshold, "flagged": flag_score < threshold}


def score_histogram(values: np.ndarray, groups: dict[str, np.ndarray], edges: np.ndarray = ALPHA_BINS) -> dict:
    """{"edges", "counts": {group: [...]}} of a score in [0, 1] (or any `edges`), values clipped into range."""
    clipped = np.clip(np.asarray(values, dtype=np.float64), edges[0], edges[-1])
    return {"edges": edges.round(6).tolist(),
            "counts": {g: np.histogram(clipped[m], edges)[0].tolist() for g, m in groups.items()}}


def epoch_histograms(name: str, score: np.ndarray, loss: np.ndarray, groups: dict[str, np.ndarray],
                     loss_max: float | None = None, trust: np.ndarray | None = None) -> dict:
    """{name: {"edges", "counts": {group: [...]}}, "loss": {...}, "trust": {...}}, JSON-ready: the method's own
    score `name` in [0, 1] (higher = trusted; "alpha" for LSW), the per-sample loss and, when given, the trust
    score (`lsw.trust`, in [0, 1])."""
    loss = np.asarray(loss, dtype=np.float64)
    finite = loss[np.isfinite(loss)]
    top = loss_max if loss_max is not None else (float(np.quantile(finite, 0.99)) if len(finite) else 1.0)
    out = {name: score_histogram(score, groups),
           "loss": score_histogram(np.nan_to_num(loss, nan=0.0, posinf=1e9), groups, loss_bins(top))}
    if trust is not None:
        out["trust"] = score_histogram(trust, groups)
    return out
