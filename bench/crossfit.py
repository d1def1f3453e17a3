"""Cross-fitted (2-fold, out-of-sample) trust on CIFAR-10 with the CIFAR-10N random1 labels (README, Results).

    python bench/crossfit.py small-loss 0 ['{"max_samples": 5000}']

Two networks, each trained on half of D^n (D^c for the meta-gradient as usual), each scoring the other
half; prints the AUC of the out-of-sample trust by the last epoch and averaged over the second half of
training. Defaults: the 5,000-image subset, 10% trusted, every other RunConfig default; data from
../shared/data.
"""
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsw.config import RunConfig  # noqa: E402
from lsw.evaluation import evaluate  # noqa: E402
from lsw.prepare import prepare  # noqa: E402
from lsw.train import Trainer  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    method, seed = sys.argv[1], int(sys.argv[2])
    extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    cfg = RunConfig(**{**dict(data=f"cifar10:{DATA / 'cifar10-jpeg.npz'}",
                              labels=f"{DATA / 'cifar10n-random1.npz'}:random_label1", max_samples=5000,
                              clean_frac=0.1, device="cpu", eval_test=False, seed=seed, method=method), **extra})
    p = prepare(cfg, progress=False)
    rows = p.split.noisy
    fold = np.random.default_rng(seed).permutation(len(rows)) % 2
    last, averaged = np.zeros(len(rows)), np.zeros(len(rows))
    started = time.time()
    for k in (0, 1):
        held = np.flatnonzero(fold == k)
        half = dataclasses.replace(p, split=dataclasses.replace(p.split, noisy=np.sort(rows[fold != k])))
        trainer = Trainer(cfg, half, Path(tempfile.mkdtemp()) / "checkpoint.pt")
        readings = []
        while trainer.epoch < cfg.epochs:
            trainer.train_epoch()
            readings.append(np.exp(-evaluate(trainer.model, trainer.data, rows[held], p.labels[rows[held]]).loss))
        last[held], averaged[held] = readings[-1], np.mean(readings[cfg.epochs // 2:], axis=0)
    print(json.dumps({"method": method, "seed": seed, **extra, "auc_last": 1 - roc_auc_score(p.is_noisy, last),
                      "auc_averaged": 1 - roc_auc_score(p.is_noisy, averaged), "seconds": time.time() - started}))


if __name__ == "__main__":
    main()
