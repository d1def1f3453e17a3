"""Do the LSW network's fold copies read better when they fine-tune on fewer, better-chosen rows?

    python bench/fold_rows.py RUN [--by SOURCE:SHARE ...] [--reset-head] [--draw N] [--folds K] [--save DIR]

RUN: a finished LSW run whose folder keeps its second pass's readings (`second_pass/`, runs from 2026-12-06 on;
e.g. `DIR/lsw` of `python -m lsw compare ... --out DIR`). For each SOURCE:SHARE, the LSW network (the run's
checkpoint) is read in folds again (`lsw.fold_reading`, every setting of the run) with its copies fine-tuned on the
SHARE of D^n that SOURCE trusts most: `first` (the LSW trust, as the run did), `prov` (the mean of the LSW trust
and the second network's own, both in-sample, known before any fold is read) or `final` (the run's final trust).
Every row of D^n is still read out of sample (its fold's copy, or every copy for rows left out). Prints the AUC of
the new fold reading and of the final trust it gives with the run's own second-network fold reading, and its F1
at the run's threshold. With `--reset-head` every copy starts from the network with its last layer drawn afresh;
with `--draw N` the copies' folds, batch order and augmentation are drawn with the run's seed + N (`lsw.fold_reading`;
default 1, as a run's LSW network since 2026-12-07; 0 as before, when both networks' copies drew alike); with
`--folds K` the rows are read in K folds instead of the run's (`lsw.fold_reading.first_fold_count`: K copies, each
without a K-th).
Fine-tuning is seeded since 2026-12-07 (`lsw.retrain.fit`), so a run of that code or later reads again exactly as
it did; for older runs `first:0.9` gives the spread between reruns. Runs on the CPU.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.saved_run import open_run  # noqa: E402
from lsw.fold_reading import first_fold_count, fold_reading  # noqa: E402
from lsw.metrics import detection_metrics  # noqa: E402
from lsw.second_pass import kept_positions, saved_network  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--by", nargs="+", default=["first:0.9", "prov:0.8"], help="SOURCE:SHARE pairs")
    ap.add_argument("--reset-head", action="store_true",
                    help="the copies start with the network's last layer drawn afresh (what it memorised of the "
                    "labels is mostly there)")
    ap.add_argument("--draw", type=int, default=1,
                    help="the copies' draw of folds, batches and augmentation (`lsw.fold_reading`; default 1, the "
                    "LSW network's since 2026-12-07; 0 gives the second network's, as runs before drew both)")
    ap.add_argument("--folds", type=int, default=None,
                    help="read in this many folds instead of the run's own for the LSW network (more: each copy "
                    "keeps more rows)")
    ap.add_argument("--save", default=None, metavar="DIR",
                    help="keep each new fold reading in DIR/<SOURCE>_<SHARE>_k<FOLDS>_d<DRAW>.npy")
    args = ap.parse_args()
    run, cfg, p, data = open_run(args.run)
    r = run.readings()
    if "first_folds" not in r or "second_folds" not in r:
        sys.exit(f"{run.path}: no fold readings kept in its folder (a run before 2026-12-06, or without folds)")
    folds = first_fold_count(cfg) if args.folds is None else args.folds
    if folds < 2:
        sys.exit(f"--folds must be 2 or more, not {folds}")
    final = (r["first_folds"] + r["second_folds"]) / 2
    sources = {"first": r["first"], "prov": (r["first"] + r["second"]) / 2, "final": final}

    def auc(trust: np.ndarray) -> float:
        return detection_metrics(p.is_noisy, trust)["auc"]

    def f1(trust: np.ndarray) -> float:
        return detection_metrics(p.is_noisy, trust, cfg.threshold)["f1"]

    print(f"{run.path}: LSW trust {auc(r['first']):.4f}, its fold reading {auc(r['first_folds']):.4f}; second "
          f"network {auc(r['second']):.4f}, its fold reading {auc(r['second_folds']):.4f}; final {auc(final):.4f} "
          f"/ F1 {f1(final):.4f}", flush=True)
    first = saved_network(run.checkpoint, cfg, p, torch.device("cpu"))
    if args.reset_head:
        torch.manual_seed(cfg.seed)
        first.head.reset_parameters()
    for spec in args.by:
        source, share = spec.split(":")
        kept = kept_positions(sources[source], float(share))
        started = time.perf_counter()
        reading = fold_reading(first, cfg, p, data, kept, draw=args.draw, folds=folds)
        new = (reading + r["second_folds"]) / 2
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            np.save(Path(args.save) / f"{source}_{share}_k{folds}_d{args.draw}.npy", reading)
        print(f"  copies on {spec}, {folds} folds ({int(p.is_noisy[kept].sum())} wrong of {len(kept)} "
              f"rows): LSW network's fold reading {auc(reading):.4f}, final {auc(new):.4f} / F1 {f1(new):.4f}, "
              f"{time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
