"""The trust score's memory: the model's probability of the given label, averaged over the second half
of training.

One epoch's probability is a noisy reading: late in a run, as the learning rate decays to 0, the network
starts to fit the labels it had resisted, and a wrong label's probability climbs. Averaging the readings
of the epochs after the midpoint (epoch > epochs // 2; before that the current epoch's reading stands)
keeps what the model believed while it was still generalising. Measured on the run folders' per-epoch
losses (`python bench/trust_average.py RUN...`; numbers in the README's Results section), AUC by
last-epoch trust -> averaged trust: CIFAR-10 instance 0.4 on a GPU (ResNet-18, 30 epochs) 0.9696 ->
0.9786 (F1 at 0.3: 0.8978 -> 0.9073); the 1,500-photo CIFAR-10 folder (smallcnn, 20 epochs, 3 seeds)
0.8274 / 0.8306 / 0.8444 -> 0.8342 / 0.8356 / 0.8521.
"""
from __future__ import annotations

import numpy as np


class TrustAverage:
    """Running mean of exp(-loss) over D^n across the epochs after the midpoint of `epochs`."""

    def __init__(self, n: int, epochs: int) -> None:
        self.epochs = epochs
        self.total = np.zeros(n, dtype=np.float64)
        self.count = 0

    def update(self, epoch: int, loss: np.ndarray) -> np.ndarray:
        """Record epoch `epoch`'s (1-based) per-sample eval loss; returns the trust score, float32 (n,)."""
        if epoch > self.epochs // 2:
            self.total += np.exp(-np.asarray(loss, dtype=np.float64))
            self.count += 1
        return self.current(loss)

    def current(self, loss: np.ndarray) -> np.ndarray:
        """The trust score now, float32 (n,): the average once it has begun, else exp(-loss) of the
        latest epoch's loss `loss`."""
        if self.count:
            return (self.total / self.count).astype(np.float32)
        return np.exp(-np.asarray(loss, dtype=np.float64)).astype(np.float32)

    def state_dict(self) -> dict:
        return {"total": self.total.copy(), "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.total = np.asarray(state["total"], dtype=np.float64).copy()
        self.count = int(state["count"])


def stored_trust(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The trust score of one recorded epoch (`lsw.rundir.RunDir.epoch_arrays`); runs recorded before the
    average existed have only the loss, and their trust was exp(-loss)."""
    if "trust" in arrays:
        return np.asarray(arrays["trust"], dtype=np.float32)
    return np.exp(-np.asarray(arrays["loss"], dtype=np.float64)).astype(np.float32)
