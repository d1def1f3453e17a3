"""`python -m lsw`: headless audits, exports and benchmarks.

    python -m lsw run --data digits --noise symmetric:0.3 --clean-per-class 10 --epochs 10 --out runs/d
    python -m lsw run --out runs/d --resume
    python -m lsw export --run runs/d --out runs/d/labels.csv

User errors print one line to stderr and exit 2; no traceback reaches the user (unexpected errors
are written in full to DIR/error.log and summarised in one line, exit 1).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import traceback
from pathlib import Path

from lsw.config import METAS, RunConfig
from lsw.errors import LswError
from lsw.scoring import SCORES

DEFAULTS = RunConfig()


def add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=DEFAULTS.data, help="digits | fashion-mnist[:DIR] | cifar10:PATH | "
                   "folder:PATH | csv:PATH (default %(default)s)")
    p.add_argument("--noise", default=None,
                   help="synthetic noise for evaluation: symmetric:E, asymmetric:E, instance:E")
    p.add_argument("--noise-seed", type=int, default=DEFAULTS.noise_seed)
    p.add_argument("--labels", default=None, help="PATH.npz:KEY, given labels from a file (the source's own "
                   "labels become the truth), e.g. ../shared/data/cifar10n-random1.npz:random_label1")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--clean-frac", type=float, default=DEFAULTS.clean_frac,
                   help="fraction of each class drawn as the clean set D^c (default %(default)s)")
    g.add_argument("--clean-per-class", type=int, default=None, help="N clean samples per class instead")
    p.add_argument("--model", default=DEFAULTS.model, help="auto | resnet18 | resnet34 | fastcnn | smallcnn | tinynet")
    for name in ("epochs", "batch_size", "clean_batch_size", "start_epoch", "retrain_epochs", "retrain_batch_size",
                 "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(DEFAULTS, name))
    for name in ("lr", "momentum", "weight_decay", "eta_alpha", "threshold"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(DEFAULTS, name))
    p.add_argument("--alpha-norm", default=DEFAULTS.alpha_norm, choices=["first_epoch", "mean_abs", "none"])
    p.add_argument("--score", default=DEFAULTS.score, choices=SCORES,
                   help="what flags a sample: trust (the LSW model's probability of the given label) or alpha")
    p.add_argument("--meta", default=DEFAULTS.meta, choices=METAS,
                   help="LSW meta-gradient: head (last layer, fused) or full (every parameter); default %(default)s")
    p.add_argument("--retrain", default="filtered", help="retraining setting when --retrain-epochs > 0: "
                   "plain | weighted | filtered | filtered-weighted | upper-bound")
    p.add_argument("--device", default=DEFAULTS.device, help="auto | cpu | cuda | cuda:N")
    p.add_argument("--max-samples", type=int, default=None, help="a seeded subset of the training set")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    names = {f.name for f in dataclasses.fields(RunConfig)}
    return RunConfig(**{k: v for k, v in vars(args).items() if k in names})


def cmd_run(args: argparse.Namespace) -> int:
    from lsw.audit import run_audit
    from lsw.progress import TqdmProgress
    from lsw.rundir import RunDir

    out = Path(args.out)
    if args.resume:
        if not RunDir(out).exists():
            raise LswError(f"nothing to resume in {out}: no config.json there")
        config = RunConfig.from_dict(RunDir(out).config())
    else:
        config = config_from_args(args)
        if RunDir(out).exists() and not args.force:
            raise LswError(f"{out} already holds a run: pass --resume to continue it, --force to overwrite, "
                           "or choose another --out")
    with TqdmProgress() as bar:
        summary = run_audit(config, out, resume=args.resume, on_progress=bar.update, progress_bars=True)
    print(results_table(summary))
    health = summary.get("health")
    if health and not health["ok"]:
        print(f"WARNING: {health['reason']}; {health['advice']}. Its flags are not worth reviewing.")
    if summary["skipped"]:
        print(f"skipped {len(summary['skipped'])} input(s):")
        for path, reason in summary["skipped"][:20]:
            print(f"  {path}: {reason}")
    print(f"wrote {out / 'summary.json'}")
    return 0


def results_table(s: dict) -> str:
    def fmt(v: object) -> str:
        if v is None:
            return "-"
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    rows = [("data", s.get("data")), ("noise", s.get("noise")), ("noise rate", s.get("noise_rate")),
            ("noisy / clean / val", f"{s['n_noisy']} / {s['n_clean']} / {s.get('n_val', 0)}"),
            ("flagged", s.get("n_flagged")),
            ("AUC", s["auc"]), ("F1", s["f1"]), ("FDR", s["fdr"]), ("recall", s["recall"]),
            ("val acc (LSW model)", s.get("val_acc")),
            ("test acc (LSW model)", s["test_acc"]), ("test acc (retrained)", s["retrain_test_acc"]),
            ("epochs", s["epochs"]), ("seconds", s["seconds"]), ("device", s["device"])]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {fmt(v)}" for k, v in rows)


def cmd_export(args: argparse.Namespace) -> int:
    from lsw.export import write_csv
    from lsw.rundir import RunDir
    from lsw.samples import export_frame

    run = RunDir(args.run)
    if not run.exists() or not run.epochs():
        raise LswError(f"{args.run} holds no finished epoch of a run: run `python -m lsw run --out {args.run}` first")
    df = export_frame(run)
    write_csv(df, args.out)  # formula-safe cells, atomic
    print(f"wrote {len(df)} rows to {args.out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from lsw.compare import format_compare, run_compare
    from lsw.progress import TqdmProgress

    config = config_from_args(args)
    if config.retrain_epochs > 0 and config.retrain == "none":
        config.retrain = args.retrain
    with TqdmProgress() as bar:
        result = run_compare(config, [m.strip() for m in args.methods.split(",") if m.strip()], args.out, args.folds,
                             on_progress=bar.update)
    print(f"{result['n_noisy']} noisy / {result['n_clean']} clean, noise rate {result['noise_rate']:.3f}, "
          f"device {result['device']}; score direction: higher = trusted")
    print(format_compare(result))
    print(f"wrote {Path(args.out) / 'compare.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lsw", description="Learned Sample Weights label audit")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="train with LSW, flag suspect labels, optionally retrain")
    add_run_args(p)
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("export", help="one CSV row per sample of a run")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("compare", help="LSW, MW-Net, L2RW, confident learning and small-loss on one split")
    add_run_args(p)
    p.add_argument("--methods", default="lsw,mwnet,l2rw,cleanlab,small-loss")
    p.add_argument("--folds", type=int, default=4, help="cross-validation folds for cleanlab")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_compare)
    from lsw.papertable import add_args as add_paper_args
    from lsw.papertable import cmd_paper_table

    p = sub.add_parser("paper-table", help="the paper's CIFAR-10 rows against ours (JSON + Markdown)")
    add_paper_args(p)
    p.set_defaults(func=cmd_paper_table)
    from lsw.bench import add_bench_args, cmd_bench

    p = sub.add_parser("bench", help="LSW step vs plain step side by side; --audit for a whole CIFAR-10 audit")
    add_bench_args(p)
    p.set_defaults(func=cmd_bench)
    from lsw.users import add_users_args, cmd_users

    p = sub.add_parser("users", help="reviewer accounts of the dashboard ($LSW_HOME/users.json): add, remove, list")
    add_users_args(p)
    p.set_defaults(func=cmd_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LswError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: continue with `python -m lsw run --out DIR --resume`", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets one line, the log gets the traceback
        log = Path(getattr(args, "out", ".") or ".")
        log = (log if log.is_dir() else log.parent) / "error.log"
        try:
            log.write_text(traceback.format_exc())
            where = f" (details in {log})"
        except OSError:
            where = ""
        print(f"internal error: {type(e).__name__}: {e}{where}", file=sys.stderr)
        return 1
