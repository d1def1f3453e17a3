"""Evidence for a flag, computed once from the finished model: for every sample of D^n, the model's top
3 classes with their probabilities, and its 3 nearest trusted samples (D^c) by the model's features.

The focused review shows them beside the sample ("why is this here?"): a label the model doubts and
whose nearest trusted neighbours all carry another class is a wrong label at a glance. Nearness is the
cosine similarity of the penultimate features (`Classifier.features`). A trusted set larger than
`MAX_REFERENCE` is searched through a seeded subsample of that size, so the search stays within seconds
at a million samples (n x 20,000 dot products in chunks).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lsw.device_data import DeviceImages
from lsw.evaluation import batched

TOP = 3
MAX_REFERENCE = 20_000
ROWS = 65_536  # rows of D^n whose features are held at once


def top_classes(probs: torch.Tensor, k: int = TOP) -> tuple[np.ndarray, np.ndarray]:
    """(classes int16 (n, k), probabilities float16 (n, k)) of the k most likely classes, best first."""
    p, c = probs.topk(min(k, probs.shape[1]), dim=1)
    return c.cpu().numpy().astype(np.int16), p.cpu().numpy().astype(np.float16)


def nearest(query: torch.Tensor, reference: torch.Tensor, k: int = TOP, chunk: int = 4096) -> np.ndarray:
    """int32 (n, k): for each row of `query`, the rows of `reference` with the highest cosine similarity,
    nearest first, searched `chunk` queries at a time."""
    ref = F.normalize(reference.float(), dim=1)
    k = min(k, len(ref))
    out = []
    for s in range(0, len(query), chunk):
        sim = F.normalize(query[s:s + chunk].float(), dim=1) @ ref.T
        out.append(sim.topk(k, dim=1).indices.cpu())
    return torch.cat(out).numpy().astype(np.int32) if out else np.zeros((0, k), dtype=np.int32)


def reference_rows(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    """The trusted rows searched: all of D^c, or a seeded sorted subsample of `MAX_REFERENCE` of them."""
    if len(clean) <= MAX_REFERENCE:
        return np.asarray(clean, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(clean, MAX_REFERENCE, replace=False)).astype(np.int64)


@torch.no_grad()
def compute(model: torch.nn.Module, data: DeviceImages, noisy: np.ndarray, clean: np.ndarray,
            seed: int = 0, rows: int = ROWS) -> dict[str, np.ndarray]:
    """The evidence arrays over D^n (split order): `top_class` and `top_prob` (n, 3), and `near_trusted`
    (n, 3), the train rows of the nearest trusted samples. Eval mode, no augmentation. D^n is taken
    `rows` samples at a time, so only that many rows of features are held at once (a million rows of
    fastcnn's 256 features would be 1 GB)."""
    model.eval()
    ref = reference_rows(clean, seed)
    ref_features = batched(model.features, data, ref) if len(ref) else None
    cls, prob, near = [], [], []
    for s in range(0, len(noisy), rows):
        features = batched(model.features, data, noisy[s:s + rows])
        c, p = top_classes(torch.softmax(model.head(features).float(), 1))
        cls.append(c)
        prob.append(p)
        near.append(np.full((len(c), 0), -1, dtype=np.int32) if ref_features is None
                    else ref[nearest(features, ref_features)].astype(np.int32))
    k = min(TOP, len(ref))
    return {"top_class": _stack(cls, np.int16), "top_prob": _stack(prob, np.float16),
            "near_trusted": np.concatenate(near) if near else np.full((0, k), -1, dtype=np.int32)}


def _stack(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0, TOP), dtype=dtype)
