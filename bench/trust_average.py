"""Offline: detection by last-epoch trust against trust averaged over the second half of training
(`lsw.trust`), from run folders' recorded per-epoch losses (loss.npy, or epochs/*.npz while running), with the
reading of that time, exp(-loss) (today's reading, on the image and its mirror, is measured by
bench/trust_reading.py).

    python bench/trust_average.py RUN [RUN ...] [--data SPEC]

The truth comes from the run's samples.npz; when that was not kept (a run copied back from a GPU machine
with only its stacks), the run's config is prepared again to rebuild it (--data replaces the config's
data path, --labels its label file, for runs made on another machine).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lsw.metrics import detection_metrics  # noqa: E402
from lsw.trust import TrustAverage, loss_reading  # noqa: E402


def truth(run: Path, data: str | None, labels: str | None) -> np.ndarray:
    samples = run / "samples.npz"
    if samples.exists():
        s = np.load(samples)
        if "true_labels" in s:
            idx = s["noisy_index"]
            return s["true_labels"][idx] != s["labels"][idx]
    from lsw.config import RunConfig
    from lsw.prepare import prepare
    cfg = json.loads((run / "config.json").read_text())
    cfg.update({k: v for k, v in (("data", data), ("labels", labels)) if v})
    return prepare(RunConfig.from_dict(cfg), progress=False).is_noisy


def losses(run: Path) -> np.ndarray:
    if (run / "loss.npy").exists():
        return np.load(run / "loss.npy")
    return np.stack([np.load(f)["loss"] for f in sorted((run / "epochs").glob("*.npz"))])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--data")
    p.add_argument("--labels")
    p.add_argument("--threshold", type=float, default=0.3)
    args = p.parse_args()
    print(f"{'run':<40} {'epochs':>6} {'AUC last':>9} {'AUC avg':>8} {'F1 last':>8} {'F1 avg':>7}")
    for name in args.runs:
        run = Path(name)
        is_noisy, stack = truth(run, args.data, args.labels), losses(run)
        avg = TrustAverage(stack.shape[1], len(stack))
        trust = [avg.update(e, loss_reading(loss)) for e, loss in enumerate(stack, 1)][-1]
        last = detection_metrics(is_noisy, loss_reading(stack[-1]), args.threshold)
        mean = detection_metrics(is_noisy, trust, args.threshold)
        print(f"{name[-40:]:<40} {len(stack):>6} {last['auc']:>9.4f} {mean['auc']:>8.4f} "
              f"{last['f1']:>8.4f} {mean['f1']:>7.4f}")


if __name__ == "__main__":
    main()
