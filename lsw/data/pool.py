"""Decoding many image files in parallel, straight into a raw uint8 file on disk.

Worker processes (forked, as torch's DataLoader forks its workers: a `forkserver` or `spawn` worker
imports torch afresh, which took 24 s before the first image on a loaded 2-core machine) probe
headers, then decode and fit each file and write its row with `os.pwrite` at its place in the output
file. Neither the workers nor the caller ever hold more than one chunk of images,
and the caller never maps the output, so memory stays flat however many images there are. Rows of
files that fail are closed up afterwards (`compact`). Small sets (under `POOL_MIN` files) are decoded
in this process: starting workers costs more than they save.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lsw.data import decode
from lsw.data.cache import Scratch
from lsw.errors import LswError

POOL_MIN = 256
CHUNK = 64  # files per task: large enough to hide the task overhead, small enough for a smooth bar


def workers() -> int:
    """Decoding processes: $LSW_DECODE_WORKERS, else one per CPU core this process may use."""
    env = os.environ.get("LSW_DECODE_WORKERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one image at a time per process; the processes are the parallelism


def _probe_chunk(paths: list[Path]) -> list[tuple[int, int, bool] | str]:
    out: list[tuple[int, int, bool] | str] = []
    for p in paths:
        try:
            out.append(decode.probe(p))
        except decode.BadImage as e:
            out.append(str(e))
    return out


def _decode_chunk(paths: list[Path], rows: list[int], out: str, side: int, grey: bool) -> list[str | None]:
    """Decode `paths` into rows `rows` of the raw file `out`; per file None or the reason it failed."""
    results: list[str | None] = []
    fd = os.open(out, os.O_WRONLY)
    try:
        for p, row in zip(paths, rows):
            try:
                a = decode.decode_fitted(p, side, grey)
            except decode.BadImage as e:
                results.append(str(e))
                continue
            os.pwrite(fd, a.tobytes(), row * a.nbytes)
            results.append(None)
    finally:
        os.close(fd)
    return results


def _chunks(n: int) -> Iterator[range]:
    for s in range(0, n, CHUNK):
        yield range(s, min(n, s + CHUNK))


class Pool:
    """Runs chunked tasks in worker processes (or inline for small jobs), in order, with a tqdm bar."""

    def __init__(self, n_items: int) -> None:
        self.executor = None
        if n_items >= POOL_MIN and workers() > 1:
            ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
            self.executor = ProcessPoolExecutor(workers(), mp_context=ctx, initializer=_init_worker)

    def map(self, fn: Callable, tasks: list[tuple], sizes: list[int], desc: str, progress: bool) -> list:
        bar = tqdm(total=sum(sizes), desc=desc, disable=not progress, unit="img")
        out = []
        try:
            if self.executor is None:
                for task, size in zip(tasks, sizes):
                    out.append(fn(*task))
                    bar.update(size)
            else:
                for result, size in zip(self.executor.map(fn, *zip(*tasks)) if tasks else (), sizes):
                    out.append(result)
                    bar.update(size)
        except BrokenProcessPool:
            raise LswError("a decoding process died (out of memory?): set LSW_DECODE_WORKERS=1 and "
                           "try again") from None
        finally:
            bar.close()
        return out

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)


def probe_all(pool: Pool, paths: list[Path], progress: bool, desc: str) -> list[tuple[int, int, bool] | str]:
    """Per file (H, W, grey) from its header, or the reason it cannot be used."""
    chunks = list(_chunks(len(paths)))
    parts = pool.map(_probe_chunk, [([paths[i] for i in c],) for c in chunks], [len(c) for c in chunks],
                     f"scan {desc}", progress)
    return [r for part in parts for r in part]


def decode_into(pool: Pool, paths: list[Path], out: Path, side: int, grey: bool, progress: bool, desc: str
                ) -> list[str | None]:
    """Decode `paths` into rows 0.. of `out` (already sized); per file None or the reason it failed."""
    chunks = list(_chunks(len(paths)))
    tasks = [([paths[i] for i in c], list(c), str(out), side, grey) for c in chunks]
    parts = pool.map(_decode_chunk, tasks, [len(c) for c in chunks], desc, progress)
    return [r for part in parts for r in part]


def compact(out: Path, keep: list[int], row_bytes: int) -> None:
    """Move rows `keep` (increasing) of the raw file `out` to the front, in order, and truncate after them."""
    with open(out, "r+b") as f:
        for dst, src in enumerate(keep):
            if dst != src:
                f.seek(src * row_bytes)
                row = f.read(row_bytes)
                f.seek(dst * row_bytes)
                f.write(row)
        f.truncate(len(keep) * row_bytes)


def decode_files(paths: list[Path], names: list[str], scratch: Scratch, image_size: int, progress: bool = True,
                 desc: str = "decode") -> tuple[np.ndarray, list[int], list[tuple[str, str]]]:
    """Decode `paths` into `scratch.images("train")`, every image fitted to one square size.

    Returns (images, ok, skipped): images is a read-only memory map uint8 (len(ok), C, S, S) with C = 1
    when every usable file is grey, else 3, and S = `image_size` or the most common size's shorter side
    when smaller (`lsw.data.decode.target_side`); ok are the positions in `paths` that decoded, in order;
    skipped is (name, reason) for the others, in input order. LswError (before any decoding) when the
    disk cannot hold the images."""
    scratch.reserve(len(paths) * 3 * image_size * image_size)
    out = scratch.images("train")
    pool = Pool(len(paths))
    try:
        probed = probe_all(pool, paths, progress, desc)
        bad = [(i, r) for i, r in enumerate(probed) if isinstance(r, str)]
        good = [i for i, r in enumerate(probed) if not isinstance(r, str)]
        if not good:
            return np.empty((0, 3, 1, 1), dtype=np.uint8), [], [(names[i], r) for i, r in bad]
        side = decode.target_side([probed[i][:2] for i in good], image_size)  # type: ignore[index]
        grey = all(probed[i][2] for i in good)  # type: ignore[index]
        row = (1 if grey else 3) * side * side
        with open(out, "wb") as f:
            f.truncate(len(good) * row)
        failed = decode_into(pool, [paths[i] for i in good], out, side, grey, progress, desc)
    finally:
        pool.close()
    bad += [(good[j], r) for j, r in enumerate(failed) if r is not None]
    kept = [j for j, r in enumerate(failed) if r is None]
    if len(kept) < len(good):
        compact(out, kept, row)
    shape = (len(kept), 1 if grey else 3, side, side)
    images = np.memmap(out, dtype=np.uint8, mode="r", shape=shape) if kept else np.empty(shape, np.uint8)
    return images, [good[j] for j in kept], [(names[i], r) for i, r in sorted(bad)]
