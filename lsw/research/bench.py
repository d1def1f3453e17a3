"""`python -m lsw bench`: LSW step vs plain step, side by side in one process.

Both steps see the same model architecture, data, batch size, precision (bf16 autocast and
channels_last on CUDA) and optimiser; the LSW step adds the clean batch of `--clean-batch-size`.
Median step time over `--steps` repetitions after `--warmup`, their ratio, and peak memory (CUDA).
`--audit` then runs a whole CIFAR-10 audit (issue target: 40% instance noise, AUC, F1, accuracy,
wall time) through the same path as `python -m lsw run`.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from lsw.config import METAS, RunConfig
from lsw.device_data import DeviceImages, resolve_device
from lsw.loop import autocast, build_training
from lsw.methods import LSW_STEPS
from lsw.reweight import plain_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step, steps: int, warmup: int, device: torch.device) -> tuple[float, float | None]:
    """Median seconds per call of `step()` and peak allocated MiB during the timed calls (CUDA)."""
    for _ in range(warmup):
        step()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return statistics.median(times), peak


def make_step(kind: str, model: torch.nn.Module, opt: torch.optim.Optimizer, data: DeviceImages,
              labels: torch.Tensor, rows: torch.Tensor, clean_rows: torch.Tensor, alpha: torch.Tensor):
    """One training step of `kind` ("plain", "full" or "head" LSW) on fixed rows, augmentation included."""
    device = data.device

    def step() -> None:
        x, y = data.batch(rows, augment=True), labels[rows]
        with autocast(device):
            if kind == "plain":
                plain_step(model, opt, x, y)
            else:
                clean = (data.batch(clean_rows, augment=True), labels[clean_rows])
                LSW_STEPS[kind](model, opt, x, y, alpha, clean, eta=0.05)

    return step


def bench_pair(model_name: str, batch: int, clean_batch: int, shape: tuple[int, int, int], classes: int,
               device: torch.device, steps: int, warmup: int) -> dict:
    """Plain and LSW step timings for one model and batch size on random uint8 images."""
    g = torch.Generator().manual_seed(0)
    n = batch + clean_batch
    images = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8).numpy()
    data = DeviceImages(images, device)
    labels = torch.randint(0, classes, (n,), generator=g).to(device)
    rows = torch.arange(batch, device=device)
    clean_rows = torch.arange(batch, n, device=device)
    alpha = torch.full((batch,), 0.5, device=device)
    out = {"model": model_name, "batch": batch, "clean_batch": clean_batch}
    for kind in ("plain", "full", "head"):
        model, opt = build_training(RunConfig(model=model_name, lr=0.05), shape, classes, device, seed=0)
        step = make_step(kind, model, opt, data, labels, rows, clean_rows, alpha)
        out[f"{kind}_s"], out[f"{kind}_mib"] = time_steps(step, steps, warmup, device)
        del model, opt, step
        if device.type == "cuda":
            torch.cuda.empty_cache()
    for kind in ("full", "head"):
        out[f"{kind}_ratio"] = out[f"{kind}_s"] / out["plain_s"]
        out[f"{kind}_mem"] = out[f"{kind}_mib"] / out["plain_mib"] if out["plain_mib"] else None
    return out


def format_table(rows: list[dict]) -> str:
    """One line per (model, batch): median ms of the plain, full-LSW and head-LSW steps, time and memory ratios."""
    head = (f"{'model':<10} {'batch':>5} {'plain ms':>9} {'full ms':>8} {'head ms':>8} {'full x':>7} {'head x':>7} "
            f"{'plain MiB':>10} {'full mem':>9} {'head mem':>9}")
    lines = [head, "-" * len(head)]
    num = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for r in rows:
        lines.append(f"{r['model']:<10} {r['batch']:>5} {r['plain_s'] * 1e3:>9.2f} {r['full_s'] * 1e3:>8.2f} "
                     f"{r['head_s'] * 1e3:>8.2f} {r['full_ratio']:>7.2f} {r['head_ratio']:>7.2f} "
                     f"{num(r['plain_mib'], '.0f'):>10} {num(r['full_mem'], '.2f'):>9} {num(r['head_mem'], '.2f'):>9}")
    return "\n".join(lines)


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", default="resnet18,resnet34", help="comma-separated model names")
    p.add_argument("--batch-sizes", default="125,512", help="comma-separated noisy batch sizes")
    p.add_argument("--clean-batch-size", type=int, default=250)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--device", default="auto")
    p.add_argument("--audit", action="store_true", help="also run the whole CIFAR-10 audit (target 3)")
    p.add_argument("--cifar", default="../shared/data/cifar10-jpeg.npz", help="path of the packed CIFAR-10 file")
    p.add_argument("--audit-model", default="resnet18")
    p.add_argument("--audit-epochs", type=int, default=30)
    p.add_argument("--audit-retrain-epochs", type=int, default=30)
    p.add_argument("--audit-batch-size", type=int, default=512)
    p.add_argument("--audit-meta", default=RunConfig.meta, choices=METAS,
                   help="LSW meta-gradient of the audit (default %(default)s)")
    p.add_argument("--out", default="runs/bench-audit")


def main(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    shape = (args.channels, args.image_size, args.image_size)
    rows = []
    for model in args.models.split(","):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            rows.append(bench_pair(model, batch, args.clean_batch_size, shape, args.classes, device,
                                   args.steps, args.warmup))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}, torch {torch.__version__}, median of {args.steps} steps after {args.warmup} warm-up")
    print(format_table(rows))
    if args.audit:
        from lsw.audit import run_audit
        from lsw.progress import TqdmProgress

        cfg = RunConfig(data=f"cifar10:{args.cifar}", noise="instance:0.4", clean_frac=0.1, model=args.audit_model,
                        epochs=args.audit_epochs, retrain_epochs=args.audit_retrain_epochs, retrain="filtered",
                        batch_size=args.audit_batch_size, retrain_batch_size=args.audit_batch_size,
                        meta=args.audit_meta, device=args.device)
        with TqdmProgress() as bar:
            s = run_audit(cfg, args.out, on_progress=bar.update, progress_bars=True)
        print(f"audit: {s['seconds']:.1f} s (LSW {s['lsw_seconds']:.1f} s, "
              f"retrain {s.get('retrain_seconds', 0):.1f} s), "
              f"AUC {s['auc']:.4f}, F1 {s['f1']:.4f}, retrained test acc {s['retrain_test_acc']}")
    return 0
