"""Classifiers. Every model maps uint8-normalised images (N, C, H, W) to logits (N, K) and exposes
`features(x)`, the penultimate representation (for the embedding map), with `head` the last layer.

- `resnet18`, `resnet34`: CIFAR-style ResNets (3x3 stem, no max-pool), as in the paper.
- `fastcnn`: a small, fast conv net in the airbench style (conv-BN-GELU blocks with pooling);
  `smallcnn` the same at a quarter of the widths, the CPU's default.
- `tinynet`: a few-thousand-parameter net for 8x8 and 28x28 grey images (digits, Fashion-MNIST).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lsw.errors import LswError


class Classifier(nn.Module):
    """`features` -> flatten -> `head`; subclasses build `self.body` and `self.head`.

    `feature_scale` multiplies the features before the head. The head's step moves the logits by about
    lr * |h|^2, so wide max-pooled features make it diverge at an ordinary learning rate: fastcnn's
    features have |h|^2 = 853 at initialisation (resnet18 371, tinynet 6), and at lr 0.1 its first
    epoch blew the clean-set loss up to 714. airbench scales its logits by 1/9 for the same reason.
    """

    body: nn.Module
    head: nn.Linear
    feature_scale: float = 1.0

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.flatten(self.body(x), 1)
        return h * self.feature_scale if self.feature_scale != 1.0 else h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(Classifier):
    """CIFAR ResNet (He et al. 2016) with a 3x3 stem and no max-pool; widths 64-128-256-512."""

    def __init__(self, blocks: list[int], in_channels: int, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)]
        cin = 64
        for i, n in enumerate(blocks):
            cout = 64 * 2**i
            for j in range(n):
                layers.append(BasicBlock(cin, cout, 2 if (j == 0 and i > 0) else 1))
                cin = cout
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(512, num_classes)


def conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.GELU()]


class FastCNN(Classifier):
    """airbench-like: a stem conv, then three groups of (conv, pool, BN, GELU, conv, BN, GELU).

    Widths 64/256/256 are airbench94's; a 32x32 input ends at 4x4, then max-pooled to 1x1. Features
    scaled by 1/9 as airbench does (see `Classifier`): |h|^2 falls from 853 to 10.5 at initialisation.
    """

    feature_scale = 1 / 9

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, int, int] = (64, 256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = conv_bn(in_channels, 32)
        cin = 32
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(w), nn.GELU()]
            layers += conv_bn(w, w)
            cin = w
        layers.append(nn.AdaptiveMaxPool2d(1))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes, bias=False)


class TinyNet(Classifier):
    """Two conv blocks and a global pool: about 10k parameters, for 8x8 and 28x28 grey images."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn(in_channels, width), *conv_bn(width, width), nn.MaxPool2d(2),
            *conv_bn(width, 2 * width), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(2 * width, num_classes)


MODELS = {
    "resnet18": lambda c, k: ResNet([2, 2, 2, 2], c, k),
    "resnet34": lambda c, k: ResNet([3, 4, 6, 3], c, k),
    "fastcnn": lambda c, k: FastCNN(c, k),
    "smallcnn": lambda c, k: FastCNN(c, k, widths=(32, 64, 128)),
    "tinynet": lambda c, k: TinyNet(c, k),
}


def default_model(shape: tuple[int, int, int], device: str = "cpu") -> str:
    """The model `auto` picks for images of shape (C, H, W) on `device`: tinynet for small images; else
    fastcnn on a GPU and smallcnn (fastcnn at widths 32/64/128, about 6x fewer operations) on a CPU,
    where fastcnn took 4x longer per step and a 1,500-photo audit would not fit in minutes."""
    _, h, w = shape
    if max(h, w) <= 28:
        return "tinynet"
    return "fastcnn" if str(device).startswith("cuda") else "smallcnn"


def build_model(name: str, shape: tuple[int, int, int], num_classes: int, device: str = "cpu") -> Classifier:
    """A fresh model `name` ("auto" allowed, see `default_model`) for images of shape (C, H, W) and
    `num_classes` classes."""
    if name == "auto":
        name = default_model(shape, device)
    if name not in MODELS:
        raise LswError(f"unknown model '{name}': choose one of auto, {', '.join(MODELS)}")
    return MODELS[name](shape[0], num_classes)
