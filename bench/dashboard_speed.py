"""Training from the dashboard against the CLI, and the time-left estimate's error, side by side.

    python bench/dashboard_speed.py --data digits --noise symmetric:0.3 --clean-per-class 10 --epochs 10

Three paths, each the same audit after a warm-up run (data cache and kernels warm):
- CLI: `python -m lsw run` in a subprocess, as a user starts it;
- dashboard: `lsw.processjob.ProcessJob`, the job the dashboard's registry starts (the same command in a
  subprocess, watched through its progress lines);
- thread: `lsw.job.TrainingJob`, the audit in a thread of this process (what the dashboard did before).
Prints the wall time and the training time (summary `lsw_seconds`) of each, and for the dashboard job the
error of every time-left estimate made after its first epoch against the time that was really left (in
seconds, and relative while more than a tenth of the run was left: near the end a fixed second of
writing the summary is a large share of what is left), beside the same reports replayed through an
estimator blind to the dearer weight steps ahead (`TimeLeft()` without the cost prior).

    python bench/dashboard_speed.py --data csv:MANIFEST --noise "" --epochs 20 --dashboard-only  # a photo folder
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsw.audit import run_audit  # noqa: E402
from lsw.config import RunConfig  # noqa: E402
from lsw.eta import TimeLeft  # noqa: E402
from lsw.job import TrainingJob, set_training_threads  # noqa: E402
from lsw.processjob import ProcessJob  # noqa: E402
from lsw.rundir import RunDir  # noqa: E402


def watched(job: TrainingJob) -> tuple[float, list[tuple[float, float]], list[tuple[float, float]]]:
    """Run `job` to its end; (wall seconds, (estimate, true time left) of every report of the training phase
    after epoch 1, the same for the reports replayed through a `TimeLeft` blind to the dearer steps)."""
    reports: list[tuple[float, int, float | None, float | None]] = []
    inner = job._on_progress
    now = [0.0]
    blind = TimeLeft(clock=lambda: now[0])

    def record(phase: str, epoch: int, epochs: int, step: int, steps: int) -> None:
        inner(phase, epoch, epochs, step, steps)
        now[0] = time.perf_counter()
        if phase == "lsw":
            reports.append((now[0], epoch, job.snapshot().seconds_left, blind.update(epoch, epochs, step, steps)))

    job._on_progress = record
    t = time.perf_counter()
    job.start()
    job.join()
    end = time.perf_counter()
    assert job.snapshot().status == "done", job.snapshot()
    after = [r for r in reports if r[2] is not None and r[3] is not None and r[1] >= 1]
    return end - t, [(est, end - at) for at, _, est, _ in after], [(b, end - at) for at, _, _, b in after]


def errors(name: str, estimates: list[tuple[float, float]], wall: float) -> str:
    absolute = [abs(est - left) for est, left in estimates]
    relative = [abs(est - left) / left for est, left in estimates if left > 0.1 * wall]
    return (f"{name}, {len(estimates)} reports after epoch 1: median error {statistics.median(absolute):.1f} s (max "
            f"{max(absolute):.1f} s); while more than a tenth of the run was left, median "
            f"{statistics.median(relative):.1%} of the time left (max {max(relative):.1%})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="digits")
    p.add_argument("--noise", default="symmetric:0.3")
    p.add_argument("--clean-per-class", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--model", default="auto")
    p.add_argument("--dashboard-only", action="store_true", help="time the dashboard job alone (no CLI, no thread)")
    args = p.parse_args()
    cfg = RunConfig(data=args.data, noise=args.noise or None, clean_per_class=args.clean_per_class,
                    epochs=args.epochs, model=args.model, device="cpu")
    work = Path(tempfile.mkdtemp(prefix="lsw-speed-"))
    set_training_threads()
    run_audit(cfg, work / "warm")

    dash = ProcessJob(cfg, work / "dashboard")
    dash_s, estimates, blind = watched(dash)
    print("| path | wall s | training s |")
    print("|---|---|---|")
    if not args.dashboard_only:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lsw", "run", "--out", str(work / "cli"), "--config-json",
                        json.dumps(cfg.to_dict())], cwd=ROOT, check=True, capture_output=True)
        cli_s = time.perf_counter() - t
        print(f"| CLI (`python -m lsw run`) | {cli_s:.2f} | {RunDir(work / 'cli').summary()['lsw_seconds']:.2f} |")
    print(f"| dashboard job (subprocess, `lsw.processjob`) | {dash_s:.2f} | {dash.summary['lsw_seconds']:.2f} |")
    if not args.dashboard_only:
        thread = TrainingJob(cfg, work / "thread")
        thread_s, _, _ = watched(thread)
        print(f"| a thread of the server (before) | {thread_s:.2f} | {thread.summary['lsw_seconds']:.2f} |")
    print(errors("dashboard time-left estimate", estimates, dash_s))
    print(errors("the same reports, blind to the dearer weight steps", blind, dash_s))


if __name__ == "__main__":
    main()
