"""Synthetic label noise for evaluation (the paper's Sec. 4.1): symmetric, pair flip, instance-dependent."""
from __future__ import annotations

import numpy as np

from lsw.errors import LswError

KINDS = {"symmetric": "symmetric", "asymmetric": "asymmetric", "pairflip": "asymmetric", "pair": "asymmetric",
         "instance": "instance"}


def parse_noise(spec: str | None) -> tuple[str, float] | None:
    """"symmetric:0.4" -> ("symmetric", 0.4); None, "" or "none" -> None. Rate must be in [0, 1)."""
    if spec is None or spec.strip().lower() in ("", "none"):
        return None
    kind, _, rate = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in KINDS:
        raise LswError(f"unknown noise type '{kind}' in '{spec}': use symmetric:E, asymmetric:E or instance:E")
    try:
        value = float(rate)
    except ValueError:
        raise LswError(f"noise rate '{rate}' in '{spec}' is not a number: write e.g. {kind}:0.4") from None
    if not 0.0 <= value < 1.0:
        raise LswError(f"noise rate {rate} in '{spec}' is outside [0, 1): choose e.g. {kind}:0.4")
    return KINDS[kind], value


def add_noise(labels: np.ndarray, num_classes: int, spec: str, seed: int, features: np.ndarray | None = None
              ) -> np.ndarray:
    """Noisy copy of `labels` (int64 (N,)); the input is not modified.

    symmetric E: each label flips with probability E to a uniformly drawn *other* class.
    asymmetric E (pair flip): flips with probability E to (y + 1) mod K.
    instance E (Xia et al. 2020): per-sample flip rate q_i ~ Normal(E, 0.1) truncated to [0, 1];
        per-class projections W_k ~ Normal(0, 1) of shape (D, K); for x_i (L2-normalised) with label
        y, p = x_i @ W_y with p_y = -inf, p = q_i * softmax(p), p_y = 1 - q_i, label ~ Categorical(p).
        `features` (N, D) float is required.
    """
    parsed = parse_noise(spec)
    labels = np.asarray(labels, dtype=np.int64)
    if parsed is None:
        return labels.copy()
    kind, rate = parsed
    rng = np.random.default_rng(seed)
    n, k = len(labels), num_classes
    if k < 2:
        raise LswError("synthetic noise needs at least 2 classes")
    if kind == "symmetric":
        flip = rng.random(n) < rate
        return np.where(flip, (labels + rng.integers(1, k, n)) % k, labels)
    if kind == "asymmetric":
        flip = rng.random(n) < rate
        return np.where(flip, (labels + 1) % k, labels)
    if features is None:
        raise LswError("instance noise needs the images' features")
    return _instance_noise(labels, k, rate, np.asarray(features, dtype=np.float64), rng)


def _instance_noise(labels: np.ndarray, k: int, rate: float, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(labels)
    q = rng.normal(rate, 0.1, n)
    bad = (q < 0) | (q > 1)
    while bad.any():  # truncation by rejection
        q[bad] = rng.normal(rate, 0.1, bad.sum())
        bad = (q < 0) | (q > 1)
    x = x.reshape(n, -1)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    w = rng.normal(0, 1, (k, x.shape[1], k))
    logits = np.einsum("nd,ndk->nk", x, w[labels]) if n * x.shape[1] * k < 5e7 else _project_chunked(x, w, labels)
    logits[np.arange(n), labels] = -np.inf
    p = np.exp(logits - logits.max(1, keepdims=True))
    p = q[:, None] * p / p.sum(1, keepdims=True)
    p[np.arange(n), labels] = 1 - q
    u = rng.random(n)[:, None]
    return np.minimum((np.cumsum(p, 1) < u).sum(1), k - 1).astype(np.int64)


def _project_chunked(x: np.ndarray, w: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = np.empty((len(x), w.shape[2]))
    for c in range(w.shape[0]):
        rows = labels == c
        out[rows] = x[rows] @ w[c]
    return out


def realised_rate(true: np.ndarray, noisy: np.ndarray) -> float:
    """Fraction of labels that differ."""
    return float(np.mean(np.asarray(true) != np.asarray(noisy))) if len(true) else 0.0
