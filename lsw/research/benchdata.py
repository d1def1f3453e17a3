"""`python -m lsw bench-data`: the data path at scale, printed as two tables.

1. Decode: a folder of N synthetic JPEG photos at 1024x768 (for each N of --sizes) is decoded into the
   disk cache at --image-size px in a fresh process; prints photos/s, the peak RSS of that process,
   and the peak PSS of it plus its decoding workers (sampled from /proc every 50 ms; PSS shares the
   pages the forked workers hold in common among them, so the sum is the memory really used).
   The N files are hard links to --distinct different photos, so the folder costs no disk and the
   figure is the decoder's, not the disk's.
2. Stream: a memory-mapped cache of --stream-n random 32x32 images; the same random subset of
   --subset rows of it is trained on for --epochs epochs with a plain step of a small model, once from
   the device-resident copy (`DeviceImages`) and once streamed from the memory map with the prefetch
   (`StreamImages`); prints samples/s of both and their ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PHOTO = (768, 1024)  # (H, W)


def synthetic_photo(rng: np.random.Generator) -> np.ndarray:
    """uint8 (768, 1024, 3): a smooth two-colour gradient, a few filled shapes and sensor-like noise,
    which JPEG-compresses about as a photo does (a pure-noise image would be far larger and slower)."""
    h, w = PHOTO
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    img = a * (1 - t) + b * t + np.zeros((h, 1, 1), np.float32)
    for _ in range(6):
        y, x = rng.integers(0, h - 100), rng.integers(0, w - 100)
        img[y:y + rng.integers(50, 300), x:x + rng.integers(50, 300)] = rng.integers(0, 256, 3)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_folder(root: Path, n: int, distinct: int, classes: int = 10) -> Path:
    """`n` JPEG files in `classes` class folders, hard links to `distinct` photos written once."""
    from PIL import Image

    rng = np.random.default_rng(0)
    originals = root / ".photos"
    originals.mkdir(parents=True, exist_ok=True)
    sources = []
    for k in range(distinct):
        p = originals / f"{k}.jpg"
        if not p.exists():
            Image.fromarray(synthetic_photo(rng)).save(p, quality=90)
        sources.append(p)
    for i in range(n):
        p = root / "photos" / f"class_{i % classes}" / f"IMG_{i:07d}.jpg"
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists():
            os.link(sources[i % distinct], p)
    return root / "photos"


def _memory(pid: int) -> tuple[int, int]:
    """(RSS of `pid`, PSS of `pid` and every process below it), in bytes."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                continue
    rss, pss, todo = _field(f"/proc/{pid}/status", "VmRSS:"), 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        pss += _field(f"/proc/{p}/smaps_rollup", "Pss:")
    return rss, pss


def _field(path: str, name: str) -> int:
    try:
        with open(path) as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(name))
    except (OSError, StopIteration, ValueError):
        return 0


DECODE_CHILD = """
import json, sys, time
from lsw.data import load_source
t = time.perf_counter()
s = load_source("folder:" + sys.argv[1], cache_dir=sys.argv[2], progress=False, image_size=int(sys.argv[3]))
print(json.dumps({"n": len(s.train), "seconds": time.perf_counter() - t, "shape": list(s.train.images.shape)}))
"""


def bench_decode(folder: Path, cache: Path, image_size: int) -> dict:
    """Decode `folder` into an empty cache in a fresh process; photos/s and peak RSS of its process tree."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", DECODE_CHILD, str(folder), str(cache), str(image_size)],
                            stdout=subprocess.PIPE, text=True, env=env)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        rss, pss = _memory(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"decode of {folder} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "photos_per_s": result["n"] / result["seconds"], "peak_rss_mb": peak_rss / 2**20,
            "peak_pss_mb": peak_pss / 2**20}


def make_stream_cache(path: Path, n: int, chunk: int = 65536) -> np.ndarray:
    """A raw uint8 (n, 3, 32, 32) file of random images, written by chunks, opened as a memory map."""
    rng = np.random.default_rng(0)
    row = 3 * 32 * 32
    if not path.exists() or path.stat().st_size != n * row:
        with open(path, "wb") as f:
            for s in range(0, n, chunk):
                f.write(rng.integers(0, 256, (min(chunk, n - s)) * row, dtype=np.uint8).tobytes())
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(n, 3, 32, 32))


def train_epochs(data, rows: np.ndarray, labels: np.ndarray, epochs: int, batch: int, model_name: str) -> float:
    """Samples/s of `epochs` epochs of a plain SGD step over `rows` of `data`, batches in a seeded order."""
    import torch
    import torch.nn.functional as F

    from lsw.loop import epoch_batches

    device = data.device
    model, opt = build(model_name, device)
    gen = torch.Generator().manual_seed(0)
    rows_t = torch.as_tensor(rows, device=device)
    y_all = torch.as_tensor(labels, device=device)
    for _ in range(3):  # warm-up steps, untimed: first-call allocations and kernel choices
        r = rows_t[:batch]
        F.cross_entropy(model(data.batch(r, augment=True)), y_all[r]).backward()
    opt.zero_grad(set_to_none=True)
    t = time.perf_counter()
    for _ in range(epochs):
        batches = epoch_batches(len(rows), batch, gen, device)
        data.prefetch([rows_t[b] for b in batches])
        for b in batches:
            r = rows_t[b]
            loss = F.cross_entropy(model(data.batch(r, augment=True)), y_all[r])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return epochs * len(rows) / (time.perf_counter() - t)


def build(model_name: str, device):
    """(model, SGD optimiser): `mini` (two strided 3x3 convolutions, 16 and 32 channels, average pool,
    linear: about 5k parameters, so that the data path weighs as much as it can against the step), or
    a model of `lsw.models` by name."""
    import torch

    from lsw.config import RunConfig
    from lsw.loop import build_training

    if model_name != "mini":
        return build_training(RunConfig(model=model_name, lr=0.05), (3, 32, 32), 10, device, seed=0)
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def bench_stream(work: Path, n: int, subset: int, epochs: int, batch: int, model: str, device_name: str) -> dict:
    from lsw.batches import StreamImages
    from lsw.device_data import DeviceImages, resolve_device

    device = resolve_device(device_name)
    images = make_stream_cache(work / f"stream-{n}.u8", n)
    rng = np.random.default_rng(1)
    rows = np.sort(rng.choice(n, size=subset, replace=False))
    labels = rng.integers(0, 10, n)
    resident = DeviceImages(images[rows], device)  # the subset copied onto the device: positions 0..subset-1
    streamed = StreamImages(images, device, like=resident)  # the same rows, read from the 1M-row memory map
    res, stream = [], []
    for _ in range(2):  # alternated, twice each, so that a change in the machine's load hits both paths
        res.append(train_epochs(resident, np.arange(subset), labels[rows], epochs, batch, model))
        stream.append(train_epochs(streamed, rows, labels, epochs, batch, model))
    out = {"n": n, "subset": subset, "epochs": epochs, "batch": batch, "model": model, "device": str(device),
           "resident_sps": float(np.mean(res)), "stream_sps": float(np.mean(stream)), "runs": (res, stream)}
    out["ratio"] = out["stream_sps"] / out["resident_sps"]
    out["read_ahead"] = streamed.read_ahead
    return out


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", default="5000,20000", help="numbers of photos to decode, comma-separated")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--distinct", type=int, default=256, help="different photos behind the hard links")
    p.add_argument("--stream-n", type=int, default=1_000_000)
    p.add_argument("--subset", type=int, default=20_000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--model", default="mini", help="the small model of the plain training step: mini, or a "
                   "name of lsw.models")
    p.add_argument("--device", default="auto")
    p.add_argument("--work", default=None, help="folder for the photos and caches (default: a temporary one)")
    p.add_argument("--skip", default="", help="decode or stream: leave that part out")


def main(args: argparse.Namespace) -> int:
    work = Path(args.work or tempfile.mkdtemp(prefix="lsw-bench-data-"))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"work folder {work}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{os.cpu_count()} CPUs")
    if "decode" not in args.skip:
        print("| photos (1024x768 JPEG) | image size | photos/s | peak RSS MB (main) | peak PSS MB (main + workers) |")
        print("|---|---|---|---|---|")
        for n in (int(v) for v in args.sizes.split(",")):
            folder = make_folder(work / f"photos-{n}", n, args.distinct)
            cache = work / f"cache-{n}-{time.time_ns()}"
            r = bench_decode(folder, cache, args.image_size)
            print(f"| {r['n']:,} | {args.image_size} | {r['photos_per_s']:.0f} | {r['peak_rss_mb']:.0f} | "
                  f"{r['peak_pss_mb']:.0f} |", flush=True)
    if "stream" not in args.skip:
        import torch

        r = bench_stream(work, args.stream_n, args.subset, args.epochs, args.batch_size, args.model, args.device)
        print(f"\nstream: {r['subset']:,} random rows of a {r['n']:,}-row memory-mapped 32x32 cache, "
              f"{r['epochs']} epochs, {r['model']} plain step, batch {r['batch']}, {r['device']} "
              f"({torch.get_num_threads()} threads), mean of 2 alternated runs each "
              f"(resident {', '.join(f'{v:.0f}' for v in r['runs'][0])}; streamed "
              f"{', '.join(f'{v:.0f}' for v in r['runs'][1])}); {r['read_ahead']} batches served by the prefetch")
        print("| path | samples/s |")
        print("|---|---|")
        print(f"| resident | {r['resident_sps']:.0f} |")
        print(f"| streamed | {r['stream_sps']:.0f} |")
        print(f"| streamed / resident | {r['ratio']:.2f} |")
    return 0
