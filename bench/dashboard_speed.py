"""Training from the dashboard against the CLI, and the time-left estimate's error, side by side.

    python bench/dashboard_speed.py --data digits --noise symmetric:0.3 --clean-per-class 10 --epochs 10

The CLI path is `lsw.audit.run_audit` in this thread; the dashboard path is `lsw.job.TrainingJob`, the
background thread the dashboard starts, with the threads the dashboard gives it
(`lsw.job.set_training_threads`). Prints the wall time of both and, for the job, the error of every
time-left estimate made after its first epoch against the time that was really left.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsw.audit import run_audit  # noqa: E402
from lsw.config import RunConfig  # noqa: E402
from lsw.job import TrainingJob, set_training_threads  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="digits")
    p.add_argument("--noise", default="symmetric:0.3")
    p.add_argument("--clean-per-class", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--model", default="auto")
    args = p.parse_args()
    cfg = RunConfig(data=args.data, noise=args.noise, clean_per_class=args.clean_per_class, epochs=args.epochs,
                    model=args.model, device="cpu")
    work = Path(tempfile.mkdtemp(prefix="lsw-speed-"))
    set_training_threads()
    run_audit(cfg, work / "warm")  # data cache and kernels warm for both paths

    t = time.perf_counter()
    cli = run_audit(cfg, work / "cli")
    cli_s = time.perf_counter() - t

    job = TrainingJob(cfg, work / "job")
    reports: list[tuple[float, int, float | None]] = []
    inner = job._on_progress

    def record(phase: str, epoch: int, epochs: int, step: int, steps: int) -> None:
        inner(phase, epoch, epochs, step, steps)
        reports.append((time.perf_counter(), epoch, job.snapshot().seconds_left))

    job._on_progress = record
    t = time.perf_counter()
    job.start()
    job.join()
    end = time.perf_counter()
    job_s = end - t
    assert job.snapshot().status == "done", job.snapshot()
    errors = [abs(est - (end - at)) / (end - at) for at, epoch, est in reports
              if est is not None and epoch >= 1 and end - at > 0.5]
    print("| path | wall s | training s |")
    print("|---|---|---|")
    print(f"| CLI (run_audit) | {cli_s:.2f} | {cli['lsw_seconds']:.2f} |")
    print(f"| dashboard job thread | {job_s:.2f} | {job.summary['lsw_seconds']:.2f} |")
    print(f"time-left estimate after epoch 1: median error {statistics.median(errors):.1%}, "
          f"max {max(errors):.1%} over {len(errors)} reports")


if __name__ == "__main__":
    main()
