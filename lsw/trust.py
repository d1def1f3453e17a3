"""The trust score: how strongly the model holds to the given label, read on the image and its mirror,
averaged over the second half of training.

One epoch's reading of a sample (`lsw.evaluation.reading`) with logits z (the mean of the image's and its
mirror's, when the source allows flips) and given label y is the mean of two probabilities of y: against
every class, softmax(z)_y, and against its strongest rival alone, sigmoid(z_y - max_{k != y} z_k). Until
2026-12-02 the reading was softmax(z)_y of the image alone (exp(-loss)). Measured with `python
bench/trust_reading.py` (a plainly trained smallcnn, CPU; AUC of the reading averaged over the second half):

| reading | CIFAR-10N random1, 5k subset, seed 0 / 1 | 1,500-photo folder, 20% wrong (seed 0) |
|---|---|---|
| softmax(z)_y, the image alone (until 2026-12-02) | 0.8721 / 0.8854 | 0.8720 |
| softmax(z)_y, image and mirror | 0.8817 / 0.8924 | 0.8752 |
| the rival alone, image and mirror | 0.8889 / 0.8971 | 0.8641 |
| the mean of both, image and mirror (today) | 0.8869 / 0.8970 | 0.8727 |

(the folder's figures: not that script's plain network but the second-pass network of one LSW run, seed 0,
on the folder `python bench/learns.py --cases folder` builds, its logits captured by a one-off script and
read four ways.)
- The mirror is an ensemble of two views of the image for one more forward pass over D^n an epoch; it helped
  every network measured.
- The rival: human labels go wrong between two look-alike classes (cat and dog), and the rival reading
  asks whether the image looks more like one other class than like its label, where softmax(z)_y also
  falls for an image whose probability is spread over many classes, one the model simply finds hard.
  Alone it ranked human noise best and the folder's random wrong folders worst; the mean of both readings
  stays within 0.0025 of the better one on every network measured (3 more on CIFAR-10N: the LSW network
  and the second pass of an LSW run, and an LSW network at eta_alpha 0.1). It also flags closer to the
  number of wrong labels at the 0.3 threshold (CIFAR-10N seed 0, LSW with its second pass: 806 flagged for
  784 wrong, F1 0.620; softmax(z)_y 1,013 and 0.599; the rival 661 and 0.603).

Averaging: late in a run, as the learning rate decays to 0, the network starts to fit the labels it had
resisted and a wrong label's reading climbs; the mean of the readings after the midpoint (epoch > epochs
// 2; before that the current epoch's reading stands) keeps what the model believed while it was still
generalising (CIFAR-10 instance 0.4 on a GPU, ResNet-18, 30 epochs: AUC 0.9696 -> 0.9786).
"""
from __future__ import annotations

import numpy as np


def loss_reading(loss: np.ndarray) -> np.ndarray:
    """The reading of runs and checkpoints written before 2026-12-02: the probability of the given label,
    exp(-loss), float32."""
    return np.exp(-np.asarray(loss, dtype=np.float64)).astype(np.float32)


class TrustAverage:
    """Running mean of the per-epoch readings over D^n across the epochs after the midpoint of `epochs`."""

    def __init__(self, n: int, epochs: int) -> None:
        self.epochs = epochs
        self.total = np.zeros(n, dtype=np.float64)
        self.count = 0
        self.latest = np.ones(n, dtype=np.float32)

    def update(self, epoch: int, value: np.ndarray) -> np.ndarray:
        """Record epoch `epoch`'s (1-based) reading `value` (float (n,)); returns the trust score, float32 (n,)."""
        self.latest = np.asarray(value, dtype=np.float32)
        if epoch > self.epochs // 2:
            self.total += self.latest
            self.count += 1
        return self.current()

    def current(self) -> np.ndarray:
        """The trust score now, float32 (n,): the average once it has begun, else the latest reading."""
        if self.count:
            return (self.total / self.count).astype(np.float32)
        return self.latest.copy()

    def state_dict(self) -> dict:
        return {"total": self.total.copy(), "count": self.count, "latest": self.latest.copy()}

    def load_state_dict(self, state: dict, last_loss: np.ndarray | None = None) -> None:
        """`last_loss`: the latest epoch's loss, for a checkpoint written before the reading was kept (its
        reading was exp(-loss))."""
        self.total = np.asarray(state["total"], dtype=np.float64).copy()
        self.count = int(state["count"])
        if "latest" in state:
            self.latest = np.asarray(state["latest"], dtype=np.float32).copy()
        elif last_loss is not None:
            self.latest = loss_reading(last_loss)


def stored_trust(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The trust score of one recorded epoch (`lsw.rundir.RunDir.epoch_arrays`); runs recorded before the
    average existed have only the loss, and their trust was exp(-loss)."""
    if "trust" in arrays:
        return np.asarray(arrays["trust"], dtype=np.float32)
    return loss_reading(arrays["loss"])
