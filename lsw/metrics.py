"""Noisy-label detection metrics (noisy = positive class) and accuracy, in numpy."""
from __future__ import annotations

import numpy as np


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """ROC-AUC of `score` (higher = more likely positive) for bool labels `positive`, ties counted
    half (Mann-Whitney U with average ranks). None when only one class is present."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    ranks = np.empty(len(score))
    # average rank of each run of equal scores
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(score)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def flag_metrics(is_noisy: np.ndarray, flagged: np.ndarray) -> dict:
    """f1, fdr, recall, precision, n_flagged of the bool `flagged` set against bool `is_noisy`."""
    tp = int(np.sum(flagged & is_noisy))
    fp = int(np.sum(flagged & ~is_noisy))
    fn = int(np.sum(~flagged & is_noisy))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "fdr": 1.0 - precision if tp + fp else 0.0, "recall": recall, "precision": precision,
            "n_flagged": int(flagged.sum())}


def detection_metrics(is_noisy: np.ndarray, flag_score: np.ndarray, threshold: float = 0.3) -> dict:
    """Detection of wrong labels by `flag_score` in [0, 1] (higher = trusted; trust, alpha or a
    peer's score): flagged = flag_score < threshold.

    Returns auc (noisy score 1 - flag_score, noisy positive; None if one class only), f1, fdr (false
    discovery rate = FP / flagged, 0 when nothing is flagged; lower is better), recall, precision,
    n_flagged.
    """
    is_noisy = np.asarray(is_noisy, dtype=bool)
    flag_score = np.asarray(flag_score, dtype=np.float64)
    return {"auc": roc_auc(is_noisy, 1.0 - flag_score), **flag_metrics(is_noisy, flag_score < threshold)}


def detection_at_count(is_noisy: np.ndarray, noisy_score: np.ndarray, n_flag: int) -> dict:
    """Flag the `n_flag` samples with the highest `noisy_score` (higher = more likely wrong), as the
    paper does for MW-Net when the noise rate is known. Same keys as `detection_metrics`."""
    is_noisy = np.asarray(is_noisy, dtype=bool)
    noisy_score = np.asarray(noisy_score, dtype=np.float64)
    flagged = np.zeros(len(is_noisy), dtype=bool)
    flagged[np.argsort(-noisy_score, kind="mergesort")[:max(0, int(n_flag))]] = True
    return {"auc": roc_auc(is_noisy, noisy_score), **flag_metrics(is_noisy, flagged)}


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of `pred` equal to `labels`."""
    return float(np.mean(np.asarray(pred) == np.asarray(labels))) if len(labels) else 0.0
