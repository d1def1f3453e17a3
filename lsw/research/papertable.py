"""`python -m lsw paper-table`: the paper's CIFAR-10 rows (Tables 1, 3, 6, 7) against ours, in one go.

Honest by construction: runs are made with `eval_test=False`, so nothing during LSW training,
thresholding or retraining reads the test split; it is read once, by the retrained classifier's
final evaluation. Writes DIR/paper_table.json and DIR/paper_table.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from lsw.audit import run_audit
from lsw.config import METAS, RunConfig
from lsw.device_data import resolve_device
from lsw.rundir import write_json
from lsw.scoring import SCORES

# (name, noise, clean per class or None for 10%, paper F1, paper accuracy, paper AUC, target F1, target acc, target AUC)
ROWS = [
    ("instance 0.4", "instance:0.4", None, 93.53, 91.50, None, 94.5, 92.5, None),
    ("symmetric 0.4", "symmetric:0.4", None, 92.84, 91.14, None, 93.5, 92.0, None),
    ("pair-flip 0.4", "asymmetric:0.4", None, 93.19, 91.52, None, 94.0, 92.5, None),
    ("instance 0.6", "instance:0.6", None, 94.92, 89.10, None, 95.0, 90.5, None),
    ("instance 0.4 100 clean per class", "instance:0.4", 100, None, 89.94, 96.65, None, None, 97.5),
]
# With --labels PATH.npz:KEY: real human labels instead of synthetic noise, 10% clean (no paper figure).
LABELS_ROW = ("given labels", None, None, None, None, None, None, None, None)


def run_rows(base: RunConfig, names: list[str] | None, out: Path, on_progress=None) -> dict:
    """Run the selected rows (all when `names` is None) and return the table as a dict."""
    results = []
    rows = [LABELS_ROW] if base.labels else ROWS
    for name, noise, per_class, f1_p, acc_p, auc_p, f1_t, acc_t, auc_t in rows:
        if names is not None and name not in names:
            continue
        cfg = dataclasses.replace(base, noise=noise, clean_per_class=per_class, eval_test=False)
        started = time.perf_counter()
        s = run_audit(cfg, out / name.replace(" ", "_"), on_progress=on_progress)
        pct = lambda v: None if v is None else round(100 * v, 2)  # noqa: E731
        results.append({"row": name, "noise": noise, "clean_per_class": per_class, "f1": pct(s["f1"]),
                        "auc": pct(s["auc"]), "acc": pct(s["retrain_test_acc"]), "paper_f1": f1_p, "paper_acc": acc_p,
                        "paper_auc": auc_p, "target_f1": f1_t, "target_acc": acc_t, "target_auc": auc_t,
                        "seconds": round(time.perf_counter() - started, 1)})
    device = resolve_device(base.device)
    return {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "config": base.to_dict(), "rows": results}


def markdown(table: dict) -> str:
    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    c = table["config"]
    lines = [f"Data `{c['data']}`, model `{c['model']}`, {c['epochs']} LSW + {c['retrain_epochs']} retraining epochs "
             f"({c['retrain']}), batch {c['batch_size']}, meta-gradient {c.get('meta', 'full')}, flagged by "
             f"{c.get('score', 'alpha')} < {c['threshold']}, device {table['device']}.", "",
             "| setting | F1 ours / paper / target | AUC ours / paper / target | accuracy ours / paper / target | s |",
             "|---|---|---|---|---|"]
    for r in table["rows"]:
        lines.append(f"| {r['row']} | {f(r['f1'])} / {f(r['paper_f1'])} / {f(r['target_f1'])} | "
                     f"{f(r['auc'])} / {f(r['paper_auc'])} / {f(r['target_auc'])} | "
                     f"{f(r['acc'])} / {f(r['paper_acc'])} / {f(r['target_acc'])} | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="cifar10:../shared/data/cifar10-jpeg.npz")
    p.add_argument("--rows", default=None, help="comma-separated row names (default: all, most important first)")
    p.add_argument("--model", default="resnet34")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--retrain-epochs", type=int, default=100)
    p.add_argument("--retrain", default="filtered-weighted")
    p.add_argument("--batch-size", type=int, default=125)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--meta", default=RunConfig.meta, choices=METAS, help="LSW meta-gradient")
    p.add_argument("--score", default=RunConfig.score, choices=SCORES, help="what flags a sample")
    p.add_argument("--max-samples", type=int, default=None, help="a seeded subset (reduced-size CPU runs)")
    p.add_argument("--labels", default=None, help="PATH.npz:KEY: one row with these given labels (e.g. CIFAR-10N) "
                   "instead of the synthetic-noise rows")
    p.add_argument("--out", required=True)


def main(args: argparse.Namespace) -> int:
    from lsw.progress import TqdmProgress

    base = RunConfig(data=args.data, model=args.model, epochs=args.epochs, retrain_epochs=args.retrain_epochs,
                     retrain=args.retrain, batch_size=args.batch_size, device=args.device, seed=args.seed,
                     meta=args.meta, score=args.score, labels=args.labels,
                     max_samples=args.max_samples)
    names = None if not args.rows else [r.strip() for r in args.rows.split(",")]
    out = Path(args.out)
    with TqdmProgress() as bar:
        table = run_rows(base, names, out, on_progress=bar.update)
    write_json(out / "paper_table.json", table)
    (out / "paper_table.md").write_text(markdown(table))
    print(markdown(table))
    return 0
