"""The same audit in 1, 2, ... processes through torchrun (`lsw.dist`): samples/s and wall time.

    python bench/data_parallel.py --procs 1,2 --device cpu --out /tmp/dp
    python bench/data_parallel.py --procs 1,2,4 --device cuda --data cifar10:PATH --epochs 5 --out /tmp/dp

Each count runs `torchrun --standalone --nproc-per-node N -m lsw run ...` with the same flags (same global
batch size and learning rate) into its own folder. On the CPU each process gets --threads threads
(OMP_NUM_THREADS; default 1, one core per process: on a busy machine one process with every core's
threads measured mostly the other load's contention). On CUDA each process takes one GPU; counts above
the machine's GPUs are reported as skipped.

Columns: train samples/s = epochs * |D^n| / the training seconds of the summary (`lsw_seconds`, the
steps alone, per-epoch evaluation excluded); wall = the whole command (start-up, data, evaluation,
writing); AUC of the run, to see that the result holds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(procs: int, args: argparse.Namespace) -> dict:
    out = Path(args.out) / f"procs{procs}"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs),
           "-m", "lsw", "run", "--data", args.data, "--noise", args.noise, "--clean-per-class", "10",
           "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--device", args.device,
           "--seed", "0", "--out", str(out), "--force"] + (["--max-samples", str(args.max_samples)]
                                                          if args.max_samples else [])
    env = dict(os.environ)
    if args.device == "cpu":
        env["OMP_NUM_THREADS"] = str(args.threads)
    started = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if r.returncode != 0:
        raise SystemExit(f"{procs} process(es) failed:\n{r.stderr[-2000:]}")
    s = json.loads((out / "summary.json").read_text())
    return {"procs": procs, "samples_s": args.epochs * s["n_noisy"] / s["lsw_seconds"], "train_s": s["lsw_seconds"],
            "wall_s": wall, "auc": s["auc"], "world_size": s["world_size"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--procs", default="1,2", help="comma-separated process counts")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--data", default="digits")
    p.add_argument("--noise", default="symmetric:0.3")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--max-samples", type=int, default=None)
    p.add_argument("--threads", type=int, default=1, help="torch threads per process on the CPU")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    gpus = 0
    if args.device == "cuda":
        import torch

        gpus = torch.cuda.device_count()
    gpu_note = f", {gpus} GPU(s)" if args.device == "cuda" else ""
    print(f"{args.data}, {args.noise}, {args.epochs} epochs, global batch {args.batch_size}, device {args.device}, "
          f"{os.cpu_count()} cores, {args.threads} thread(s) per process{gpu_note}")
    print(f"{'procs':>5} {'train samples/s':>16} {'train s':>8} {'wall s':>8} {'AUC':>7}")
    for n in (int(x) for x in args.procs.split(",")):
        if args.device == "cuda" and n > gpus:
            print(f"{n:>5}  skipped: this machine has {gpus} GPU(s)")
            continue
        r = run_one(n, args)
        print(f"{r['procs']:>5} {r['samples_s']:>16.0f} {r['train_s']:>8.1f} {r['wall_s']:>8.1f} {r['auc']:>7.4f}",
              flush=True)


if __name__ == "__main__":
    main()
