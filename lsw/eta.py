"""Time left in a training phase, from its progress reports.

The pace of the current epoch's steps, not of the whole phase: LSW's epochs before it learns alpha are
plain steps and cost less than the meta-gradient steps after it, so a phase-wide average underestimates
(a run said 7 min 45 s with 17.5 min left). Each epoch's evaluation (the gap between an epoch's last
step and the next epoch's first report) is measured and added for every epoch still to finish.

While the steps are still plain, the epochs that will learn weights are charged at a measured cost per
step relative to a plain step (`WEIGHT_STEP_COST`): alpha now waits for 100 steps (`RunConfig.start_steps`),
so on a small collection half of the run can be plain steps before the dearer ones begin.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from lsw.config import RunConfig

# A weight-learning step's time over a plain step's, medians of what was measured: the LSW head step 1.06-1.62x
# in the README's step benches (CPU and H200), 1.4-1.5x inside GPU runs, 1.15-1.2x inside a CPU run on the
# 1,500-photo folder; the full step 2.8-4.8x; MW-Net and L2RW on digits 3.6-3.9x and 3.0-3.2x.
WEIGHT_STEP_COST = {("lsw", "head"): 1.3, ("lsw", "full"): 4.3, ("mwnet", None): 3.7, ("l2rw", None): 3.1}


def weight_step_cost(config: RunConfig) -> float:
    """`WEIGHT_STEP_COST` of `config`'s method (1.0 for one that learns no weights)."""
    meta = config.meta if config.method == "lsw" else None
    return WEIGHT_STEP_COST.get((config.method, meta), 1.0)


class TimeLeft:
    """Feed `update(epoch, epochs, step, steps)` after every step (epoch 0-based, step 1-based);
    it returns the estimated seconds left in the phase, or None until one step's pace is known.

    first_dear(steps) -> the first epoch whose steps cost `cost` times the plain steps measured before it
    (`RunConfig.first_weight_epoch`), or None when every epoch costs the same."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 first_dear: Callable[[int], int] | None = None, cost: float = 1.0) -> None:
        self.clock = clock
        self.first_dear, self.cost = first_dear, cost
        self.epoch: int | None = None
        self.epoch_t0 = 0.0  # time of the current epoch's first report
        self.epoch_step0 = 0
        self.last_t = 0.0
        self.last_was_end = False
        self.step_s: float | None = None
        self.pace_epoch = 0  # the epoch whose steps gave step_s
        self.eval_s = 0.0
        self.gap: float | None = None
        self.steps = 1  # steps an epoch, as last reported

    def update(self, epoch: int, epochs: int, step: int, steps: int) -> float | None:
        now = self.clock()
        if epoch != self.epoch:
            if self.epoch is not None and self.last_was_end:
                # the gap holds the evaluation and this epoch's first step, whose pace is known at its second
                self.gap = now - self.last_t
                self.eval_s = max(0.0, self.gap - (self.step_s or 0.0))
            self.epoch, self.epoch_t0, self.epoch_step0 = epoch, now, step
        elif step > self.epoch_step0:
            self.step_s, self.pace_epoch = (now - self.epoch_t0) / (step - self.epoch_step0), epoch
            if self.gap is not None:
                self.eval_s, self.gap = max(0.0, self.gap - self.step_s), None
        self.last_t, self.last_was_end, self.steps = now, step == steps, steps
        if self.step_s is None:
            return None
        steps_left = (steps - step) + steps * (epochs - epoch - 1)
        dear = self.first_dear(steps) if self.first_dear is not None else epochs
        if self.pace_epoch < dear < epochs:  # a plain pace: the dearer steps ahead cost more each
            steps_left += (self.cost - 1.0) * (steps_left if epoch >= dear else steps * (epochs - dear))
        return steps_left * self.step_s + (epochs - epoch) * self.eval_s

    def plain_phase(self, steps: int, evaluations: int) -> float:
        """Seconds a following phase of `steps` plain steps and `evaluations` evaluations like this phase's
        would take, at this phase's plain pace (0.0 until a step's pace is known)."""
        if self.step_s is None:
            return 0.0
        dear = self.first_dear is not None and self.pace_epoch >= self.first_dear(self.steps) and self.cost > 1.0
        return steps * (self.step_s / self.cost if dear else self.step_s) + evaluations * self.eval_s
