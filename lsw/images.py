"""`LabeledImages`: the one in-memory form every data source produces."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LabeledImages:
    """A labeled image set held in memory.

    Attributes:
        images: uint8 array (N, C, H, W); C is 1 (grey) or 3 (RGB).
        labels: int64 array (N,), the given (possibly wrong) label, in [0, len(classes)).
        classes: class names; label k means classes[k].
        ids: N stable sample ids (str): the file path for files, else "name:index".
        true_labels: optional int64 (N,), the known correct labels (evaluation only).
        trusted: optional bool (N,), rows the user marks as correctly labeled (the clean set).
        hflip: whether a horizontal flip keeps an image's class (False for digits).
        skipped: (path, reason) for every input that was skipped while loading.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    ids: list[str]
    true_labels: np.ndarray | None = None
    trusted: np.ndarray | None = None
    hflip: bool = True
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} {self.images.shape}")
        if len(self.images) != n or len(self.ids) != n:
            raise ValueError(f"images ({len(self.images)}), labels ({n}) and ids ({len(self.ids)}) differ in length")
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.true_labels is not None:
            self.true_labels = np.asarray(self.true_labels, dtype=np.int64)
        if self.trusted is not None:
            self.trusted = np.asarray(self.trusted, dtype=bool)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, index: np.ndarray) -> "LabeledImages":
        """The rows `index` (int array) as a new LabeledImages (arrays are copied)."""
        index = np.asarray(index, dtype=np.int64)
        return LabeledImages(
            images=self.images[index],
            labels=self.labels[index],
            classes=list(self.classes),
            ids=[self.ids[i] for i in index],
            true_labels=None if self.true_labels is None else self.true_labels[index],
            trusted=None if self.trusted is None else self.trusted[index],
            hflip=self.hflip,
            skipped=list(self.skipped),
        )
