"""A finished run opened again on the CPU, for the benches that re-read or retrain part of it."""
import dataclasses
import sys

import numpy as np
import torch

from lsw.config import RunConfig
from lsw.device_data import DeviceImages
from lsw.prepare import Problem, prepare
from lsw.rundir import RunDir
from lsw.trust import stored_trust


def open_run(path: str) -> tuple[RunDir, RunConfig, Problem, DeviceImages]:
    """The run folder at `path`, its config on the CPU, its problem prepared again from that config and its train
    images on the CPU. Exits when the split prepared is not the run's own (its figures would be another split's)."""
    run = RunDir(path)
    cfg = dataclasses.replace(RunConfig.from_dict(run.config()), device="cpu")
    problem = prepare(cfg, progress=False)
    if not np.array_equal(run.samples(ids=False)["noisy_index"], problem.split.noisy):
        sys.exit(f"{run.path}: the split prepared from its config is not the run's own")
    train = problem.source.train
    return run, cfg, problem, DeviceImages(train.images, torch.device("cpu"), hflip=train.hflip)


def finished_trust(run: RunDir, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, bool]:
    """float64 (n_noisy,) each: the first network's trust after its last epoch and the run's final trust (the
    second pass's when the run had one, else the same), and whether it had one. Read from the epoch folders, not
    the stacks, so a run folder that lists an overwritten run's epochs too is read right. Exits when the run did
    not finish."""
    epochs = run.epochs()
    if not epochs or epochs[-1] not in (cfg.epochs, cfg.epochs + 1):
        sys.exit(f"{run.path}: its last epoch is {epochs[-1] if epochs else None} of {cfg.epochs}: not a finished run")
    first = stored_trust(run.epoch_arrays(cfg.epochs)).astype(np.float64)
    return first, stored_trust(run.epoch_arrays(epochs[-1])).astype(np.float64), epochs[-1] == cfg.epochs + 1
