"""The training loop's parts shared by every trainer: the model-and-optimiser factory, the learning-rate
schedule, and one epoch. `lsw.train.Trainer` (LSW and its peers), `lsw.retrain.fit` (the final
classifier and the cleanlab folds) and `lsw.research.bench` all build and train through here."""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import torch

from lsw import dist
from lsw.config import RunConfig
from lsw.models import build_model

WARMUP = 0.05  # share of the steps over which the learning rate climbs linearly to its base


class Cancelled(Exception):
    """Raised inside the loop when the cancel flag is set; the last checkpoint stays valid."""


def autocast(device: torch.device):
    """bf16 autocast on CUDA, nothing on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def build_training(config: RunConfig, shape: tuple[int, int, int], num_classes: int, device: torch.device,
                   seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """A fresh `config.model` for images of `shape` (seeded with `seed`; channels_last on CUDA) and its
    optimiser: SGD at `config.lr` with Nesterov momentum `config.momentum` and weight decay."""
    torch.manual_seed(seed)
    model = build_model(config.model, shape, num_classes, str(device)).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model, optimiser(config, model)


def optimiser(config: RunConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD over `model`'s parameters at `config.lr` with Nesterov momentum `config.momentum` and weight decay."""
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay, nesterov=config.momentum > 0)


def lr_schedule(base: float, step: int, total: int) -> float:
    """The learning rate of `step` of `total`: a linear warm-up over the first 5% of the steps (at least
    one), then cosine decay to 0. Without the warm-up, the first full-size steps on freshly initialised
    BatchNorm layers can throw a network far off (He et al. warm ResNet-110 up for the same reason)."""
    warm = max(1, round(WARMUP * total))
    if step < warm:
        return base * (step + 1) / warm
    return base * 0.5 * (1.0 + math.cos(math.pi * min(step - warm, total - warm) / max(total - warm, 1)))


def steps_per_epoch(n: int, batch_size: int) -> int:
    """The steps of an epoch over n samples: ceil(n / batch_size), at least one."""
    return max(1, math.ceil(n / batch_size))


def epoch_batches(n: int, batch_size: int, gen: torch.Generator, device: torch.device) -> tuple[torch.Tensor, ...]:
    """A fresh permutation of range(n) drawn from `gen`, cut into `steps_per_epoch` near-equal parts."""
    return torch.tensor_split(torch.randperm(n, generator=gen).to(device), steps_per_epoch(n, batch_size))


def run_epoch(optimizer: torch.optim.Optimizer, batches: Sequence[torch.Tensor],
              step: Callable[[torch.Tensor, float], torch.Tensor], lr_at: Callable[[int], float],
              device: torch.device, cancel: threading.Event | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> float:
    """One epoch: for batch i (the positions of its rows), set the learning rate to lr_at(i) and take
    step(positions, lr) under autocast. The cancel flag is checked before every step; on_progress(i + 1,
    steps) after it. Returns the mean of the steps' losses (the epoch's one host sync). Data-parallel
    (`lsw.dist`): every process stops at the same step, and the losses are summed over the processes."""
    loss_sum = torch.zeros((), device=device)
    for i, positions in enumerate(batches):
        if cancel is not None and dist.any_set(cancel):
            raise Cancelled()
        lr = lr_at(i)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(device):
            loss_sum += step(positions, lr)
        if on_progress is not None:
            on_progress(i + 1, len(batches))
    return float(dist.all_sum(loss_sum)) / len(batches)
