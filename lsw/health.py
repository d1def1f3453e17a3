"""Is the model learning? A verdict after every epoch, so nobody reviews flags from a model that failed.

A model that diverged or sits at chance ranks labels at random, and at the trust threshold it flags
nearly everything: the flags then look like an audit and mean nothing. The evidence, in order:

1. the loss on the validation set (else on D^c) is not finite, or above 4 x ln K (a model that
   guesses uniformly scores ln K; a diverged one scores far above it);
2. the accuracy on the validation set (else on D^c) is not clearly above chance (the share of the
   most common class, plus two binomial standard errors on that many samples), judged from the first
   fifth of the planned epochs on (an untrained first epoch may still be at chance);
3. more than 60% of D^n is flagged, more than any plausible noise rate.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

MAX_FLAG_RATE = 0.6
LOSS_FACTOR = 4.0


@dataclass(frozen=True)
class Health:
    """ok: the model is learning. reason: what failed, in one sentence. advice: what to try."""

    ok: bool
    reason: str | None = None
    advice: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Health | None":
        return None if d is None else cls(bool(d["ok"]), d.get("reason"), d.get("advice"))


def chance_accuracy(labels: np.ndarray) -> float:
    """The accuracy of always answering the most common class of `labels` (int, (n,))."""
    labels = np.asarray(labels, dtype=np.int64)
    return float(np.bincount(labels).max() / len(labels)) if len(labels) else 0.0


def above_chance(acc: float, labels: np.ndarray) -> bool:
    """Whether accuracy `acc` on held-out rows with (int, (n,)) `labels` is clearly above chance: above the
    majority class's share plus two binomial standard errors on that many samples. On so few rows that no
    accuracy could clear that margin (4 rows of 2 classes: 50% + 50%), above the majority share at all: else a
    small trusted set would read "at chance" at 100% and its run would never learn weights."""
    chance = chance_accuracy(labels)
    margin = 2.0 * math.sqrt(chance * (1.0 - chance) / max(len(labels), 1))
    return acc > (chance + margin if chance + margin < 1.0 else chance)


def check_health(*, epoch: int, epochs: int, num_classes: int, acc: float, loss: float, labels: np.ndarray,
                 on: str, flag_rate: float, lr: float) -> Health:
    """The verdict after `epoch` (1-based) of `epochs`.

    acc, loss: accuracy and mean cross-entropy on the held-out rows whose (int, (n,)) `labels` they were
        measured on; `on` names those rows for the message ("validation set" or "clean set").
    flag_rate: the flagged share of D^n by the run's flag score, in [0, 1].
    lr: the configured learning rate, for the advice.
    """
    lower = f"a lower learning rate (for example --lr {lr / 10:g} instead of {lr:g})"
    if not math.isfinite(loss) or loss > LOSS_FACTOR * math.log(num_classes):
        return Health(False, f"the model diverged: the {on} loss is {loss:.3g} (chance level is "
                             f"{math.log(num_classes):.2f})", f"try {lower}")
    if epoch >= max(1, math.ceil(0.2 * epochs)) and not above_chance(acc, labels):
        return Health(False, f"the model is at chance: {on} accuracy {acc:.0%} on {len(labels)} samples, "
                             f"chance {chance_accuracy(labels):.0%}",
                      f"try {lower}, more epochs, or a larger trusted set")
    if flag_rate > MAX_FLAG_RATE:
        return Health(False, f"{flag_rate:.0%} of the samples are flagged, more than any plausible share of "
                             "wrong labels: the model cannot tell them apart yet",
                      f"try more epochs, {lower}, or a larger trusted set")
    return Health(True)
