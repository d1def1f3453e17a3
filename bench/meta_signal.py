"""Offline, at a run's last checkpoint: how well the head meta-gradient's per-sample signal
d_i = <g_c, grad_head l_i> separates wrong labels, for several clean-gradient estimates (a random clean
batch of 32 / 128 / 250, the whole D^c, class-balanced, cosine), against the model's own loss and two
uses of the trusted set in feature space (nearest trusted neighbours, class prototypes). AUC with the
noisy samples positive; the truth comes from the run's config (synthetic noise, --labels or a manifest).

    python bench/meta_signal.py RUN
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lsw.config import RunConfig  # noqa: E402
from lsw.device_data import DeviceImages  # noqa: E402
from lsw.evaluation import batched  # noqa: E402
from lsw.loop import build_training  # noqa: E402
from lsw.prepare import prepare  # noqa: E402


def head_inputs(model: torch.nn.Module, data: DeviceImages, rows: np.ndarray, labels: np.ndarray, k: int):
    """Features (with a 1 for a bias), softmax residuals p - onehot(label), and the raw features."""
    with torch.no_grad():
        h = batched(model.features, data, rows).float()
        p = torch.softmax(model.head(h), 1)
    y = torch.as_tensor(labels)
    return torch.cat([h, torch.ones(len(h), 1)], 1), p - F.one_hot(y, k).float(), h, p, y


def main() -> None:
    run = Path(sys.argv[1])
    cfg = RunConfig.from_dict(json.loads((run / "config.json").read_text()))
    problem = prepare(cfg, progress=False)
    train = problem.source.train
    model, _ = build_training(cfg, train.shape, train.num_classes, torch.device("cpu"), cfg.seed)
    model.load_state_dict(torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["model"])
    model.eval()
    data = DeviceImages(train.images, torch.device("cpu"), hflip=train.hflip)
    noisy, clean, k = problem.split.noisy, problem.split.clean, train.num_classes
    hn, rn, fn, pn, yn = head_inputs(model, data, noisy, problem.labels[noisy], k)
    hc, rc, fc, _, yc = head_inputs(model, data, clean, problem.labels[clean], k)
    is_noisy = problem.is_noisy.astype(int)

    def auc(noisy_score) -> float:
        return float(roc_auc_score(is_noisy, np.asarray(noisy_score)))

    def d_of(grad_c: torch.Tensor) -> torch.Tensor:  # <g_c, r_i (x) h_i> for every noisy sample
        return ((rn @ grad_c) * hn).sum(1)

    def clean_grad(idx: torch.Tensor) -> torch.Tensor:
        return rc[idx].T @ hc[idx] / len(idx)

    loss = -torch.log(pn[torch.arange(len(yn)), yn]).numpy()
    print(f"{run}: noise rate {is_noisy.mean():.3f}, {len(clean)} clean; AUC, noisy positive")
    print(f"  the model's loss (small-loss / trust)           {auc(loss):.4f}")
    every = torch.arange(len(clean))
    print(f"  meta signal -d, the whole D^c                   {auc(-d_of(clean_grad(every))):.4f}")
    gen = torch.Generator().manual_seed(0)
    for b in (32, 128, 250):
        a = [auc(-d_of(clean_grad(torch.randperm(len(clean), generator=gen)[:b]))) for _ in range(20)]
        print(f"  meta signal -d, a random clean batch of {b:<4d}    {np.mean(a):.4f} (sd {np.std(a):.4f}, 20 batches)")
    per_class = torch.stack([clean_grad(torch.nonzero(yc == c).flatten()) for c in range(k)]).mean(0)
    print(f"  meta signal -d, class-balanced D^c              {auc(-d_of(per_class)):.4f}")
    cosine = d_of(clean_grad(every)) / (rn.norm(dim=1) * hn.norm(dim=1)).clamp_min(1e-12)
    print(f"  meta signal, cosine instead of dot product      {auc(-cosine):.4f}")
    sim = F.normalize(fn, dim=1) @ F.normalize(fc, dim=1).T
    for n in (10, 20):
        agree = (yc[sim.topk(n, dim=1).indices] == yn[:, None]).float().mean(1).numpy()
        print(f"  share of the {n} nearest trusted with the label  {auc(-agree):.4f}"
              f" (rank-sum with the loss {auc(rankdata(loss) + rankdata(-agree)):.4f})")
    protos = F.normalize(torch.stack([F.normalize(fc, dim=1)[yc == c].mean(0) for c in range(k)]), dim=1)
    cos = F.normalize(fn, dim=1) @ protos.T
    given = cos[torch.arange(len(yn)), yn]
    cos[torch.arange(len(yn)), yn] = -9
    margin = (given - cos.max(1).values).numpy()
    print(f"  trusted class-prototype margin                  {auc(-margin):.4f}"
          f" (rank-sum with the loss {auc(rankdata(loss) + rankdata(-margin)):.4f})")


if __name__ == "__main__":
    main()
