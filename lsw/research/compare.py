"""`python -m lsw compare`: LSW and its peers on one split, one noise draw, one model.

Every method gets a per-sample trust score (higher = correctly labeled) and is scored the same way:
AUC with 1 - score as the noisy score; F1 / FDR / recall at LSW's threshold for LSW, for cleanlab
on `find_label_issues`' own flags, and for the others (MW-Net, L2RW, small-loss) by flagging the
lowest scores up to the known noise rate, as the paper does for MW-Net. Small-loss gets a second row,
ranked by the same averaged trust as LSW (`SMALL_LOSS_AVG`), and, when LSW's run ends with a second pass,
a third with that trust re-scored by the same second pass (`SMALL_LOSS_SECOND`). The cost per step is each
method's median training-step time over the epochs that learn weights, divided by plain training's
(the small-loss run), measured in the same process.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lsw.audit import run_audit
from lsw.config import RunConfig
from lsw.device_data import DeviceImages, resolve_device
from lsw.errors import LswError
from lsw.histograms import groups_for, score_histogram
from lsw.metrics import detection_at_count, detection_metrics, flag_metrics
from lsw.prepare import Problem, prepare
from lsw.runargs import add_run_args, config_from_args
from lsw.rundir import RunDir, write_json
from lsw.scoring import flag_score, run_score
from lsw.second_pass import applies, needs_first, saved_network, second_pass
from lsw.trust import stored_trust

ALL = ("lsw", "mwnet", "l2rw", "cleanlab", "small-loss")
# small-loss ranked by the trust LSW ranks by (the given label's probability averaged over the second half of
# training, `lsw.trust`), beside plain small-loss (the last epoch's loss): LSW's lead over it is LSW's own
SMALL_LOSS_AVG = "small-loss (averaged)"
# and that averaged trust re-scored by the second pass LSW ends with (`lsw.second_pass`), when LSW's runs have one:
# LSW's lead over this row is what its weights add to the whole recipe
SMALL_LOSS_SECOND = "small-loss (averaged + second pass)"
RESULT = "compare.json"  # in the comparison's folder, beside one run folder per method


def cleanlab_scores(config: RunConfig, problem: Problem, folds: int,
                    on_progress: Callable[[str, int, int, int, int], None] | None = None
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Confident learning on D^n: out-of-fold probabilities from `folds`-fold cross-validation with
    the same model (each fold trained `config.epochs` epochs on the other folds plus D^c), then
    cleanlab's label-quality scores (higher = clean) and its issue flags. Returns (scores, flags,
    median seconds per training step)."""
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        raise LswError("the cleanlab method needs the optional package: "
                       "pip install -r requirements-compare.txt") from None
    from lsw.evaluation import predict_proba
    from lsw.retrain import fit

    train = problem.source.train
    noisy, clean = problem.split.noisy, problem.split.clean
    data = DeviceImages(train.images, resolve_device(config.device), hflip=train.hflip)
    fold_of = np.random.default_rng(config.seed).permutation(len(noisy)) % folds
    probs = np.zeros((len(noisy), train.num_classes), dtype=np.float32)
    step_times = []
    for k in range(folds):
        rows = np.concatenate([noisy[fold_of != k], clean])
        started = time.perf_counter()
        steps = [0]

        def progress(epoch: int, step: int, n: int, k: int = k, steps: list = steps) -> None:
            steps[0] += 1
            if on_progress is not None:
                on_progress(f"cleanlab fold {k + 1}/{folds}", epoch, config.epochs, step, n)

        model = fit(dataclasses.replace(config, retrain_batch_size=config.batch_size), problem, rows, None,
                    config.epochs, data, on_progress=progress)
        step_times.append((time.perf_counter() - started) / max(1, steps[0]))
        probs[fold_of == k] = predict_proba(model, data, noisy[fold_of == k])
    labels = problem.labels[noisy]
    scores = get_label_quality_scores(labels, probs)
    flags = find_label_issues(labels, probs)
    return scores.astype(np.float32), flags, statistics.median(step_times)


def small_loss_second_pass(config: RunConfig, problem: Problem, run: RunDir, trust: np.ndarray,
                           is_noisy: np.ndarray, n_flag: int, like: dict) -> dict:
    """The `SMALL_LOSS_SECOND` row: the small-loss `run`'s averaged `trust` re-scored by a second pass (its
    network the teacher when `config.teacher_weight` > 0 and read in folds when `config.fold_first`, as LSW's is in
    an LSW run), flagged at the known noise count; `like` is the row it extends (its cost figures are kept)."""
    started = time.perf_counter()
    train = problem.source.train
    device = resolve_device(config.device)
    data = DeviceImages(train.images, device, hflip=train.hflip)
    first = saved_network(run.checkpoint, config, problem, device) if needs_first(config) else None
    final = second_pass(config, problem, data, trust, first=first).trust
    det = detection_at_count(is_noisy, 1 - final, n_flag)
    return {**like, "method": SMALL_LOSS_SECOND, "auc": det["auc"], "f1": det["f1"], "fdr": det["fdr"],
            "recall": det["recall"], "seconds": round(like["seconds"] + time.perf_counter() - started, 2)}


def run_compare(config: RunConfig, methods: list[str], out: str | Path, folds: int = 4,
                on_progress: Callable[[str, int, int, int, int], None] | None = None, force: bool = False) -> dict:
    """Run `methods` on the same prepared problem; writes out/compare.json and out/<method>/ runs. LswError,
    before any work, when `out` holds a comparison or one of those runs already, unless `force` (overwrite)."""
    unknown = [m for m in methods if m not in ALL]
    if unknown:
        raise LswError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(ALL)}")
    out = Path(out)
    taken = [out / RESULT] if (out / RESULT).exists() else []
    taken += [out / m for m in methods if RunDir(out / m).exists()]
    if taken and not force:
        raise LswError(f"an earlier comparison's results are in {', '.join(map(str, taken))}: pass --force to "
                       "overwrite them, or choose another --out")
    problem = prepare(config, progress=on_progress is not None)
    is_noisy = problem.is_noisy
    if is_noisy is None:
        raise LswError("compare scores detection against known true labels: give --noise TYPE:RATE, or a CSV "
                       "manifest with a true_label column")
    n_flag = int(round(problem.noise_rate * len(is_noisy)))
    order = sorted(methods, key=lambda m: m != "small-loss")  # plain training first: the cost reference
    rows, hists = [], {}
    for m in order:
        started = time.perf_counter()
        if m == "cleanlab":
            score, flags, step_s = cleanlab_scores(config, problem, folds, on_progress)
            det = {"auc": detection_metrics(is_noisy, score)["auc"], **flag_metrics(is_noisy, flags)}
            retrain_acc = None
        else:
            cfg = dataclasses.replace(config, method=m)
            prefixed = None if on_progress is None else (
                lambda p, e, epochs, s, steps, m=m: on_progress(f"{m} {p}", e, epochs, s, steps))
            summary = run_audit(cfg, out / m, problem=problem, on_progress=prefixed)
            run = RunDir(out / m)
            last = run.epochs()[-1]
            score = flag_score(run_score(cfg.to_dict()), run.method_score(last), stored_trust(run.epoch_arrays(last)))
            first = cfg.start_epoch if m != "small-loss" else 0
            learning = [r["step_seconds"] for r in run.metrics() if r.get("alpha_learned", r["epoch"] > first)]
            step_s = statistics.median(learning or [r["step_seconds"] for r in run.metrics()])
            det = (detection_metrics(is_noisy, score, cfg.threshold) if m == "lsw"
                   else detection_at_count(is_noisy, 1 - score, n_flag))
            retrain_acc = summary.get("retrain_test_acc")
        rows.append({"method": m, "auc": det["auc"], "f1": det["f1"], "fdr": det["fdr"], "recall": det["recall"],
                     "retrain_test_acc": retrain_acc, "seconds": round(time.perf_counter() - started, 2),
                     "step_seconds": step_s, "score": "higher = trusted"})
        hists[m] = score_histogram(score, groups_for(score, config.threshold, is_noisy))
        if m == "small-loss":  # the same run ranked by LSW's averaged trust: what averaging alone gives
            mean = stored_trust(run.epoch_arrays(last))
            det = detection_at_count(is_noisy, 1 - mean, n_flag)
            rows.append({**rows[-1], "method": SMALL_LOSS_AVG, "auc": det["auc"], "f1": det["f1"], "fdr": det["fdr"],
                         "recall": det["recall"]})
            if "lsw" in methods and applies(dataclasses.replace(config, method="lsw")):
                rows.append(small_loss_second_pass(config, problem, run, mean, is_noisy, n_flag, rows[-1]))
    plain = next((r["step_seconds"] for r in rows if r["method"] == "small-loss"), None)
    for r in rows:
        r["step_cost_vs_plain"] = None if not plain else r["step_seconds"] / plain
    result = {"config": config.to_dict(), "noise_rate": problem.noise_rate, "n_noisy": int(len(is_noisy)),
              "n_clean": int(len(problem.split.clean)), "device": str(resolve_device(config.device)),
              "rows": sorted(rows, key=lambda r: methods.index(r["method"].split(" ")[0])), "histograms": hists}
    write_json(out / RESULT, result)
    return result


def comparisons(root: str | Path) -> list[Path]:
    """The comparison folders under `root` that hold a result, newest name first."""
    root = Path(root)
    return sorted((p for p in root.glob("*") if (p / RESULT).exists()), reverse=True) if root.exists() else []


def load_comparison(folder: str | Path) -> dict:
    """The result `run_compare` wrote into `folder`."""
    return json.loads((Path(folder) / RESULT).read_text())


def format_compare(result: dict) -> str:
    def f(v: object) -> str:
        return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))

    head = f"{'method':<21} {'AUC':>7} {'F1':>7} {'FDR':>7} {'recall':>7} {'retrain':>8} {'seconds':>8} {'cost':>5}"
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        cost = "-" if r["step_cost_vs_plain"] is None else f"{r['step_cost_vs_plain']:.2f}x"
        lines.append(f"{r['method']:<21} {f(r['auc']):>7} {f(r['f1']):>7} {f(r['fdr']):>7} {f(r['recall']):>7} "
                     f"{f(r['retrain_test_acc']):>8} {r['seconds']:>8.1f} {cost:>5}")
    return "\n".join(lines)



def add_args(p: argparse.ArgumentParser) -> None:
    add_run_args(p)
    p.add_argument("--methods", default="lsw,mwnet,l2rw,cleanlab,small-loss")
    p.add_argument("--folds", type=int, default=4, help="cross-validation folds for cleanlab")
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true", help="overwrite a comparison already in --out")


def main(args: argparse.Namespace) -> int:
    from lsw.progress import TqdmProgress

    config = config_from_args(args)
    if config.retrain_epochs > 0 and config.retrain == "none":
        config.retrain = args.retrain
    with TqdmProgress() as bar:
        result = run_compare(config, [m.strip() for m in args.methods.split(",") if m.strip()], args.out, args.folds,
                             on_progress=bar.update, force=args.force)
    print(f"{result['n_noisy']} noisy / {result['n_clean']} clean, noise rate {result['noise_rate']:.3f}, "
          f"device {result['device']}; score direction: higher = trusted")
    print(format_compare(result))
    print(f"wrote {Path(args.out) / RESULT}")
    return 0
