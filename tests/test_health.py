"""The health verdict (`lsw.health`): each failure it names, and a healthy model passing."""
import math

import numpy as np

from lsw.health import above_chance, check_health

LABELS = np.repeat(np.arange(10), 2)  # a validation set of 2 per class: chance 10%
OK = dict(epoch=5, epochs=10, num_classes=10, acc=0.8, loss=0.7, labels=LABELS, on="validation set",
          flag_rate=0.2, lr=0.1)


def test_healthy_model_passes():
    h = check_health(**OK)
    assert h.ok and h.reason is None


def test_diverged_loss():
    for loss in (math.nan, math.inf, 714.0):
        h = check_health(**{**OK, "loss": loss})
        assert not h.ok and "diverged" in h.reason and "--lr 0.01" in h.advice
    assert check_health(**{**OK, "loss": 4.0 * math.log(10) - 0.01}).ok


def test_chance_accuracy_with_a_margin_for_small_sets():
    # chance 10%, 20 samples: two standard errors add 13.4 points
    assert not check_health(**{**OK, "acc": 0.2}).ok
    assert "at chance" in check_health(**{**OK, "acc": 0.2}).reason
    assert check_health(**{**OK, "acc": 0.25}).ok
    # the first fifth of the epochs may still be at chance
    assert check_health(**{**OK, "acc": 0.1, "epoch": 1}).ok
    assert not check_health(**{**OK, "acc": 0.1, "epoch": 2}).ok
    # chance is the majority class's share
    skewed = np.array([0] * 18 + [1] * 2)
    assert not check_health(**{**OK, "labels": skewed, "acc": 0.9, "num_classes": 2}).ok


def test_a_held_out_set_too_small_for_the_margin_is_judged_against_chance_alone():
    # 4 rows of 2 classes: 50% + two standard errors is 100%, which no accuracy exceeds
    four = np.array([0, 0, 1, 1])
    assert above_chance(1.0, four) and above_chance(0.75, four) and not above_chance(0.5, four)
    assert check_health(**{**OK, "labels": four, "acc": 1.0, "num_classes": 2}).ok
    assert not check_health(**{**OK, "labels": four, "acc": 0.5, "num_classes": 2}).ok
    # 20 rows of 10 classes keep the margin (10% + 13.4 points)
    assert not above_chance(0.2, np.arange(20) % 10)


def test_flag_rate_above_any_plausible_noise_rate():
    h = check_health(**{**OK, "flag_rate": 0.99})
    assert not h.ok and "99%" in h.reason
    assert check_health(**{**OK, "flag_rate": 0.6}).ok
