"""Does the default recipe learn? Defaults only, several seeds, one table (issue: a model that learns on real photos).

    python bench/learns.py --cifar ../shared/data/cifar10-jpeg.npz --seeds 0,1,2 --out /tmp/learns

Cases (each with the RunConfig defaults, 20 epochs included; only the data and its noise are given, and
the epochs of digits and Fashion-MNIST as in the README's earlier figures):
- folder:   a CIFAR-10 photo folder built here, 1,500 JPEG files (150 per class), 20% of them moved
            into a wrong class folder, with a CSV manifest marking 10 correct photos per class as trusted
            and carrying the true labels for scoring: AUC, precision of the top 100, flagged, validation
            accuracy, wall time.
- cifar5k:  CIFAR-10, a 5,000-image subset, 40% instance noise, 10% clean: test accuracy, AUC, F1.
- digits:   scikit-learn digits, 30% symmetric noise, 10 clean per class, 10 epochs.
- fashion:  Fashion-MNIST 6,000-image subset, 40% instance noise, 10% clean, 12 epochs.
Every run also records whether it diverged (a loss that is not finite, or the health check failing).
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsw.audit import run_audit  # noqa: E402
from lsw.config import RunConfig  # noqa: E402
from lsw.errors import LswError  # noqa: E402
from lsw.rundir import RunDir  # noqa: E402


def build_photo_folder(cifar: Path, out: Path, per_class: int = 150, wrong: float = 0.2, trusted_per_class: int = 10,
                       seed: int = 0) -> Path:
    """out/photos/<class>/<i>.jpg (the original JPEG bytes) and out/manifest.csv; returns the manifest."""
    manifest = out / "manifest.csv"
    if manifest.exists():
        return manifest
    rng = np.random.default_rng(seed)
    with np.load(cifar) as z:
        blob, offsets, labels, classes = z["train_jpeg"], z["train_offsets"], z["train_labels"], z["classes"]
    k = len(classes)
    picked = np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(k)])
    given = labels[picked].astype(np.int64).copy()
    trusted = np.zeros(len(picked), bool)
    for c in range(k):  # trusted photos are never moved
        trusted[rng.choice(np.flatnonzero(given == c), trusted_per_class, replace=False)] = True
    movable = np.flatnonzero(~trusted)
    moved = rng.choice(movable, round(wrong * len(picked)), replace=False)
    given[moved] = (given[moved] + rng.integers(1, k, len(moved))) % k
    rows = []
    for j, i in enumerate(picked):
        rel = Path("photos") / str(classes[given[j]]) / f"cifar{i:05d}.jpg"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(blob[offsets[i]:offsets[i + 1]].tobytes())
        rows.append((rel.as_posix(), classes[given[j]], int(trusted[j]), classes[labels[i]]))
    tmp = manifest.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "trusted", "true_label"])
        w.writerows(rows)
    tmp.rename(manifest)
    return manifest


def top_precision(run: RunDir, n: int = 100) -> float | None:
    """Share of wrong labels among the `n` least trusted samples by the run's flag score."""
    from lsw.samples import sample_table

    df = sample_table(run, run.epochs()[-1])
    if "is_noisy" not in df:
        return None
    return float(df.sort_values("score", kind="stable").head(n).is_noisy.mean())


def one_run(name: str, cfg: RunConfig, out: Path) -> dict:
    t = time.perf_counter()
    try:
        s = run_audit(cfg, out)
    except LswError as e:  # a non-finite loss stops the run: that is a divergence
        return {"case": name, "seed": cfg.seed, "diverged": True, "error": str(e), "seconds": time.perf_counter() - t}
    health = s.get("health") or {"ok": True}
    return {"case": name, "seed": cfg.seed, "diverged": not health["ok"], "health": health.get("reason"),
            "auc": s["auc"], "f1": s["f1"], "flagged": s["n_flagged"], "n_noisy": s["n_noisy"],
            "val_acc": s.get("val_acc"), "test_acc": s["test_acc"], "top100": top_precision(RunDir(out)),
            "seconds": time.perf_counter() - t}


def cases(args: argparse.Namespace, work: Path) -> dict[str, dict]:
    out = {}
    if args.cifar:
        manifest = build_photo_folder(Path(args.cifar), work / "photo-folder")
        out["folder"] = dict(data=f"csv:{manifest}")
        out["cifar5k"] = dict(data=f"cifar10:{args.cifar}", max_samples=5000, noise="instance:0.4",
                              clean_frac=0.1)
    out["digits"] = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=10)
    out["fashion"] = dict(data="fashion-mnist", max_samples=6000, noise="instance:0.4", clean_frac=0.1, epochs=12)
    return {k: v for k, v in out.items() if not args.cases or k in args.cases.split(",")}


def spread(values: list[float | None], fmt: str) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    if len(vals) == 1:
        return format(vals[0], fmt)
    return f"{format(statistics.mean(vals), fmt)} ± {format(statistics.pstdev(vals), fmt)}"


def table(results: list[dict]) -> str:
    keys = [("auc", ".4f"), ("f1", ".4f"), ("top100", ".2f"), ("flagged", ".0f"), ("val_acc", ".3f"),
            ("test_acc", ".3f"), ("seconds", ".0f")]
    lines = ["| case | seeds | diverged | " + " | ".join(k for k, _ in keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    for case in dict.fromkeys(r["case"] for r in results):
        rs = [r for r in results if r["case"] == case]
        cells = [spread([r.get(k) for r in rs], f) for k, f in keys]
        lines.append(f"| {case} | {len(rs)} | {sum(r['diverged'] for r in rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar", default=None, help="the packed CIFAR-10 .npz (folder and cifar5k cases)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--cases", default="", help="comma-separated subset of folder,cifar5k,digits,fashion")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="/tmp/lsw-learns")
    args = p.parse_args()
    work = Path(args.out)
    results = []
    log = work / "results.jsonl"
    for name, kw in cases(args, work).items():
        for seed in (int(s) for s in args.seeds.split(",")):
            cfg = RunConfig(**kw, seed=seed, noise_seed=seed, device=args.device)
            r = one_run(name, cfg, work / "runs" / f"{name}-{seed}")
            results.append(r)
            with open(log, "a") as f:
                f.write(json.dumps(r) + "\n")
            print(json.dumps(r), flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
