"""Does reading the trust on more views of each image (shifted as well as mirrored) rank human noise better?

    python bench/trust_views.py --seed 2 [--shift 2] [--data DIR]

CIFAR-10 with the CIFAR-10N random1 labels, the 5,000-image subset of `python -m lsw run --max-samples 5000 --seed S`,
10% trusted; one network of the second pass's kind (`lsw.retrain.fit` on D^n and D^c, every RunConfig default,
CPU). In every epoch of the second half (the epochs `lsw.trust.TrustAverage` averages) it keeps the logits of D^n
for 10 views: the image shifted by `--shift` pixels in none or one of four directions (reflect padding), each
also mirrored. It prints the AUC of the trust (`lsw.evaluation.reading`, averaged over those epochs) read on:
today's two views (image and mirror); all 10 views every epoch; one shift an epoch in turn with its mirror (two
views an epoch, as cheap as today's); and the last epoch alone with 2 and with 10 views.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsw.config import RunConfig  # noqa: E402
from lsw.device_data import DeviceImages  # noqa: E402
from lsw.evaluation import reading  # noqa: E402
from lsw.prepare import prepare  # noqa: E402
from lsw.retrain import fit  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def shifted(x: torch.Tensor, dy: int, dx: int, k: int) -> torch.Tensor:
    """`x` (n, C, H, W) moved by (dy, dx) pixels, |dy|, |dx| <= k, the border filled by reflection."""
    if dy == dx == 0:
        return x
    padded = F.pad(x, (k, k, k, k), mode="reflect")
    return padded[:, :, k + dy:k + dy + x.shape[2], k + dx:k + dx + x.shape[3]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--shift", type=int, default=2)
    ap.add_argument("--data", default=str(DATA), help="folder holding cifar10-jpeg.npz and cifar10n-random1.npz")
    args = ap.parse_args()
    d, k = Path(args.data), args.shift
    cfg = RunConfig(data=f"cifar10:{d / 'cifar10-jpeg.npz'}", labels=f"{d / 'cifar10n-random1.npz'}:random_label1",
                    max_samples=5000, clean_frac=0.1, device="cpu", eval_test=False, seed=args.seed)
    p = prepare(cfg, progress=False)
    train = p.source.train
    data = DeviceImages(train.images, torch.device("cpu"), hflip=train.hflip)
    noisy = p.split.noisy
    labels = torch.as_tensor(p.labels[noisy])
    shifts = [(0, 0), (k, 0), (-k, 0), (0, k), (0, -k)]
    logits: dict[int, torch.Tensor] = {}  # epoch -> (10, n, K): view 2j is shift j, 2j + 1 its mirror

    def on_epoch(model: torch.nn.Module, epoch: int) -> None:
        if epoch <= cfg.epochs // 2:
            return
        model.eval()
        z = torch.zeros(10, len(noisy), train.num_classes)
        with torch.no_grad():
            for s in range(0, len(noisy), 256):
                x = data.batch(torch.as_tensor(noisy[s:s + 256]))
                for j, (dy, dx) in enumerate(shifts):
                    v = shifted(x, dy, dx, k)
                    z[2 * j, s:s + 256], z[2 * j + 1, s:s + 256] = model(v), model(v.flip(3))
        logits[epoch] = z

    fit(cfg, p, np.concatenate([noisy, p.split.clean]), None, cfg.epochs, data, on_epoch=on_epoch)
    epochs = sorted(logits)

    def auc(trust: np.ndarray) -> float:
        return roc_auc_score(p.is_noisy, -trust)

    def averaged(views_of) -> float:
        return auc(np.mean([reading(views_of(i, logits[e]).mean(0), labels) for i, e in enumerate(epochs)], 0))

    last = logits[epochs[-1]]
    print(f"seed {args.seed}, shift {k}: {len(noisy)} audited, {p.is_noisy.mean():.1%} wrong; AUC of the trust "
          f"averaged over epochs {epochs[0]}-{epochs[-1]}")
    print(f"  image and mirror (today)          {averaged(lambda i, z: z[:2]):.4f}")
    print(f"  10 views every epoch              {averaged(lambda i, z: z):.4f}")
    print(f"  one shift an epoch and its mirror {averaged(lambda i, z: z[2 * (i % 5):2 * (i % 5) + 2]):.4f}")
    print(f"  last epoch, 2 views / 10 views    {auc(reading(last[:2].mean(0), labels)):.4f} / "
          f"{auc(reading(last.mean(0), labels)):.4f}")


if __name__ == "__main__":
    main()
