"""The `Source` record: a loaded data set and its content fingerprint."""
from __future__ import annotations

from dataclasses import dataclass

from lsw.images import LabeledImages


@dataclass
class Source:
    """name: the spec it came from; train / test: the splits (test None when the source has none);
    fingerprint: a hash of the source's content, used to key the decode cache and review decisions."""

    name: str
    train: LabeledImages
    test: LabeledImages | None
    fingerprint: str
