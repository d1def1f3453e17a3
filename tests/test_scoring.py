"""The flag score: trust (how strongly the model holds to the given label, averaged over the second half of
training) or alpha, used the same way by the summary, retraining and the sample table."""
import json

import numpy as np
import pytest
import torch

from lsw.audit import run_audit
from lsw.config import RunConfig
from lsw.device_data import DeviceImages
from lsw.errors import LswError
from lsw.evaluation import reading, trust_reading
from lsw.metrics import detection_metrics
from lsw.prepare import prepare
from lsw.retrain import training_rows
from lsw.rundir import RunDir
from lsw.samples import sample_table
from lsw.scoring import flag_score, run_score
from lsw.trust import TrustAverage, stored_trust

FAST = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", seed=0, start_steps=0)


def test_flag_score_values():
    alpha = np.array([0.9, 0.1, 0.5], dtype=np.float32)
    trust = np.array([1.0, 0.5, 0.25], dtype=np.float32)
    assert np.array_equal(flag_score("alpha", alpha, trust), alpha)
    assert np.array_equal(flag_score("trust", alpha, trust), trust)
    with pytest.raises(LswError, match="choose one of trust, alpha"):
        flag_score("margin", alpha, trust)


def test_trust_averages_the_second_half_of_training():
    avg = TrustAverage(2, epochs=4)
    readings = [np.array([1.0, 0.1]), np.array([0.5, 1.0]), np.array([1.0, 0.25]), np.array([0.5, 1.0])]
    out = [avg.update(e, r) for e, r in enumerate(readings, 1)]
    np.testing.assert_allclose(out[0], [1.0, 0.1], rtol=1e-6)  # first half: the epoch's own reading
    np.testing.assert_allclose(out[1], [0.5, 1.0], rtol=1e-6)
    np.testing.assert_allclose(out[2], [1.0, 0.25], rtol=1e-6)  # epoch 3 starts the average
    np.testing.assert_allclose(out[3], [0.75, 0.625], rtol=1e-6)
    again = TrustAverage(2, epochs=4)
    again.load_state_dict(TrustAverage(2, 4).state_dict())
    again.update(3, readings[2])
    state = again.state_dict()
    resumed = TrustAverage(2, epochs=4)
    resumed.load_state_dict(state)
    np.testing.assert_allclose(resumed.update(4, readings[3]), out[3], rtol=1e-6)
    early = TrustAverage(2, epochs=4)
    early.update(1, readings[0])
    again = TrustAverage(2, epochs=4)
    again.load_state_dict(early.state_dict())
    np.testing.assert_allclose(again.current(), readings[0], rtol=1e-6)  # before the average: the latest reading
    old = {"total": np.zeros(2), "count": 0}  # a checkpoint written before the reading was kept
    again.load_state_dict(old, last_loss=np.array([0.0, np.log(2)]))
    np.testing.assert_allclose(again.current(), [1.0, 0.5], rtol=1e-6)
    # a run recorded before the average existed: trust was the epoch's exp(-loss)
    np.testing.assert_allclose(stored_trust({"loss": np.array([0.0, np.log(2)])}), [1.0, 0.5], rtol=1e-6)
    assert np.array_equal(stored_trust({"loss": np.zeros(2), "trust": np.array([0.3, 0.4])}), np.float32([0.3, 0.4]))


def test_reading_is_the_mean_of_the_labels_probability_against_all_and_against_the_rival():
    z = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, -1.0], [1.0, 1.0, 1.0]])
    labels = np.array([0, 2, 1])
    softmax = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    against_all = softmax[np.arange(3), labels]
    against_rival = 1 / (1 + np.exp(-np.array([2.0 - 1.0, -1.0 - 3.0, 0.0])))  # the label's logit minus the best other
    got = reading(torch.tensor(z), torch.tensor(labels))
    np.testing.assert_allclose(got, (against_all + against_rival) / 2, rtol=1e-6)
    assert got[2] == pytest.approx((1 / 3 + 1 / 2) / 2)  # three-way tie: 1/3 against all, 1/2 against one rival
    # mass spread over many other classes lowers the first part only: one strong rival lowers both
    spread = reading(torch.tensor([[2.0, 1.0, 1.0, 1.0, 1.0]]), torch.tensor([0]))
    one_rival = reading(torch.tensor([[2.0, 2.0, -9.0, -9.0, -9.0]]), torch.tensor([0]))
    assert spread[0] > one_rival[0]


def test_trust_reading_averages_the_image_and_its_mirror():
    class LeftHalf(torch.nn.Module):  # class 0's logit is the left half's mean, class 1's the right half's
        def forward(self, x):
            w = x.shape[-1] // 2
            return torch.stack([x[..., :w].mean((1, 2, 3)), x[..., w:].mean((1, 2, 3))], 1)

    images = np.zeros((2, 1, 4, 4), dtype=np.uint8)
    images[0, :, :, :2] = 255  # bright on the left: class 0 by the plain view, class 1 by the mirror
    images[1, :, :, :] = 128
    model, labels, index = LeftHalf(), np.array([0, 1]), np.arange(2)
    flips = DeviceImages(images, torch.device("cpu"), hflip=True)
    plain = DeviceImages(images, torch.device("cpu"), hflip=False)
    np.testing.assert_allclose(trust_reading(model, flips, index, labels), [0.5, 0.5], atol=1e-6)  # a tie of two
    assert trust_reading(model, plain, index, labels)[0] > 0.5  # no mirror for a source that forbids flips


def test_run_score_for_old_runs_and_peers():
    assert run_score({"method": "lsw", "score": "trust"}) == "trust"
    assert run_score({"method": "lsw"}) == "alpha"  # written before the choice existed
    assert run_score({"method": "mwnet", "score": "trust"}) == "mwnet_weight"  # a peer flags by its own score


def test_training_rows_filter_by_the_flag_score():
    problem = prepare(RunConfig(**FAST), progress=False)
    n = len(problem.split.noisy)
    alpha = np.ones(n, dtype=np.float32)
    keep_by = np.zeros(n, dtype=np.float32)
    keep_by[:7] = 1.0
    rows, weights = training_rows(problem, alpha, "filtered-weighted", 0.3, keep_by)
    assert list(rows[:7]) == list(problem.split.noisy[:7]) and len(rows) == 7 + len(problem.split.clean)
    assert weights is not None and np.all(weights == 1.0)
    rows, _ = training_rows(problem, alpha, "filtered", 0.3)  # default: alpha
    assert len(rows) == n + len(problem.split.clean)


def test_summary_table_and_retraining_agree_on_the_flags(tmp_path):
    # Measured with these settings (python -m lsw run --data digits --noise symmetric:0.3 --clean-per-class 10
    # --epochs 10 --device cpu): AUC 0.9993 / F1 0.985 by trust against 0.964 / 0.901 by alpha.
    # the LSW run's own trust (the second pass, which re-scores it, is tested in test_second_pass.py)
    s = run_audit(RunConfig(**FAST, epochs=10, retrain_epochs=1, second_pass=0), tmp_path / "run")
    assert s["score"] == "trust" and s["auc"] >= 0.98 and s["f1"] >= 0.93, s
    run = RunDir(tmp_path / "run")
    df = sample_table(run)
    trust = np.stack([run.epoch_arrays(e)["trust"] for e in run.epochs()]).astype(np.float64)
    readings = trust[5:] * np.arange(1, 6)[:, None] - np.vstack([np.zeros((1, trust.shape[1])),
                                                                 trust[5:-1] * np.arange(1, 5)[:, None]])
    assert np.all(readings > -1e-4) and np.all(readings < 1 + 1e-4)  # 10 epochs: a running mean of 6..10
    np.testing.assert_allclose(df["score"], readings.mean(0), rtol=1e-4, atol=1e-6)
    assert not np.allclose(df["score"], readings[-1], rtol=1e-3)  # not the last epoch's reading alone
    h = run.history(3)  # one sample over the epochs, from the stacks the finished run wrote
    np.testing.assert_allclose(h["trust"], trust[:, 3], rtol=1e-6)
    assert set(h) == {"epoch", "alpha", "loss", "trust"} and len(h["epoch"]) == 10
    (run.path / "trust.npy").unlink()  # a run finished before the trust stack existed: read epoch by epoch
    again = run.history(3)
    for key in h:
        np.testing.assert_allclose(again[key], h[key], rtol=1e-6)
    assert int(df["flagged"].sum()) == s["n_flagged"]
    assert s["retrain_n_train"] == s["n_noisy"] - s["n_flagged"] + s["n_clean"]
    d = detection_metrics(df["is_noisy"].to_numpy(), df["score"].to_numpy(), 0.3)
    assert d["auc"] == pytest.approx(s["auc"]) and run.metrics()[-1]["auc"] == pytest.approx(s["auc"])
    # the same run read as an old run (no "score" in config.json) flags by alpha
    cfg = run.config()
    cfg.pop("score")
    (run.path / "config.json").write_text(json.dumps(cfg))
    old = sample_table(run)
    assert (old["flagged"] == (old["alpha"] < 0.3)).all()
