"""Time left in a training phase, from its progress reports.

The pace of the current epoch's steps, not of the whole phase: LSW's epochs before `start_epoch` are
plain steps and cost less than the meta-gradient steps after it, so a phase-wide average underestimates
(a run said 7 min 45 s with 17.5 min left). Each epoch's evaluation (the gap between an epoch's last
step and the next epoch's first report) is measured and added for every epoch still to finish.
"""
from __future__ import annotations

import time
from collections.abc import Callable


class TimeLeft:
    """Feed `update(epoch, epochs, step, steps)` after every step (epoch 0-based, step 1-based);
    it returns the estimated seconds left in the phase, or None until one step's pace is known."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.epoch: int | None = None
        self.epoch_t0 = 0.0  # time of the current epoch's first report
        self.epoch_step0 = 0
        self.last_t = 0.0
        self.last_was_end = False
        self.step_s: float | None = None
        self.eval_s = 0.0
        self.gap: float | None = None

    def update(self, epoch: int, epochs: int, step: int, steps: int) -> float | None:
        now = self.clock()
        if epoch != self.epoch:
            if self.epoch is not None and self.last_was_end:
                # the gap holds the evaluation and this epoch's first step, whose pace is known at its second
                self.gap = now - self.last_t
                self.eval_s = max(0.0, self.gap - (self.step_s or 0.0))
            self.epoch, self.epoch_t0, self.epoch_step0 = epoch, now, step
        elif step > self.epoch_step0:
            self.step_s = (now - self.epoch_t0) / (step - self.epoch_step0)
            if self.gap is not None:
                self.eval_s, self.gap = max(0.0, self.gap - self.step_s), None
        self.last_t, self.last_was_end = now, step == steps
        if self.step_s is None:
            return None
        steps_left = (steps - step) + steps * (epochs - epoch - 1)
        return steps_left * self.step_s + (epochs - epoch) * self.eval_s
