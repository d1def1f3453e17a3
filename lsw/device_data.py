"""A whole image set kept on the device as uint8, batched and augmented there (airbench style)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


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
        self.device = device
        self.x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        if like is not None:
            self.mean, self.std = like.mean, like.std
        else:
            flat = self.x.float().div_(255).transpose(0, 1).reshape(self.x.shape[1], -1)
            self.mean = flat.mean(1).view(1, -1, 1, 1)
            self.std = flat.std(1).clamp_min(1e-3).view(1, -1, 1, 1)
        self.hflip = hflip
        self.pad = max(1, self.x.shape[-1] // 8)
        self.channels_last = device.type == "cuda"

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, index: torch.Tensor, augment: bool = False) -> torch.Tensor:
        """Images `index` (int64 on the device) as float32 (n, C, H, W), normalised per channel."""
        x = self.x[index].float().div_(255)
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
