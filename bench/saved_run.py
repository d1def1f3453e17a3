"""A finished run opened again on the CPU, for the benches that re-read or retrain part of it."""
import dataclasses
import sys

import numpy as np
import torch

from lsw.config import RunConfig
from lsw.device_data import DeviceImages
from lsw.prepare import Problem, prepare
from lsw.rundir import RunDir


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
