"""`python -m lsw`: headless audits and exports; the research harnesses load on demand.

    python -m lsw run --data digits --noise symmetric:0.3 --clean-per-class 10 --epochs 10 --out runs/d
    python -m lsw run --out runs/d --resume
    torchrun --nproc-per-node 2 -m lsw run ...   (data-parallel, `lsw.dist`; rank 0 prints and writes)
    python -m lsw export --run runs/d --out runs/d/labels.csv [--reviews PATH]
    python -m lsw compare | paper-table | bench ...   (lsw.research, imported only for these)

User errors print one line to stderr and exit 2; no traceback reaches the user (unexpected errors
are written in full to the run's error log and summarised in one line, exit 1).
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import threading
import traceback
from pathlib import Path

from lsw.config import RunConfig
from lsw.errors import AuditFailed, LswError
from lsw.research import COMMANDS as RESEARCH
from lsw.runargs import add_run_args, config_from_args


def cmd_run(args: argparse.Namespace) -> int:
    from lsw import dist
    from lsw.audit import run_audit
    from lsw.progress import TqdmProgress
    from lsw.rundir import RunDir
    from lsw.train import Cancelled

    run = RunDir(args.out)
    dist.start()
    config = dist.from_main(lambda: _run_config(args, run))
    cancel = threading.Event()
    if dist.world_size() > 1 or args.progress_lines:  # torchrun's, or the dashboard's (`lsw.processjob`), stop
        dist.stop_on_signals(cancel)
    if not dist.is_main():  # another process of a torchrun: trains its share, writes and prints nothing
        try:
            run_audit(config, run.path, resume=args.resume, cancel=cancel)
        except Cancelled:
            return 130
        return 0
    try:
        if args.progress_lines:
            summary = run_audit(config, run.path, resume=args.resume, on_progress=_progress_line,
                                on_event=lambda event: _line({"epoch": event.epoch}), cancel=cancel)
        else:
            with TqdmProgress() as bar:
                summary = run_audit(config, run.path, resume=args.resume, on_progress=bar.update, progress_bars=True,
                                    cancel=cancel)
    except Cancelled:
        raise KeyboardInterrupt from None  # the same message as Ctrl-C in one process
    print(results_table(summary))
    warning = unverified_warning(summary)
    if warning:
        print("WARNING: " + warning)
    health = summary.get("health")
    if health and not health["ok"]:
        print(f"WARNING: {health['reason']}; {health['advice']}. Its flags are not worth reviewing.")
    if summary["skipped"]:
        print(f"skipped {len(summary['skipped'])} input(s):")
        for path, reason in summary["skipped"][:20]:
            print(f"  {path}: {reason}")
    print(f"wrote the summary of {run.path}")
    return 0


def _line(message: dict) -> None:
    print(json.dumps(message), flush=True)


def _progress_line(phase: str, epoch: int, epochs: int, step: int, steps: int) -> None:
    """--progress-lines: the progress as one JSON line a step, for `lsw.processjob` to read."""
    _line({"progress": [phase, epoch, epochs, step, steps]})


def _run_config(args: argparse.Namespace, run: "RunDir") -> RunConfig:  # noqa: F821
    """The config to run: the saved one for --resume, else the flags' (or the next round's); LswError for
    a contradiction or a folder that holds a run already."""
    if args.resume and args.from_run:
        raise LswError("--resume continues the run in --out; --from-run starts a new round: give one of them")
    if args.resume:
        if not run.exists():
            raise LswError(f"nothing to resume in {run.path}: no run was started there")
        config = RunConfig.from_dict(run.config())
    else:
        if run.exists() and not args.force:
            raise LswError(f"{run.path} already holds a run: pass --resume to continue it, --force to overwrite, "
                           "or choose another --out")
        if args.config_json:
            config = RunConfig.from_dict(json.loads(args.config_json))
        else:
            config = _round_config(args, run) if args.from_run else config_from_args(args)
        if args.trusted and not args.from_run:
            config.trusted = str(Path(args.trusted).resolve())
    return config


def _round_config(args: argparse.Namespace, run: "RunDir") -> RunConfig:  # noqa: F821
    """The next round after --from-run, its trusted set written into the new run folder (--reviews log)."""
    from lsw.rounds import next_round
    from lsw.rundir import RunDir
    from lsw.store import ReviewStore

    reviews = Path(args.reviews)
    if not reviews.exists():
        raise LswError(f"no review log at {reviews}: review the run's queue first, or pass --reviews PATH")
    with ReviewStore(reviews) as store:
        config = next_round(RunDir(args.from_run), store, run.trusted_path)
    print(f"round {config.round} from {args.from_run}: trusted set written to {run.trusted_path}")
    return config


def unverified_warning(s: dict) -> str | None:
    """The plain warning a run owes when its clean set holds labels no one checked (None otherwise)."""
    n = s.get("unverified") or 0
    if not n:
        return None
    total = s["n_clean"] + s.get("n_val", 0)
    return (f"the clean set is taken from unverified labels ({n} of its {total} samples were drawn from the "
            "data's own labels, which no one checked): wrong labels there steer the weights. Verify a trusted "
            "sample first (dashboard: Setup), or review this run and start the next round with --from-run.")


def results_table(s: dict) -> str:
    def fmt(v: object) -> str:
        if v is None:
            return "-"
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    rows = [("data", s.get("data")), ("noise", s.get("noise")), ("noise rate", s.get("noise_rate")),
            ("noisy / clean / val", f"{s['n_noisy']} / {s['n_clean']} / {s.get('n_val', 0)}"),
            ("clean set", s.get("clean_set")), ("round", s.get("round", 1)),
            ("flagged", s.get("n_flagged")),
            ("AUC", s["auc"]), ("F1", s["f1"]), ("FDR", s["fdr"]), ("recall", s["recall"]),
            ("second pass", _second_pass_line(s.get("second_pass"))),
            ("val acc (scoring model)", s.get("val_acc")), ("test acc (scoring model)", s["test_acc"]),
            ("test acc (retrained)", s["retrain_test_acc"]),
            ("epochs", s["epochs"]), ("seconds", s["seconds"]), ("device", s["device"])]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {fmt(v)}" for k, v in rows)


def _second_pass_line(sp: dict | None) -> str | None:
    """The results table's second-pass entry (`lsw.second_pass`): what it trained on and its time."""
    if sp is None:
        return None
    taught = f", {sp['teacher_weight']:g} of its targets from the LSW network" if sp.get("teacher_weight") else ""
    first = sp.get("first_folds") or sp.get("folds")  # runs before 2026-12-07 read both networks in as many folds
    both = ("" if not sp.get("fold_first") else " (both networks)" if first == sp.get("folds")
            else f" (the LSW network's in {first})")
    rows = f" of the {sp['fold_keep']:.0%} both trust most" if sp.get("fold_keep") else ""
    folds = f", read again in {sp['folds']} folds{rows}{both}" if sp.get("folds") else ""
    return f"trained on {sp['kept']} of {sp['of']} audited samples{taught}{folds}, {sp['seconds']:.1f} s"


def cmd_export(args: argparse.Namespace) -> int:
    """The corrected labels of a run with the reviewers' decisions: the Export page's CSV."""
    from lsw.rundir import RunDir
    from lsw.store import ReviewStore

    run = RunDir(args.run)
    if not run.exists() or not run.epochs():
        raise LswError(f"{args.run} holds no finished epoch of a run: run `python -m lsw run --out {args.run}` first")
    reviews = Path(args.reviews)
    if not reviews.exists():
        print(f"no review log at {reviews}: exporting the run's labels without decisions", file=sys.stderr)
        counts = _write(run, _NoReviews(), args.out)
    else:
        with ReviewStore(reviews) as store:
            counts = _write(run, store, args.out)
    print(f"wrote {counts[0]} rows ({counts[1]} with a decision) to {args.out}")
    return 0


def _write(run, store, out: str) -> list[int]:
    """Stream the export to `out` in chunks (formula-safe cells, atomic); [rows, rows with a decision]."""
    from lsw.export import export_chunks, write_csv

    counts = [0, 0]

    def parts():
        for part in export_chunks(run, store):
            counts[0] += len(part)
            counts[1] += int((part.action != "").sum())
            yield part

    write_csv(parts(), out)
    return counts


class _NoReviews:
    """A review log with no decisions (no file is created for it)."""

    def final_states(self, dataset: str, given: object = None) -> dict:
        return {}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; the research command named `command` (if any) gets its flags, loading its module."""
    from lsw.home import reviews_path

    parser = argparse.ArgumentParser(prog="python -m lsw", description="Learned Sample Weights label audit")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="train with LSW, flag suspect labels, optionally retrain")
    add_run_args(p)
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    p.add_argument("--from-run", default=None, metavar="DIR",
                   help="start the next round of the run in DIR: its trusted set plus every review of its samples "
                        "in --reviews (relabel/correct: trained on with that label, while D^c keeps its representative "
                        "sample; exclude drops; ambiguous stays out of D^c); other flags are taken from that run")
    p.add_argument("--trusted", default=None, metavar="PATH", help="a trusted-set JSON (lsw.trusted) as D^c")
    p.add_argument("--config-json", default=None, metavar="JSON",
                   help="a whole RunConfig as JSON instead of the flags above (the dashboard's torchrun start)")
    p.add_argument("--progress-lines", action="store_true",
                   help="report progress as JSON lines on stdout instead of a bar (read by the dashboard)")
    p.add_argument("--reviews", default=str(reviews_path()),
                   help="the review log --from-run reads (default: the dashboard's, %(default)s)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("export", help="the corrected labels: one CSV row per sample with the reviewers' decisions")
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--reviews", default=str(reviews_path()),
                   help="the review log (default: the dashboard's, %(default)s)")
    p.set_defaults(func=cmd_export)
    from lsw.users import add_users_args, cmd_users

    p = sub.add_parser("users", help="reviewer accounts of the dashboard ($LSW_HOME/users.json): add, remove, list")
    add_users_args(p)
    p.set_defaults(func=cmd_users)
    for name, (module, help_text) in RESEARCH.items():
        p = sub.add_parser(name, help=help_text)
        if name == command:
            mod = importlib.import_module(module)
            mod.add_args(p)
            p.set_defaults(func=mod.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    try:
        return args.func(args)
    except LswError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: continue with `python -m lsw run --out DIR --resume`", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets one line, the log gets the traceback
        from lsw.rundir import RunDir

        if isinstance(e, AuditFailed):  # the audit has logged it to the run's error log already
            print(f"internal error: {e.message}", file=sys.stderr)
            return 1
        out = Path(getattr(args, "out", ".") or ".")
        log = RunDir(out if out.is_dir() else out.parent).write_error_log(traceback.format_exc())
        where = f" (details in {log})" if log else ""
        print(f"internal error: {type(e).__name__}: {e}{where}", file=sys.stderr)
        return 1
