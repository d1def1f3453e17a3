"""Does the second network learn better from the LSW network's predictions than from the labels alone, or
from another share of the most trusted samples?

    python bench/teacher_second_pass.py RUN [--teacher-weight W ...] [--keep K ...] [--epochs E] [--fold-reading F]
        [--fold-first 0|1] [--fold-keep SHARE] [--save DIR]

RUN: a finished LSW run with a second pass (e.g. `DIR/lsw` of `python -m lsw compare ... --out DIR`), or a
small-loss run (`DIR/small-loss`). Its second pass (`lsw.second_pass`, every setting of the run, its seed) is
trained again from the run's network, read from the run's checkpoint (the network after its last epoch), once
for each teacher weight W (`lsw.reweight.distill_step`; 0 = the labels alone) and each kept share K of D^n
(`--second-pass`; default: the run's own), trained for E epochs (default: the run's own `epochs`; the trust
average reads the second half of them), and read in F folds (`lsw.fold_reading`; default: the run's own, 0 for a
run recorded before it), the first network too with `--fold-first 1` (default: the run's own), the copies on the
SHARE of D^n both networks trust most (`--fold-keep`, 0 = the second network's rows; default: the run's own). The
first part of a run depends on none of these, so each line is what a run with those settings would give (for a
small-loss run, the "averaged + second pass" row of `compare`). Prints, for each pair, the AUC of the second
network's trust alone (and of its fold reading, and of the first network's), of the final trust (the mean of the
first network's reading and the second's), and that mean's F1 at the run's threshold. Runs on the CPU.
"""
import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.saved_run import finished_trust, open_run  # noqa: E402
from lsw.metrics import detection_metrics  # noqa: E402
from lsw.second_pass import saved_network, second_pass  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--teacher-weight", type=float, nargs="+", default=[0.0, 0.5])
    ap.add_argument("--keep", type=float, nargs="+", default=None, help="kept shares (default: the run's own)")
    ap.add_argument("--epochs", type=int, default=None, help="the second network's epochs (default: the run's own)")
    ap.add_argument("--fold-reading", type=int, default=None, help="folds of the fold reading (default: the run's own)")
    ap.add_argument("--fold-first", type=int, choices=(0, 1), default=None,
                    help="1: read the first network in folds too (default: the run's own)")
    ap.add_argument("--fold-keep", type=float, default=None,
                    help="the share of D^n the fold copies fine-tune on (default: the run's own)")
    ap.add_argument("--save", default=None, metavar="DIR",
                    help="keep each pass's readings in DIR/w<W>_k<K>/ (own.npy, folds.npy, first_folds.npy)")
    args = ap.parse_args()
    run, cfg, p, data = open_run(args.run)
    lsw_trust, run_final, _ = finished_trust(run, cfg)
    teacher = saved_network(run.checkpoint, cfg, p, torch.device("cpu"))

    def auc(trust: np.ndarray) -> float:
        return detection_metrics(p.is_noisy, trust)["auc"]

    print(f"{run.path} ({cfg.method}): {len(lsw_trust)} audited, {p.is_noisy.mean():.1%} wrong; the run's final "
          f"trust {auc(run_final):.4f}, its first network alone {auc(lsw_trust):.4f}", flush=True)
    epochs = args.epochs or cfg.epochs
    if args.fold_reading is not None:
        cfg = dataclasses.replace(cfg, fold_reading=args.fold_reading)
    if args.fold_first is not None:
        cfg = dataclasses.replace(cfg, fold_first=bool(args.fold_first))
    if args.fold_keep is not None:
        cfg = dataclasses.replace(cfg, fold_keep=args.fold_keep)
    for w, keep in [(w, k) for w in args.teacher_weight for k in args.keep or [cfg.second_pass]]:
        sp = second_pass(dataclasses.replace(cfg, teacher_weight=w, second_pass=keep, epochs=epochs), p, data,
                         lsw_trust, first=teacher)
        final = detection_metrics(p.is_noisy, sp.trust, cfg.threshold)
        if args.save:
            folder = Path(args.save) / f"w{w:g}_k{keep:g}"
            folder.mkdir(parents=True, exist_ok=True)
            for name, reading in [("own", sp.own), ("folds", sp.folds), ("first_folds", sp.first_folds)]:
                if reading is not None:
                    np.save(folder / f"{name}.npy", reading)
        folds = "" if sp.folds is None else f", its fold reading ({cfg.fold_reading} folds) {auc(sp.folds):.4f}"
        if sp.first_folds is not None:
            folds += (f", the first network's fold reading {auc(sp.first_folds):.4f} (the final trust with the "
                      f"first network's own instead: {auc(lsw_trust.astype(np.float64) + sp.folds):.4f})")
        print(f"  keep {keep:g}, teacher weight {w:g}, {epochs} epochs: second network alone "
              f"{auc(sp.own):.4f}{folds}, the final trust (the mean with the first network's) "
              f"{final['auc']:.4f} (F1 {final['f1']:.4f} at {cfg.threshold:g}), {sp.seconds:.0f} s", flush=True)


if __name__ == "__main__":
    main()
