import numpy as np
import pytest

from lsw.errors import LswError
from lsw.splits import make_split

LABELS = np.repeat(np.arange(5), 40)


def test_fraction_per_class_and_seeded():
    s = make_split(LABELS, 5, clean_frac=0.1, seed=1)
    assert np.array_equal(np.bincount(LABELS[s.clean]), [4] * 5)
    assert len(np.intersect1d(s.clean, s.noisy)) == 0 and len(s.clean) + len(s.noisy) == 200
    assert np.array_equal(s.clean, make_split(LABELS, 5, clean_frac=0.1, seed=1).clean)
    assert not np.array_equal(s.clean, make_split(LABELS, 5, clean_frac=0.1, seed=2).clean)


def test_n_per_class_and_trusted():
    s = make_split(LABELS, 5, clean_per_class=3)
    assert np.array_equal(np.bincount(LABELS[s.clean]), [3] * 5)
    trusted = np.zeros(200, bool)
    trusted[::40] = True
    s = make_split(LABELS, 5, trusted=trusted)
    assert np.array_equal(s.clean, np.flatnonzero(trusted))


def test_errors():
    with pytest.raises(LswError, match="between 0 and 1"):
        make_split(LABELS, 5, clean_frac=1.5)
    with pytest.raises(LswError, match="too few"):
        make_split(LABELS, 5, clean_per_class=40)
    with pytest.raises(LswError, match="smaller than the noisy set"):
        make_split(LABELS, 5, clean_frac=0.6)
    trusted = np.zeros(200, bool)
    trusted[:3] = True
    with pytest.raises(LswError, match=r"\[1, 2, 3, 4\]"):
        make_split(LABELS, 5, trusted=trusted)
