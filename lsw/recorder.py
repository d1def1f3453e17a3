"""Writes a run's folder (`lsw.rundir`) from the trainer's epoch events: the header before the first
epoch, then per epoch the arrays, the metrics line with its pre-binned histograms, and the features."""
from __future__ import annotations

import numpy as np

from lsw.config import RunConfig
from lsw.events import EpochEvent
from lsw.histograms import epoch_histograms, groups_for
from lsw.prepare import Problem
from lsw.rundir import RunDir
from lsw.scoring import flag_score, run_score, score_name


class RunRecorder:
    """An epoch-event observer that records into `run`. Call `start(device)` for a new run, or
    `resume_from(epoch)` to forget what a crashed process wrote after its last checkpoint."""

    def __init__(self, run: RunDir, config: RunConfig, problem: Problem) -> None:
        self.run, self.config, self.problem = run, config, problem
        self.name = score_name(config.method)

    def start(self, device: str, world_size: int = 1) -> None:
        """The run's config and samples: what the run is about, before the first epoch. `world_size`: the
        number of processes that train it (`lsw.dist`)."""
        p, src = self.problem, self.problem.source
        self.run.forget_results()  # a run overwritten here (--force, compare again) leaves nothing behind
        self.run.write_config({**self.config.to_dict(), "source": src.name, "fingerprint": src.fingerprint,
                               "device": device, "world_size": world_size, "noise_rate": p.noise_rate,
                               "classes": src.train.classes,
                               "clean_set": p.clean_origin, "unverified": p.unverified})
        self.run.write_trusted(p.trusted_set)
        arrays = dict(noisy_index=p.split.noisy, clean_index=p.split.clean, val_index=p.split.val, labels=p.labels,
                      given_labels=p.given_labels, source_labels=src.train.labels,
                      ids=np.array(src.train.ids, dtype=str), classes=np.array(src.train.classes, dtype=str))
        if p.true_labels is not None:
            arrays["true_labels"] = p.true_labels
        self.run.write_samples(**arrays)

    def resume_from(self, epoch: int) -> None:
        self.run.truncate_to(epoch)

    def __call__(self, event: EpochEvent) -> None:
        cfg = self.config
        score = flag_score(run_score(cfg.to_dict()), event.method_score, event.trust)
        groups = groups_for(score, cfg.threshold, self.problem.is_noisy)
        hist = epoch_histograms(self.name, event.method_score, event.loss, groups, trust=event.trust)
        self.run.write_epoch(event.epoch, event.scalars(), hist, **{self.name: event.method_score}, loss=event.loss,
                             trust=event.trust, pred=event.pred, prob=event.prob, **event.sets)
        if event.features is not None:
            self.run.write_features(event.epoch, event.feature_positions, event.features)
