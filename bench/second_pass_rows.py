"""What limits the second pass: the same network trained on other rows of D^n, some chosen with the true labels.

    python bench/second_pass_rows.py RUN [--rows kept clean clean+hard:0.5 half-hard crossfit:2 ...]

RUN: a finished LSW run with a second pass (`DIR/lsw` of `python -m lsw compare ... --out DIR`) on data with
known wrong labels. For each choice of rows, a fresh network of the run's kind is trained as the second pass
trains it (`lsw.retrain.fit`: the run's recipe, epochs and seed, D^c always in) and D^n is read by the trust
average of `lsw.trust`:

- `kept`: the run's own rows, the share of D^n its first network trusts most (`lsw.second_pass`, no teacher).
- `clean`: only the right labels of D^n (read with the true labels: a ceiling no audit can reach).
- `clean+hard:F`: the right labels plus the share F of the wrong ones that the first network trusts most.
- `half-hard`: the right labels plus a random half of the wrong labels the first network trusts most (the top
  half of them by its trust); also prints the AUC of the right labels against the wrong ones trained on and
  against the unseen ones, which differ only in whether the network saw them.
- `crossfit:K`: the `kept` rows in K folds, one network for each, trained without its fold and reading it
  (out of sample); the dropped rows read by all K, averaged.

Prints for each: the rows trained on and their wrong labels, the AUC of the new network's trust alone and of
its mean with the first network's, and the seconds. CPU.
"""
import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.saved_run import finished_trust, open_run  # noqa: E402
from lsw.evaluation import trust_reading  # noqa: E402
from lsw.fold_reading import folds_of  # noqa: E402
from lsw.metrics import detection_metrics  # noqa: E402
from lsw.retrain import fit  # noqa: E402
from lsw.second_pass import kept_positions  # noqa: E402
from lsw.trust import TrustAverage  # noqa: E402


def trained_reading(cfg, p, data, train_pos: np.ndarray, read_pos: np.ndarray, seed: int) -> np.ndarray:
    """A fresh network trained on D^c and the D^n positions `train_pos` (`fit` seeds it with `seed` + 1, as the
    second pass does with the run's seed); its trust average over the positions `read_pos`."""
    noisy = p.split.noisy
    average = TrustAverage(len(read_pos), cfg.epochs)

    def on_epoch(model: torch.nn.Module, epoch: int) -> None:
        if epoch > cfg.epochs // 2:
            average.update(epoch, trust_reading(model, data, noisy[read_pos], p.labels[noisy[read_pos]]))

    fit(dataclasses.replace(cfg, seed=seed), p, np.concatenate([noisy[train_pos], p.split.clean]), None,
        cfg.epochs, data, on_epoch=on_epoch)
    return average.current().astype(np.float64)


def hardest_wrong(is_noisy: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Positions of the wrong labels, the ones the first network trusts most first."""
    wrong = np.flatnonzero(is_noisy)
    return wrong[np.argsort(-first[wrong], kind="stable")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--rows", nargs="+", default=["kept", "clean", "half-hard"])
    args = ap.parse_args()
    run, cfg, p, data = open_run(args.run)
    if p.is_noisy is None:
        sys.exit(f"{run.path}: its data has no known wrong labels")
    first, final, _ = finished_trust(run, cfg)
    noisy_flags, everyone = p.is_noisy, np.arange(len(first))
    right = np.flatnonzero(~noisy_flags)

    def auc(trust: np.ndarray, among: np.ndarray = everyone) -> float:
        return detection_metrics(noisy_flags[among], trust[among])["auc"]

    print(f"{run.path}: {len(first)} audited, {int(noisy_flags.sum())} wrong; the run's final trust "
          f"{auc(final):.4f}, its first network alone {auc(first):.4f}", flush=True)
    for choice in args.rows:
        started = time.perf_counter()
        name, _, arg = choice.partition(":")
        extra = ""
        if name == "crossfit":
            kept = kept_positions(first, cfg.second_pass)
            dropped = np.setdiff1d(everyone, kept)
            k = int(arg)
            fold = folds_of(len(kept), k, cfg.seed)  # the folds the fold reading uses
            own, on_dropped = np.zeros(len(first)), np.zeros(len(dropped))
            for f in range(k):
                reading = trained_reading(cfg, p, data, kept[fold != f], np.concatenate([kept[fold == f], dropped]),
                                          cfg.seed + 10 * f)
                own[kept[fold == f]] = reading[:(fold == f).sum()]
                on_dropped += reading[(fold == f).sum():] / k
            own[dropped] = on_dropped
            rows = kept
        else:
            if name == "kept":
                rows = kept_positions(first, cfg.second_pass)
            elif name == "clean":
                rows = right
            elif name == "clean+hard":
                hard = hardest_wrong(noisy_flags, first)
                rows = np.sort(np.concatenate([right, hard[:int(float(arg) * len(hard))]]))
            elif name == "half-hard":
                hard = hardest_wrong(noisy_flags, first)[:int(noisy_flags.sum()) // 2]
                seen = np.sort(np.random.default_rng(cfg.seed).permutation(hard)[:len(hard) // 2])
                unseen = np.setdiff1d(hard, seen)
                rows = np.sort(np.concatenate([right, seen]))
            else:
                sys.exit(f"unknown rows '{choice}'")
            own = trained_reading(cfg, p, data, rows, everyone, cfg.seed)
            if name == "half-hard":
                extra = (f"; right labels against the {len(seen)} wrong ones trained on "
                         f"{auc(own, np.r_[right, seen]):.4f}, against the {len(unseen)} unseen "
                         f"{auc(own, np.r_[right, unseen]):.4f}")
        print(f"  {choice}: {len(rows)} rows of D^n, {int(noisy_flags[rows].sum())} wrong; alone {auc(own):.4f}, "
              f"mean with the first {auc((first + own) / 2):.4f}, {time.perf_counter() - started:.0f} s{extra}",
              flush=True)


if __name__ == "__main__":
    main()
