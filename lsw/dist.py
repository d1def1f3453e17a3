"""Data-parallel training across the processes torchrun starts: the one module that talks to torch.distributed.

`torchrun --nproc-per-node N -m lsw run ...` sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous
address in each process's environment; `start` joins the group they describe (nccl for CUDA tensors,
each process on cuda:LOCAL_RANK, `local_device`; gloo for CPU tensors). Every helper below is the
identity in a single process (and after `finish`), so a single-process run computes exactly what it
computed before this module existed.

How a step is shared (see `lsw.train.Trainer.train_epoch`): every process draws the same permutation
and the same clean batch from the same seeded generator and takes its contiguous `part` of each; the
losses are normalised by the global sum of alpha (`all_sum`), and the gradients are summed over the
processes before anyone uses them, so the model steps as a single process over the global batch would
(BatchNorm aside: each process normalises its part with that part's statistics, as DDP does; the
running statistics are averaged at the end of every epoch, `average_buffers`).

Why an explicit all-reduce and not DistributedDataParallel: the LSW steps take their gradients with
`torch.autograd.grad` (the head meta-gradient needs the global gradient of the last layer before the
optimiser step; the full one evaluates the model functionally at the virtual step), and DDP reduces
only what `.backward()` accumulates on the wrapped module. One all-reduce of the flattened gradients
per step (`all_sum_each`) does what DDP's buckets would, at the point the step needs the sum.

Messages that are not tensors of the step (the cancel flag, the checkpoint, the config, counts) go over
a gloo group on the host, so they never wait for the GPU. A collective that fails (a process died) or
waits longer than $LSW_DIST_TIMEOUT_S seconds (default 600) raises `PeerLost`: one line, and the run stops.
"""
from __future__ import annotations

import os
import re
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator, TypeVar

import numpy as np
import torch
import torch.distributed as tdist

from lsw.errors import LswError

T = TypeVar("T")
TIMEOUT = timedelta(seconds=float(os.environ.get("LSW_DIST_TIMEOUT_S", "600")))
PREPARE_TIMEOUT = timedelta(hours=12)  # decoding a million photos on the first process takes about an hour
_host: tdist.ProcessGroup | None = None  # the gloo group for host-side messages


class PeerLost(LswError):
    """A collective failed or timed out: another process of the run stopped."""


def world_size() -> int:
    """The number of processes of the run (torchrun's WORLD_SIZE; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank (0 without torchrun); known before `start` and after `finish`."""
    return int(os.environ.get("RANK", "0")) if world_size() > 1 else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if world_size() > 1 else 0


def is_main() -> bool:
    """Whether this process writes the run folder (rank 0; the only process without torchrun)."""
    return rank() == 0


def active() -> bool:
    """Whether the process group is up: the step helpers split and sum only then."""
    return _host is not None


def start() -> None:
    """Join the group torchrun describes (nothing in a single process, or when already joined)."""
    global _host
    if world_size() == 1 or _host is not None:
        return
    tdist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo", timeout=TIMEOUT)
    _host = tdist.new_group(backend="gloo", timeout=TIMEOUT)


def local_device(device: torch.device) -> torch.device:
    """This process's device: cuda:LOCAL_RANK for a CUDA `device` in a data-parallel run, else `device`."""
    if world_size() == 1 or device.type != "cuda":
        return device
    if local_rank() >= torch.cuda.device_count():
        raise LswError(f"process {rank()} wants GPU {local_rank()} but this machine has "
                       f"{torch.cuda.device_count()}: start at most that many processes per machine")
    device = torch.device("cuda", local_rank())
    torch.cuda.set_device(device)
    return device


def finish() -> None:
    """Leave the group: from here on this process works alone (rank 0 writes the summary and retrains)."""
    global _host
    if _host is not None:
        _host = None
        tdist.destroy_process_group()


@contextmanager
def _collective(what: str) -> Iterator[None]:
    try:
        yield
    except RuntimeError as e:  # torch.distributed.DistBackendError and gloo's own errors
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        reason = re.sub(r"^\[[^\]]*\]\s*", "", first).split(". ")[0][:160]  # gloo's "[file.cc:545] " goes
        raise PeerLost(f"process {rank()} of {world_size()}: {what} failed, so another process of this run "
                       f"stopped or hung ({reason}); every process stops. Resume with the same torchrun command "
                       "and --resume") from e


# -- the step's tensors ------------------------------------------------------------------------
def all_sum(t: torch.Tensor) -> torch.Tensor:
    """The sum of `t` over the processes (a new tensor; `t` itself in a single process)."""
    if not active():
        return t
    t = t.clone()
    with _collective("summing a tensor"):
        tdist.all_reduce(t)
    return t


def all_sum_each(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each tensor summed over the processes, in one all-reduce of their concatenation (same dtype)."""
    if not active():
        return tensors
    flat = all_sum(torch.cat([t.reshape(-1) for t in tensors.values()]))
    parts = flat.split([t.numel() for t in tensors.values()])
    return {k: p.view_as(t) for (k, t), p in zip(tensors.items(), parts)}


def sum_grads(params: list[torch.nn.Parameter]) -> None:
    """Replace each parameter's .grad by its sum over the processes (after a `.backward()`)."""
    if active():
        summed = all_sum_each({str(i): p.grad for i, p in enumerate(params)})
        for i, p in enumerate(params):
            p.grad = summed[str(i)]


def count(n: int) -> int:
    """The sum of the integer `n` over the processes (on the host: no GPU wait)."""
    if not active():
        return n
    t = torch.tensor([n], dtype=torch.int64)
    with _collective("counting rows"):
        tdist.all_reduce(t, group=_host)
    return int(t)


def mean(t: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """t.mean(dim) over the rows of every process (dim None: over every element); not differentiable."""
    if not active():
        return t.mean() if dim is None else t.mean(dim)
    n = t.numel() if dim is None else t.shape[dim]
    return all_sum(t.sum() if dim is None else t.sum(dim)) / count(n)


def mean_share(losses: torch.Tensor) -> torch.Tensor:
    """losses.mean() in a single process; else this process's share of the mean over every process's rows,
    sum(losses) / (rows of all), whose gradients, summed over the processes, are the global mean's."""
    return losses.mean() if not active() else losses.sum() / count(len(losses))


def part(t: torch.Tensor) -> torch.Tensor:
    """This process's contiguous share of the rows of `t` (all of it in a single process)."""
    return torch.tensor_split(t, world_size())[rank()] if active() else t


def average_buffers(model: torch.nn.Module) -> None:
    """Average the floating-point buffers (BatchNorm's running statistics) over the processes."""
    buffers = {str(i): b for i, b in enumerate(model.buffers()) if b.is_floating_point()}
    if active() and buffers:
        summed = all_sum_each(buffers)
        for k, b in buffers.items():
            b.copy_(summed[k] / world_size())


def merge_rows(values: torch.Tensor, held: torch.Tensor) -> torch.Tensor:
    """Per-row state after an epoch in which every row was held by exactly one process: each row's value
    from the process that held it (`held`: this process's row positions)."""
    if not active():
        return values
    mine = torch.zeros(len(values), dtype=torch.bool, device=values.device)
    mine[held] = True
    return all_sum(torch.where(mine, values, torch.zeros_like(values)))


def gather_rows(fn: Callable[[np.ndarray], torch.Tensor], index: np.ndarray) -> torch.Tensor:
    """fn(index) computed in contiguous shares, one per process, and gathered in order on every process
    (fn(index) itself in a single process, or when there are fewer rows than processes)."""
    if not active() or len(index) < world_size():
        return fn(index)
    shares = np.array_split(index, world_size())
    mine = fn(shares[rank()])
    padded = mine.new_zeros((len(shares[0]), *mine.shape[1:]))  # array_split's first share is the largest
    padded[:len(mine)] = mine
    out = [torch.empty_like(padded) for _ in shares]
    with _collective("gathering the evaluation"):
        tdist.all_gather(out, padded)
    return torch.cat([o[:len(s)] for o, s in zip(out, shares)])


def seed_augmentation(seed: int, epoch: int) -> None:
    """Seed this process's crop-and-flip draws for `epoch` by (seed, epoch, rank): the processes draw
    different augmentations, and a resumed run draws what the uninterrupted one drew."""
    if active():
        torch.manual_seed(int(np.random.SeedSequence([seed, epoch, rank()]).generate_state(1)[0]))


# -- the host's messages -----------------------------------------------------------------------
def any_set(flag: threading.Event) -> bool:
    """Whether `flag` is set in any process: every process stops at the same step."""
    if not active():
        return flag.is_set()
    t = torch.tensor([int(flag.is_set())])
    with _collective("agreeing on a stop"):
        tdist.all_reduce(t, group=_host)
    return bool(t)


def from_main(fn: Callable[[], T]) -> T:
    """fn() run by rank 0 and its result handed to every process; an LswError it raises is raised on every
    process (fn() itself in a single process)."""
    if not active():
        return fn()
    box: list = [None]
    error = None
    if is_main():
        try:
            box[0] = ("ok", fn())
        except LswError as e:
            box[0], error = ("error", str(e)), e
    with _collective("receiving rank 0's state"):
        tdist.broadcast_object_list(box, src=0, group=_host)
    if error is not None:
        raise error
    kind, value = box[0]
    if kind == "error":
        raise LswError(value)
    return value


def each_machine_first(fn: Callable[[], T]) -> T:
    """fn() run first by local rank 0 of every machine, then by its other processes (which then find the
    decode cache it wrote); fn() itself in a single process."""
    if not active():
        return fn()
    if local_rank() == 0:
        out = fn()
    with _collective("waiting for the data to be prepared"):
        tdist.monitored_barrier(group=_host, timeout=PREPARE_TIMEOUT)
    if local_rank() != 0:
        out = fn()
    return out


def stop_on_signals(cancel: threading.Event) -> None:
    """SIGINT and SIGTERM (Ctrl-C, torchrun stopping its workers, the dashboard's cancel) set `cancel`:
    the processes agree at the next step (`any_set`) and stop together, rank 0 leaving status "stopped"."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: cancel.set())
