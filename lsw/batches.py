"""Where training batches come from: the device-resident set, or batches streamed from the disk cache.

`DeviceImages` (`lsw.device_data`) copies the whole uint8 set onto the device once and gathers each
batch there: the fastest path, taken whenever the set fits the device's budget. The budget is 40% of
a GPU's memory (the model, its activations in bf16 and the optimiser get the rest: a ResNet-18 at batch
512 needs about 5 GB) and 2 GiB of RAM on the CPU (so RAM stays flat however large the set is; the
memory-mapped cache in the page cache is the kernel's to evict). $LSW_DATA_BUDGET_MB overrides both.

Otherwise `StreamImages` reads each batch's rows from the memory-mapped decode cache. The training
loop tells it the order of the epoch's batches in advance (`prefetch`); a background thread reads the
next `AHEAD` batches into pinned host memory while the device works, and the copy to the device does
not block. Everything after the read (normalisation, crop and flip, their random draws) is
`DeviceImages`'s own code on the same rows in the same order, so both paths give the same result.
"""
from __future__ import annotations

import os
import queue
import threading

import numpy as np
import torch

from lsw.device_data import DeviceImages

AHEAD = 4  # batches read ahead: enough to cover a slow read, few enough to bound the pinned memory
GPU_SHARE, CPU_BUDGET = 0.4, 2 << 30


def budget_bytes(device: torch.device) -> int:
    """Bytes of images the device may hold resident (see the module docstring)."""
    env = os.environ.get("LSW_DATA_BUDGET_MB", "").strip()
    if env:
        return int(float(env) * (1 << 20))
    if device.type == "cuda":
        return int(GPU_SHARE * torch.cuda.get_device_properties(device).total_memory)
    return CPU_BUDGET


def make_images(images: np.ndarray, device: torch.device, hflip: bool = True, path: str = "auto",
                like: DeviceImages | None = None) -> DeviceImages:
    """The training set's batch source: resident when `path` is "resident", or "auto" and `images`
    (uint8 (N, C, H, W), in memory or memory-mapped) fits `budget_bytes`; else streamed."""
    if path == "resident" or (path == "auto" and images.nbytes <= budget_bytes(device)):
        return DeviceImages(images, device, hflip=hflip, like=like)
    return StreamImages(images, device, hflip=hflip, like=like)


class StreamImages(DeviceImages):
    """uint8 images (N, C, H, W) read batch by batch from a (memory-mapped) array; see the module docstring."""

    def __init__(self, images: np.ndarray, device: torch.device, hflip: bool = True,
                 like: DeviceImages | None = None) -> None:
        self.images = images
        self.pin = device.type == "cuda"
        self._ahead: queue.Queue | None = None
        self._expect: list[np.ndarray] = []
        self._stop = threading.Event()
        self.read_ahead = 0  # batches served from the prefetch (the rest were read when asked for)
        self._setup(images, device, hflip, like)

    def read(self, rows: np.ndarray) -> torch.Tensor:
        """uint8 (n, C, H, W) host tensor (pinned on CUDA) of `rows`, read in increasing order (the
        disk's order), placed back in the asked order."""
        order = np.argsort(rows, kind="stable")
        out = torch.empty((len(rows), *self.shape[1:]), dtype=torch.uint8, pin_memory=self.pin)
        out.numpy()[order] = self.images[rows[order]]
        return out

    def prefetch(self, order: list[torch.Tensor]) -> None:
        """Start reading the batches `order` (row indices, in the order `batch` will ask for them)."""
        self.close()
        rows = [o.cpu().numpy() for o in order]
        self._expect, self._stop = list(rows), threading.Event()
        self._ahead = queue.Queue(maxsize=AHEAD)
        threading.Thread(target=self._reader, args=(rows, self._ahead, self._stop), daemon=True,
                         name="lsw-prefetch").start()

    def _reader(self, rows: list[np.ndarray], out: queue.Queue, stop: threading.Event) -> None:
        for r in rows:
            try:
                item: torch.Tensor | BaseException = self.read(r)
            except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
                item = e
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return

    def close(self) -> None:
        """Stop the reader of an unfinished prefetch (a cancelled epoch)."""
        self._stop.set()
        self._ahead, self._expect = None, []

    def take(self, index: torch.Tensor) -> torch.Tensor:
        rows = index.cpu().numpy()
        host = None
        if self._ahead is not None and self._expect and np.array_equal(self._expect[0], rows):
            self._expect.pop(0)
            host = self._ahead.get()
            if isinstance(host, BaseException):
                raise host
            self.read_ahead += 1
        if host is None:
            host = self.read(rows)
        return host.to(self.device, non_blocking=self.pin)
