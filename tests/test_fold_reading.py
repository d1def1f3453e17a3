"""The fold reading (`lsw.fold_reading`): each kept sample read by a copy of a network that was fine-tuned without
it, the dropped ones by every copy; the second network and the LSW network are each read so, and the final trust is
the mean of the two readings."""
import argparse
from argparse import Namespace

import numpy as np
import pytest
import torch

import lsw.fold_reading as fold_module
import lsw.second_pass as second_pass_module
from lsw.batches import make_images
from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.fold_reading import first_fold_count, fold_epochs, fold_reading, fold_steps, folds_of, network_folds
from lsw.prepare import prepare
from lsw.retrain import fit
from lsw.runargs import add_run_args, config_from_args
from lsw.second_pass import epochs_of, kept_positions, second_pass

FAST = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", seed=0, start_steps=0, epochs=3,
            fold_reading=3, fold_reading_first=2)


def problem_and_data(config):
    problem = prepare(config, progress=False)
    train = problem.source.train
    return problem, make_images(train.images, torch.device("cpu"), train.hflip, config.data_path)


def a_trained_network(config):
    """The problem, its images, a network trained one epoch on all of D^n and D^c, and a copy of its state."""
    problem, data = problem_and_data(config)
    rows = np.concatenate([problem.split.noisy, problem.split.clean])
    model = fit(config, problem, rows, None, 1, data)
    return problem, data, model, {k: v.clone() for k, v in model.state_dict().items()}


def test_folds_are_seeded_and_near_equal():
    f = folds_of(10, 4, seed=0)
    assert sorted(np.bincount(f).tolist()) == [2, 2, 3, 3]
    assert np.array_equal(f, folds_of(10, 4, seed=0)) and not np.array_equal(f, folds_of(10, 4, seed=1))


def test_each_kept_sample_is_read_by_a_copy_that_never_saw_it_and_the_network_is_left_alone(monkeypatch):
    config = RunConfig(**FAST)
    problem, data, model, before = a_trained_network(config)
    noisy, clean = problem.split.noisy, problem.split.clean
    trust = np.random.default_rng(0).random(len(noisy))
    kept = kept_positions(trust, 0.8)
    dropped = np.setdiff1d(np.arange(len(noisy)), kept)
    calls = []
    real_fit, real_reading = fold_module.fit, fold_module.trust_reading

    def spy_fit(config, problem, rows, *args, start=None, lr=None, **kwargs):
        assert start is not model and lr == 0.5 * config.lr
        calls.append({"rows": rows.copy()})
        return real_fit(config, problem, rows, *args, start=start, lr=lr, **kwargs)

    def spy_reading(net, data, index, labels, **kwargs):
        calls[-1]["read"] = index.copy()
        out = real_reading(net, data, index, labels, **kwargs)
        calls[-1]["out"] = out.copy()
        return out

    monkeypatch.setattr(fold_module, "fit", spy_fit)
    monkeypatch.setattr(fold_module, "trust_reading", spy_reading)
    out = fold_reading(model, config, problem, data, kept)
    assert len(calls) == 3
    read_kept = []
    for call in calls:
        trained, read = set(call["rows"].tolist()), call["read"]
        assert set(clean.tolist()) <= trained and not trained & set(noisy[dropped].tolist())
        mine = read[:len(read) - len(dropped)]
        assert not trained & set(mine.tolist())  # out of sample
        assert trained == set(clean.tolist()) | (set(noisy[kept].tolist()) - set(mine.tolist()))
        assert np.array_equal(read[len(mine):], noisy[dropped])
        read_kept += mine.tolist()
        position = {row: i for i, row in enumerate(noisy.tolist())}
        assert np.allclose(out[[position[r] for r in mine.tolist()]], call["out"][:len(mine)])
    assert sorted(read_kept) == sorted(noisy[kept].tolist())  # every kept sample once
    mean = np.mean([c["out"][-len(dropped):] for c in calls], axis=0)
    assert np.allclose(out[dropped], mean, atol=1e-6)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_the_fold_readings_stand_in_for_both_networks_own_and_progress_counts_the_folds(monkeypatch):
    config = RunConfig(**FAST)
    problem, data, first, before = a_trained_network(config)
    trust = np.random.default_rng(1).random(len(problem.split.noisy)).astype(np.float32)
    seen, read = [], []
    real = second_pass_module.fold_reading

    def spy(model, *args, **kwargs):
        read.append((model, real(model, *args, **kwargs), kwargs.get("folds")))
        return read[-1][1]

    monkeypatch.setattr(second_pass_module, "fold_reading", spy)
    sp = second_pass(config, problem, data, trust, on_progress=lambda epoch, step, steps: seen.append(epoch),
                     first=first)
    assert [m for m, _, _ in read] == [sp.model, first]  # the second network's folds, then the LSW network's
    assert [k for _, _, k in read] == [None, 2]  # the second's in `fold_reading` folds, the LSW network's in its own
    assert read[0][1] is sp.folds and read[1][1] is sp.first_folds
    assert sp.folds is not None and sp.first_folds is not None and sp.folds.shape == sp.first_folds.shape == trust.shape
    assert np.allclose(sp.trust, (sp.first_folds + sp.folds) / 2, atol=1e-6)
    assert not np.allclose(sp.first_folds, sp.folds)
    assert all(torch.equal(v, before[k]) for k, v in first.state_dict().items())  # the LSW network untouched
    assert epochs_of(config) == 3 + (3 + 2) * fold_epochs(config) and fold_epochs(config) == 1
    assert sorted(set(seen)) == list(range(epochs_of(config)))
    second_only = RunConfig(**{**FAST, "fold_first": False})
    alone = second_pass(second_only, problem, data, trust, first=first)
    assert alone.first_folds is None and np.allclose(alone.folds, sp.folds, atol=1e-6) and len(read) == 3
    assert np.allclose(alone.trust, (trust.astype(np.float64) + alone.folds) / 2, atol=1e-6)
    assert epochs_of(second_only) == 3 + 3 * fold_epochs(config)
    off = second_pass(RunConfig(**{**FAST, "fold_reading": 0}), problem, data, trust, first=first)
    assert off.folds is None and off.first_folds is None
    assert np.allclose(off.trust, (trust.astype(np.float64) + off.own) / 2, atol=1e-6)
    assert np.array_equal(off.own, sp.own)  # the second network itself does not change
    with pytest.raises(LswError, match="own network"):
        second_pass(config, problem, data, trust)  # nothing to read in folds: said, not read as the trust given


def test_the_copies_fine_tune_on_the_share_both_networks_trust_most(monkeypatch):
    config = RunConfig(**{**FAST, "fold_keep": 0.6})
    problem, data, first, _ = a_trained_network(config)
    trust = np.random.default_rng(2).random(len(problem.split.noisy)).astype(np.float32)
    rows = []
    draws = []
    monkeypatch.setattr(second_pass_module, "fold_reading", lambda model, c, p, d, refit, *a, draw=0, folds=None:
                        rows.append(refit) or draws.append(draw) or np.zeros(len(trust)))
    sp = second_pass(config, problem, data, trust, first=first)
    both = kept_positions((trust.astype(np.float64) + sp.own) / 2, 0.6)
    assert len(rows) == 2 and all(np.array_equal(r, both) for r in rows) and len(both) == round(0.6 * len(trust))
    assert draws == [0, 1]  # the two networks' copies draw their folds and batches apart
    assert sp.n_kept == round(0.9 * len(trust))  # the second network itself still trains on the LSW trust's 90%
    rows.clear()
    second_pass(RunConfig(**{**FAST, "fold_keep": 0}), problem, data, trust, first=first)
    assert all(np.array_equal(r, kept_positions(trust, 0.9)) for r in rows) and len(rows) == 2


def test_a_network_fine_tuned_again_from_the_same_start_is_the_same_network():
    config = RunConfig(**FAST)
    problem, data, model, before = a_trained_network(config)
    rows = np.concatenate([problem.split.noisy[:200], problem.split.clean])
    tuned = []
    for draws in (0, 5):
        torch.rand(draws)  # what ran before moves the global RNG; the crops and flips must not follow it
        model.load_state_dict(before)
        tuned.append({k: v.clone() for k, v in fit(config, problem, rows, None, 1, data, start=model).state_dict()
                      .items()})
    assert all(torch.equal(v, tuned[1][k]) for k, v in tuned[0].items())
    assert not all(torch.equal(v, before[k]) for k, v in tuned[0].items())


def test_a_fold_reading_is_read_again_exactly_and_another_draw_reads_apart():
    config = RunConfig(**FAST)
    problem, data, model, _ = a_trained_network(config)
    kept = np.arange(len(problem.split.noisy))
    once, again = (fold_reading(model, config, problem, data, kept) for _ in range(2))
    apart = fold_reading(model, config, problem, data, kept, draw=1)
    assert np.array_equal(once, again) and not np.allclose(once, apart)
    assert np.array_equal(apart, fold_reading(model, RunConfig(**{**FAST, "seed": 1}), problem, data, kept))
    in_two = fold_reading(model, config, problem, data, kept, folds=2)  # fold_reading_first's count, not config's
    assert np.array_equal(in_two, fold_reading(model, RunConfig(**{**FAST, "fold_reading": 2}), problem, data, kept))
    assert not np.allclose(in_two, once)


def test_the_flags_defaults_and_old_runs():
    assert RunConfig().fold_reading == 4 and RunConfig().fold_first and fold_epochs(RunConfig()) == 8
    assert RunConfig().fold_reading_first == 8 and network_folds(RunConfig()) == [4, 8]
    assert RunConfig.from_dict({"method": "lsw"}).fold_reading == 0  # a run recorded before the fold reading
    assert not RunConfig.from_dict({"method": "lsw", "fold_reading": 4}).fold_first  # before the first's
    old = RunConfig.from_dict({"method": "lsw", "fold_reading": 4, "fold_first": True})  # before its own count
    assert old.fold_reading_first == 0 and first_fold_count(old) == 4 and network_folds(old) == [4, 4]
    assert network_folds(RunConfig(fold_first=False)) == [4] and network_folds(RunConfig(fold_reading=0)) == []
    # an epoch of 40 steps on the second network's 90%: 40 * 0.8 / 0.9 * 3 / 4 = 26.7 on the copies' 80% less a
    # fold (7 / 8: 31.1 for the LSW network's eight)
    assert fold_steps(RunConfig(), 40) == 4 * 8 * 27 + 8 * 8 * 31 and fold_steps(RunConfig(fold_reading=0), 40) == 0
    assert fold_steps(RunConfig(fold_first=False), 40) == 4 * 8 * 27
    assert fold_steps(RunConfig(fold_keep=0, fold_reading_first=0), 40) == 2 * 4 * 8 * 30  # the second's own rows
    assert RunConfig().fold_keep == 0.8 and RunConfig.from_dict({"method": "lsw", "fold_reading": 4}).fold_keep == 0
    for bad in (-0.1, 1.5):
        with pytest.raises(LswError, match="--fold-keep"):
            config_from_args(Namespace(fold_keep=bad))
    assert config_from_args(parser_args(["--fold-keep", "0.7"])).fold_keep == 0.7
    for bad in (1, -2):
        with pytest.raises(LswError, match="--fold-reading"):
            config_from_args(Namespace(fold_reading=bad))
    assert config_from_args(Namespace(fold_reading=0)).fold_reading == 0
    assert config_from_args(parser_args([])).fold_first
    assert config_from_args(parser_args(["--fold-reading-first", "6"])).fold_reading_first == 6
    for bad in (1, -1):
        with pytest.raises(LswError, match="--fold-reading-first"):
            config_from_args(Namespace(fold_reading_first=bad))
    assert not config_from_args(parser_args(["--no-fold-first"])).fold_first


def parser_args(flags: list[str]) -> Namespace:
    """The run flags `flags` parsed, on digits."""
    parser = argparse.ArgumentParser()
    add_run_args(parser)
    return parser.parse_args(["--data", "digits", *flags])


def test_the_results_table_says_how_many_folds_each_network_was_read_in():
    from lsw.cli import _second_pass_line
    base = {"kept": 90, "of": 100, "teacher_weight": 0.0, "folds": 4, "fold_keep": 0.8, "seconds": 1.0}
    assert "in 4 folds of the 80% both trust most (the LSW network's in 8)," in _second_pass_line(
        {**base, "fold_first": True, "first_folds": 8})
    old = _second_pass_line({**base, "fold_first": True})  # a run before the LSW network had its own count
    assert "in 4 folds of the 80% both trust most (both networks)," in old
    assert "(both networks)" in _second_pass_line({**base, "fold_first": True, "first_folds": 4})
    assert "network" not in _second_pass_line({**base, "fold_first": False, "first_folds": 0}).split("folds")[1]
