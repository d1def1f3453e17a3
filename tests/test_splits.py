import numpy as np
import pytest

from lsw.errors import LswError
from lsw.splits import make_split

LABELS = np.repeat(np.arange(5), 40)


def test_fraction_per_class_and_seeded():
    s = make_split(LABELS, 5, clean_frac=0.1, seed=1, val_frac=0)
    assert np.array_equal(np.bincount(LABELS[s.clean]), [4] * 5)
    assert len(np.intersect1d(s.clean, s.noisy)) == 0 and len(s.clean) + len(s.noisy) == 200
    assert np.array_equal(s.clean, make_split(LABELS, 5, clean_frac=0.1, seed=1, val_frac=0).clean)
    assert not np.array_equal(s.clean, make_split(LABELS, 5, clean_frac=0.1, seed=2, val_frac=0).clean)


def test_n_per_class_and_trusted():
    s = make_split(LABELS, 5, clean_per_class=3)
    assert np.array_equal(np.bincount(LABELS[s.clean]), [3] * 5)
    trusted = np.zeros(200, bool)
    trusted[::40] = True
    s = make_split(LABELS, 5, trusted=trusted)
    assert np.array_equal(s.clean, np.flatnonzero(trusted)) and len(s.val) == 0  # 1 per class: none to spare


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


def test_validation_set_is_a_fifth_of_the_trusted_set_at_least_two_per_class():
    s = make_split(LABELS, 5, clean_per_class=10, seed=3)
    assert np.array_equal(np.bincount(LABELS[s.val]), [2] * 5)
    assert np.array_equal(np.bincount(LABELS[s.clean]), [8] * 5)
    assert len(np.intersect1d(s.val, s.clean)) == 0 and len(np.intersect1d(s.val, s.noisy)) == 0
    assert len(s.val) + len(s.clean) + len(s.noisy) == len(LABELS)
    big = make_split(np.repeat(np.arange(2), 200), 2, clean_per_class=50, seed=0)
    assert np.array_equal(np.bincount(np.repeat(np.arange(2), 200)[big.val]), [10, 10])
    again = make_split(LABELS, 5, clean_per_class=10, seed=3)
    assert np.array_equal(s.val, again.val) and np.array_equal(s.clean, again.clean)


def test_no_validation_set_when_a_class_cannot_spare_it():
    trusted = np.zeros(200, bool)
    for c in range(5):
        trusted[c * 40: c * 40 + (3 if c == 2 else 10)] = True  # class 2 has 3 trusted rows: fewer than 2 x 2
    s = make_split(LABELS, 5, trusted=trusted)
    assert len(s.val) == 0 and np.array_equal(s.clean, np.flatnonzero(trusted))
    assert len(make_split(LABELS, 5, clean_per_class=10, val_frac=0).val) == 0
