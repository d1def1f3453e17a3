"""Which per-epoch reading of a trained network ranks human label noise best (`lsw.trust`; README, Results).

    python bench/trust_reading.py --seeds 0,1 [--max-samples 5000] [--data DIR]

CIFAR-10 with the CIFAR-10N random1 labels, a seeded subset (the same as `python -m lsw run --max-samples N
--seed S` audits), 10% trusted; one network trained plainly (`lsw.retrain.fit`, smallcnn, 20 epochs, batch
128, CPU) on D^n and D^c. After every epoch it keeps the logits of D^n for the image and for its mirror, then
prints, per seed, the AUC of each reading (the last epoch's, and averaged over the second half as
`lsw.trust.TrustAverage` does) and F1 at a few thresholds for today's reading (`lsw.evaluation.reading`).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsw.batches import make_images  # noqa: E402
from lsw.config import RunConfig  # noqa: E402
from lsw.device_data import resolve_device  # noqa: E402
from lsw.evaluation import against_all, against_rival, batched, reading  # noqa: E402
from lsw.prepare import prepare  # noqa: E402
from lsw.retrain import fit  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
THRESHOLDS = (0.3, 0.35, 0.4, 0.5)


def record(seed: int, max_samples: int, data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(logits (epochs, n, K), mirrored logits, given labels, true labels) over D^n of one plain training."""
    cfg = RunConfig(data=f"cifar10:{data_dir / 'cifar10-jpeg.npz'}", method="small-loss", device="cpu",
                    labels=f"{data_dir / 'cifar10n-random1.npz'}:random_label1", max_samples=max_samples,
                    seed=seed, model="smallcnn", retrain_batch_size=128)
    p = prepare(cfg, progress=False)
    train = p.source.train
    data = make_images(train.images, resolve_device("cpu"), train.hflip, "auto")
    noisy = p.split.noisy
    plain, mirrored = [], []

    def on_epoch(model: torch.nn.Module, epoch: int) -> None:
        model.eval()
        plain.append(batched(model, data, noisy))
        mirrored.append(batched(lambda x: model(x.flip(3)), data, noisy))

    fit(cfg, p, np.concatenate([noisy, p.split.clean]), None, cfg.epochs, data, on_epoch=on_epoch)
    return torch.stack(plain), torch.stack(mirrored), p.labels[noisy], p.true_labels[noisy]


def readings(plain: torch.Tensor, mirrored: torch.Tensor, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Each candidate reading, (epochs, n), higher = trusted; today's (`lsw.evaluation.reading`) last."""
    y = torch.as_tensor(labels)
    both = (plain + mirrored) / 2

    def per_epoch(read, logits: torch.Tensor) -> np.ndarray:
        return np.stack([np.asarray(read(z, y)) for z in logits])

    return {"softmax of the label, the image alone (until 2026-12-02)": per_epoch(against_all, plain),
            "softmax of the label, image and mirror": per_epoch(against_all, both),
            "the label against its strongest rival, image and mirror": per_epoch(against_rival, both),
            "the mean of both, image and mirror (today)": per_epoch(reading, both)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--max-samples", type=int, default=5000)
    ap.add_argument("--data", default=str(DATA), help="folder holding cifar10-jpeg.npz and cifar10n-random1.npz")
    args = ap.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        started = time.perf_counter()
        plain, mirrored, labels, truth = record(seed, args.max_samples, Path(args.data))
        wrong = labels != truth
        print(f"seed {seed}: {len(labels)} audited, {wrong.mean():.1%} wrong, {time.perf_counter() - started:.0f} s")
        for name, r in readings(plain, mirrored, labels).items():
            averaged = r[len(r) // 2:].mean(0)
            print(f"  {name:<60} AUC last epoch {roc_auc_score(~wrong, r[-1]):.4f}, "
                  f"averaged {roc_auc_score(~wrong, averaged):.4f}")
        print("  F1 (flagged) of today's trust at " + ", ".join(
            f"{t}: {f1_score(wrong, averaged < t):.3f} ({int((averaged < t).sum())})" for t in THRESHOLDS)
            + f"; {int(wrong.sum())} wrong")


if __name__ == "__main__":
    main()
