"""Detection metrics equal scikit-learn's; splits and histograms behave."""
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from lsw.histograms import epoch_histograms, groups_for
from lsw.metrics import accuracy, detection_at_count, detection_metrics, roc_auc


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 300), st.booleans())
def test_matches_sklearn(seed, n, ties):
    rng = np.random.default_rng(seed)
    is_noisy = rng.random(n) < rng.uniform(0.05, 0.95)
    alpha = rng.random(n)
    if ties:
        alpha = np.round(alpha, 1)
    d = detection_metrics(is_noisy, alpha, 0.3)
    flagged = alpha < 0.3
    if is_noisy.all() or not is_noisy.any():
        assert d["auc"] is None
    else:
        assert abs(d["auc"] - roc_auc_score(is_noisy, 1 - alpha)) < 1e-12
    assert abs(d["precision"] - precision_score(is_noisy, flagged, zero_division=0)) < 1e-12
    assert abs(d["recall"] - recall_score(is_noisy, flagged, zero_division=0)) < 1e-12
    assert abs(d["f1"] - f1_score(is_noisy, flagged, zero_division=0)) < 1e-12
    if flagged.any():
        assert abs(d["fdr"] - (1 - d["precision"])) < 1e-12


def test_edge_cases():
    assert roc_auc(np.array([True, True]), np.array([0.1, 0.2])) is None
    d = detection_metrics(np.array([True, False]), np.array([0.9, 0.9]))
    assert d["f1"] == 0 and d["fdr"] == 0 and d["recall"] == 0 and d["n_flagged"] == 0
    assert accuracy(np.array([1, 2, 3]), np.array([1, 2, 0])) == 2 / 3


def test_detection_at_count_flags_highest_scores():
    is_noisy = np.array([1, 1, 0, 0, 0], bool)
    d = detection_at_count(is_noisy, np.array([0.9, 0.8, 0.1, 0.2, 0.3]), 2)
    assert d["f1"] == 1.0 and d["n_flagged"] == 2 and d["auc"] == 1.0


def test_histograms_count_every_sample_per_group():
    rng = np.random.default_rng(0)
    alpha, loss = rng.random(500), rng.exponential(1, 500)
    loss[0] = np.inf
    is_noisy = rng.random(500) < 0.3
    h = epoch_histograms("alpha", alpha, loss, groups_for(alpha, 0.3, is_noisy))
    for key in ("alpha", "loss"):
        assert sum(h[key]["counts"]["noisy"]) == is_noisy.sum()
        assert sum(h[key]["counts"]["clean"]) == (~is_noisy).sum()
        assert len(h[key]["edges"]) == 51
    assert set(groups_for(alpha, 0.3, None)) == {"kept", "flagged"}
    json.dumps(h)
