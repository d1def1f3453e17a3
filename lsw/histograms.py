"""Pre-binned histograms of alpha and loss per epoch (the paper's Fig. 5), small enough to stream."""
from __future__ import annotations

import math

import numpy as np

ALPHA_BINS = np.linspace(0.0, 1.0, 51)


def loss_bins(max_loss: float) -> np.ndarray:
    """50 equal bins from 0 to max(1, ceil(max_loss)); larger losses land in the last bin."""
    top = max(1.0, math.ceil(max_loss)) if math.isfinite(max_loss) else 10.0
    return np.linspace(0.0, top, 51)


def groups_for(alpha: np.ndarray, threshold: float, is_noisy: np.ndarray | None) -> dict[str, np.ndarray]:
    """{"clean", "noisy"} masks when the truth is known, else {"kept": alpha >= thr, "flagged": alpha < thr}."""
    if is_noisy is not None:
        is_noisy = np.asarray(is_noisy, dtype=bool)
        return {"clean": ~is_noisy, "noisy": is_noisy}
    alpha = np.asarray(alpha)
    return {"kept": alpha >= threshold, "flagged": alpha < threshold}


def _counts(values: np.ndarray, edges: np.ndarray, groups: dict[str, np.ndarray]) -> dict:
    clipped = np.clip(values, edges[0], edges[-1])
    return {"edges": edges.round(6).tolist(),
            "counts": {g: np.histogram(clipped[m], edges)[0].tolist() for g, m in groups.items()}}


def epoch_histograms(alpha: np.ndarray, loss: np.ndarray, groups: dict[str, np.ndarray],
                     loss_max: float | None = None) -> dict:
    """{"alpha": {"edges", "counts": {group: [...]}}, "loss": {...}}, JSON-ready; higher alpha = trusted."""
    loss = np.asarray(loss, dtype=np.float64)
    finite = loss[np.isfinite(loss)]
    top = loss_max if loss_max is not None else (float(np.quantile(finite, 0.99)) if len(finite) else 1.0)
    return {"alpha": _counts(np.asarray(alpha, dtype=np.float64), ALPHA_BINS, groups),
            "loss": _counts(np.nan_to_num(loss, nan=0.0, posinf=1e9), loss_bins(top), groups)}
