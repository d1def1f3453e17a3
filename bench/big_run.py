"""A synthetic run folder of N samples (arrays only, no training), to time the dashboard at scale.

    python bench/big_run.py --n 1000000 --epochs 30 --home /tmp/lsw-big   # then: python bench/pages_1m.py

Writes `$HOME/runs/<id>/` through `lsw.rundir.RunDir`, so its layout is exactly what an audit writes:
config, samples (10% trusted), per-epoch arrays with their histograms, status done, a summary. Class
names and ids look like a photo folder's (`class_07/IMG_0001234.jpg`); 20% of the labels are wrong.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsw.config import RunConfig  # noqa: E402
from lsw.histograms import epoch_histograms, groups_for  # noqa: E402
from lsw.rundir import DONE, RunDir  # noqa: E402


def make_run(home: Path, n: int, epochs: int, classes: int = 10, seed: int = 0) -> RunDir:
    rng = np.random.default_rng(seed)
    run = RunDir(home / "runs" / RunDir.new_id())
    names = [f"class_{k:02d}" for k in range(classes)]
    truth = rng.integers(0, classes, n)
    labels = truth.copy()
    perm = rng.permutation(n)
    clean, noisy = np.sort(perm[: n // 10]), np.sort(perm[n // 10:])
    wrong = noisy[rng.random(len(noisy)) < 0.2]
    labels[wrong] = (truth[wrong] + rng.integers(1, classes, len(wrong))) % classes
    ids = np.char.add(np.char.add(np.array(names)[truth], "/IMG_"), np.char.zfill(np.arange(n).astype(str), 7))
    ids = np.char.add(ids, ".jpg")
    cfg = RunConfig(data="folder:/photos", epochs=epochs, clean_frac=0.1, val_frac=0.0)
    run.write_config({**cfg.to_dict(), "source": "folder:/photos", "fingerprint": f"synthetic-{n}-{seed}",
                      "device": "cpu", "noise_rate": len(wrong) / len(noisy), "classes": names})
    run.write_samples(noisy_index=noisy, clean_index=clean, val_index=np.array([], dtype=np.int64), labels=labels,
                      source_labels=labels, ids=ids, classes=np.array(names))
    is_noisy = labels[noisy] != truth[noisy]
    for e in range(1, epochs + 1):
        sep = e / epochs
        alpha = np.clip(rng.normal(0.6 - 0.4 * sep * is_noisy, 0.15), 0, 1).astype(np.float32)
        loss = rng.gamma(1.0 + 2 * sep * is_noisy, 0.5).astype(np.float32)
        pred = np.where(rng.random(len(noisy)) < 0.5 + 0.4 * sep, truth[noisy], labels[noisy]).astype(np.int64)
        prob = np.exp(-loss).astype(np.float32)
        groups = groups_for(prob, cfg.threshold, None)
        hist = epoch_histograms("alpha", alpha, loss, groups)
        scalars = {"epoch": e, "epochs": epochs, "clean_loss": float(loss.mean()), "train_acc": 0.5 + 0.4 * sep}
        k = len(clean)
        run.write_epoch(e, scalars, hist, alpha=alpha, loss=loss, pred=pred, prob=prob,
                        clean_loss=rng.gamma(1.0, 0.3, k).astype(np.float32), clean_pred=labels[clean],
                        clean_prob=rng.random(k).astype(np.float32))
    run.write_status(DONE)
    run.write_summary({"epochs": epochs, "n_noisy": len(noisy)})
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--home", default="/tmp/lsw-big")
    args = p.parse_args()
    t = time.perf_counter()
    run = make_run(Path(args.home), args.n, args.epochs)
    print(f"wrote {run.path} ({args.n:,} samples, {args.epochs} epochs) in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
