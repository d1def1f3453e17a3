"""A whole image set kept on the device as uint8, batched and augmented there (airbench style).

`lsw.batches.StreamImages` is the same interface for sets too large for the device: it reads each
batch's rows from the memory-mapped decode cache instead (`take`), and shares everything else."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def channel_stats(images: np.ndarray, chunk: int = 1024) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation (unbiased) of uint8 (N, C, H, W) images in [0, 1],
    summed in float64 by chunks, so a memory-mapped set of any size is read once in bounded memory."""
    c = images.shape[1]
    total, total_sq, count = np.zeros(c), np.zeros(c), 0
    for s in range(0, len(images), chunk):
        x = np.asarray(images[s:s + chunk], dtype=np.float64) / 255.0
        total += x.sum(axis=(0, 2, 3))
        total_sq += np.square(x).sum(axis=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / max(count, 1)
    var = (total_sq - count * mean ** 2) / max(count - 1, 1)
    return mean.tolist(), np.sqrt(np.maximum(var, 0.0)).tolist()


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` = CUDA when present, else CPU; anything else is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class DeviceImages:
    """uint8 images (N, C, H, W) on `device`; `batch` returns normalised float batches.

    Augmentation is the paper's: a random crop of the image padded by H/8 pixels (reflect; 4 for
    CIFAR's 32x32) and, when `hflip`, a horizontal flip with probability 1/2.
    """

    def __init__(self, images: np.ndarray, device: torch.device, hflip: bool = True,
                 like: DeviceImages | None = None) -> None:
        """`like`: take the normalisation of another set (a test split uses its train set's)."""
        self.x = torch.empty(images.shape, dtype=torch.uint8, device=device)
        for s in range(0, len(images), 8192):  # by chunks: a memory-mapped set never sits in RAM twice
            self.x[s:s + 8192] = torch.from_numpy(np.array(images[s:s + 8192]))
        self._setup(images, device, hflip, like)

    def _setup(self, images: np.ndarray, device: torch.device, hflip: bool, like: DeviceImages | None) -> None:
        self.device = device
        if like is not None:
            self.mean, self.std = like.mean, like.std
        else:
            mean, std = channel_stats(images)
            self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            self.std = torch.tensor(std, dtype=torch.float32, device=device).clamp_min(1e-3).view(1, -1, 1, 1)
        self.hflip = hflip
        self.pad = max(1, images.shape[-1] // 8)
        self.channels_last = device.type == "cuda"
        self.shape = tuple(images.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def prefetch(self, order: list[torch.Tensor]) -> None:
        """The rows the next `batch` calls will ask for, in order (used by streaming; nothing to do here)."""

    def close(self) -> None:
        """Stop reading ahead (streaming; nothing to do here)."""

    def take(self, index: torch.Tensor) -> torch.Tensor:
        """uint8 (n, C, H, W) rows `index` on the device."""
        return self.x[index]

    def batch(self, index: torch.Tensor, augment: bool = False) -> torch.Tensor:
        """Images `index` (int64 on the device) as float32 (n, C, H, W), normalised per channel."""
        x = self.take(index).float().div_(255)
        if augment:
            x = self._crop(x)
            if self.hflip:
                flip = torch.rand(len(x), device=x.device) < 0.5
                x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _crop(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        p = self.pad
        padded = F.pad(x, (p, p, p, p), mode="reflect")
        dy = torch.randint(0, 2 * p + 1, (n,), device=x.device)
        dx = torch.randint(0, 2 * p + 1, (n,), device=x.device)
        rows = (torch.arange(h, device=x.device) + dy[:, None]).view(n, 1, h, 1)
        cols = (torch.arange(w, device=x.device) + dx[:, None]).view(n, 1, 1, w)
        batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
        chan = torch.arange(c, device=x.device).view(1, c, 1, 1)
        return padded[batch, chan, rows, cols]
