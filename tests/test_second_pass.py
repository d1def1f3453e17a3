"""The second pass (`lsw.second_pass`): what it trains on, how it is recorded, and that it can be turned off."""
import numpy as np
import pytest

import lsw.second_pass as second_pass_module
from lsw.audit import run_audit
from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.rundir import RunDir
from lsw.second_pass import applies, kept_positions

FAST = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", seed=0, start_steps=0, epochs=4)


def test_kept_positions_are_the_most_trusted_fraction():
    trust = np.array([0.9, 0.1, 0.5, 0.5, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4])
    assert kept_positions(trust, 0.5).tolist() == [0, 2, 4, 6, 8]  # 0.9, 0.8, 0.7, 0.6, 0.5 (the first 0.5)
    assert kept_positions(trust, 1.0).tolist() == list(range(10))
    assert kept_positions(trust, 0.01).tolist() == [0]  # at least one
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(LswError):
            kept_positions(trust, bad)


def test_it_applies_to_lsw_flagging_by_trust_only():
    assert applies(RunConfig())
    assert not applies(RunConfig(second_pass=0))
    assert not applies(RunConfig(score="alpha"))
    assert not applies(RunConfig(method="small-loss"))


def test_an_audit_ends_with_a_second_pass_recorded_as_one_more_epoch(tmp_path, monkeypatch):
    trained_on = []
    real_fit = second_pass_module.fit

    def spy(config, problem, rows, *args, **kwargs):
        trained_on.append(rows.copy())
        return real_fit(config, problem, rows, *args, **kwargs)

    monkeypatch.setattr(second_pass_module, "fit", spy)
    folds = []
    real_folds = second_pass_module.fold_reading

    def fold_spy(*args, **kwargs):
        folds.append(real_folds(*args, **kwargs))
        return folds[-1]

    monkeypatch.setattr(second_pass_module, "fold_reading", fold_spy)
    s = run_audit(RunConfig(**FAST, retrain_epochs=1), tmp_path / "run")
    run = RunDir(tmp_path / "run")
    assert run.epochs() == [1, 2, 3, 4, 5]
    last, before = run.metrics()[-1], run.metrics()[-2]
    assert last["phase"] == "second pass" and last["epoch"] == 5 and last["epochs"] == 4
    assert before["phase"] == "lsw"
    n = s["n_noisy"]
    assert s["second_pass"]["kept"] == round(0.9 * n) and s["second_pass"]["of"] == n
    # it trained on the most trusted 90% of D^n by the LSW run's trust, plus D^c, and nothing else
    samples = run.samples(ids=False)
    noisy, clean = samples["noisy_index"], samples["clean_index"]
    lsw_trust = run.epoch_arrays(4)["trust"]
    kept = np.sort(np.argsort(-lsw_trust.astype(np.float64), kind="stable")[:round(0.9 * n)])
    assert len(trained_on) == 1
    assert sorted(trained_on[0].tolist()) == sorted(np.concatenate([noisy[kept], clean]).tolist())
    # the final trust is the mean of the two networks' fold readings (the second's, then the LSW network's),
    # a probability
    final = run.epoch_arrays(5)["trust"].astype(np.float64)
    assert len(folds) == 2 and s["second_pass"]["folds"] == 4 and s["second_pass"]["fold_first"]
    assert s["second_pass"]["first_folds"] == 8  # the LSW network's copies each keep seven eighths
    assert np.allclose(final, (folds[0] + folds[1]) / 2, atol=1e-6) and not np.allclose(final, lsw_trust)
    assert all(f.min() >= 0 and f.max() <= 1 for f in folds) and not np.allclose(folds[0], folds[1])
    # the readings behind it are kept in the run folder
    readings = run.readings()
    assert sorted(readings) == ["first", "first_folds", "second", "second_folds"]
    assert np.array_equal(readings["second_folds"], folds[0]) and np.array_equal(readings["first_folds"], folds[1])
    assert np.array_equal(readings["first"], lsw_trust) and len(readings["second"]) == n
    # alpha is the LSW run's; what the pages read (the newest epoch) flags by the final trust
    assert np.array_equal(run.epoch_arrays(5)["alpha"], run.epoch_arrays(4)["alpha"])
    table = run.sample_table()
    assert int(table["flagged"].sum()) == s["n_flagged"] == int((final < 0.3).sum())
    assert s["retrain_n_train"] == n - s["n_flagged"] + s["n_clean"]  # the retraining keeps what is not flagged
    assert s["auc"] >= 0.95, s


def test_second_pass_zero_keeps_the_lsw_run_alone(tmp_path):
    s = run_audit(RunConfig(**{**FAST, "second_pass": 0}), tmp_path / "run")
    run = RunDir(tmp_path / "run")
    assert run.epochs() == [1, 2, 3, 4] and s["second_pass"] is None and run.readings() == {}
    assert run.metrics()[-1]["phase"] == "lsw"
