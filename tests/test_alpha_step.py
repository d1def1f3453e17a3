"""How LSW's weights follow the meta-gradients (`RunConfig.alpha_step`) and D^c in the real steps
(`RunConfig.train_on_clean`)."""
import math
import threading

import numpy as np
import pytest
import torch

import lsw.methods as methods
from lsw.audit import run_audit
from lsw.config import RunConfig
from lsw.reweight import StepResult
from lsw.train import Cancelled

FAST = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", seed=0, start_steps=0)


@pytest.fixture
def fake_step(monkeypatch):
    """The LSW step replaced by one that records the weights it was given and returns a set meta-gradient."""
    seen = {}

    def step(model, opt, x, y, alpha, clean, eta):
        seen["alpha"] = alpha.clone()
        return StepResult(torch.zeros(()), seen["grad"].clone(), torch.zeros(()))

    monkeypatch.setitem(methods.LSW_STEPS, "head", step)
    return seen


def visit(lsw, seen, pos, grad, epoch=2):
    seen["grad"] = torch.as_tensor(grad, dtype=torch.float32)
    lsw.step(None, None, None, None, torch.as_tensor(pos), (None, None), 0.1, epoch)


@pytest.mark.parametrize("rule", ["sum", "evidence"])
def test_w_is_the_sum_or_its_evidence_beyond_the_floor(fake_step, rule):
    lsw = methods.LSW(3, RunConfig(alpha_step=rule, eta_alpha=0.5, alpha_norm="none"), torch.device("cpu"))
    for _ in range(9):
        visit(lsw, fake_step, [0, 1], [-1.0, 2.0])
    visit(lsw, fake_step, [1], [-2.0])
    if rule == "sum":
        expected = -0.5 * np.array([-9.0, 16.0, 0.0])
    else:  # t = sum / sqrt(sum of squares): -9 / 3 = -3 and 16 / sqrt(40); 0 for a sample never visited
        t = np.array([-3.0, 16 / np.sqrt(40), 0.0])
        expected = -0.5 * np.sign(t) * np.maximum(np.abs(t) - methods.EVIDENCE_FLOOR, 0)
    np.testing.assert_allclose(lsw.w().numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(lsw.scores(None), 1 / (1 + np.exp(-expected)), rtol=1e-6)


def test_noise_spreads_the_sum_with_the_visits_but_moves_few_weights_by_evidence(fake_step):
    """A meta-gradient of pure noise, +-1 at random, and one sample whose meta-gradient always says "raise me":
    under "sum" |w| grows like the root of the visits (a random walk); by evidence 95% of the weights stay at
    0.5, while the consistent sample's t grows like the root of its visits (8 here) and its weight rises."""
    gen = np.random.default_rng(0)
    w = {}
    for rule in ("sum", "evidence"):
        lsw = methods.LSW(2001, RunConfig(alpha_step=rule, eta_alpha=1.0, alpha_norm="none"), torch.device("cpu"))
        for _ in range(64):
            visit(lsw, fake_step, np.arange(2001), np.append(gen.choice([-1.0, 1.0], 2000), -0.1))
        w[rule] = lsw.w().numpy()
    assert w["sum"][:-1].std() == pytest.approx(8.0, rel=0.1)  # sqrt(64)
    assert (w["evidence"][:-1] != 0).mean() < 0.07
    assert np.abs(w["evidence"][:-1]).max() < 2.5
    assert w["evidence"][-1] == pytest.approx(8.0 - methods.EVIDENCE_FLOOR, rel=1e-5)


def test_clean_rows_train_at_weight_one_and_keep_no_state(fake_step):
    lsw = methods.LSW(3, RunConfig(alpha_step="sum", eta_alpha=1.0, alpha_norm="none", train_on_clean=True),
                      torch.device("cpu"))
    assert lsw.trains_on_clean
    visit(lsw, fake_step, [0, 3, 4, 2], [-1.0, 5.0, 5.0, 1.0])  # positions 3 and 4 are D^c's rows
    np.testing.assert_allclose(fake_step["alpha"].numpy(), [0.5, 1.0, 1.0, 0.5])
    np.testing.assert_allclose(lsw.total.numpy(), [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(lsw.squares.numpy(), [1.0, 0.0, 1.0])
    visit(lsw, fake_step, [3, 0], [2.0, 2.0])
    assert fake_step["alpha"][0] == 1.0 and fake_step["alpha"][1] == pytest.approx(1 / (1 + math.exp(-1)))  # w = -total


def test_a_sample_a_reviewer_labeled_trains_at_weight_one_and_learns_no_weight(fake_step):
    lsw = methods.LSW(3, RunConfig(alpha_step="sum", eta_alpha=1.0, alpha_norm="none", train_on_clean=True),
                      torch.device("cpu"))
    lsw.pin(np.array([False, True, False]))
    visit(lsw, fake_step, [0, 1, 2, 3], [-1.0, -4.0, 2.0, 5.0])  # position 3 is a D^c row
    np.testing.assert_allclose(fake_step["alpha"].numpy(), [0.5, 1.0, 0.5, 1.0])
    np.testing.assert_allclose(lsw.total.numpy(), [-1.0, 0.0, 2.0])  # the pinned sample's meta-gradient is not kept
    visit(lsw, fake_step, [1, 0], [3.0, 1.0])
    assert fake_step["alpha"][0] == 1.0
    np.testing.assert_allclose(lsw.scores(None), [0.5, 1.0, 1 / (1 + math.exp(2.0))], rtol=1e-6)


def test_a_checkpoint_written_before_the_squares_were_kept_keeps_its_weights():
    cfg = RunConfig.from_dict({"eta_alpha": 2.0})  # a config recorded then reads as the "sum" step
    assert cfg.alpha_step == "sum" and not cfg.train_on_clean
    old = {"w": torch.tensor([1.0, -3.0]), "grad_scale": torch.tensor(0.5), "grad_scale_n": 4, "first_epoch": 2}
    lsw = methods.LSW(2, cfg, torch.device("cpu"))
    lsw.load_state_dict(old)
    np.testing.assert_allclose(lsw.w().numpy(), [1.0, -3.0])


def test_training_on_the_clean_set_takes_its_rows_into_every_epoch(tmp_path):
    steps = {}
    cfg = RunConfig(**FAST, epochs=2, batch_size=64, train_on_clean=True, second_pass=0)
    s = run_audit(cfg, tmp_path / "run", on_progress=lambda phase, e, es, i, n: steps.update({e: n}))
    assert steps[1] == math.ceil((s["n_noisy"] + s["n_clean"]) / 64)
    plain = {}
    run_audit(RunConfig(**{**cfg.to_dict(), "train_on_clean": False}), tmp_path / "plain",
              on_progress=lambda phase, e, es, i, n: plain.update({e: n}))
    assert plain[1] == math.ceil(s["n_noisy"] / 64)


def test_resume_with_the_evidence_step_and_the_clean_rows_equals_an_uninterrupted_run(tmp_path):
    """Checkpoints carry both sums of the evidence step: the resumed run ends in the same state."""
    cfg = RunConfig(**FAST, epochs=4, alpha_step="evidence", train_on_clean=True, second_pass=0)
    run_audit(cfg, tmp_path / "a")
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        run_audit(cfg, tmp_path / "b", on_event=lambda e: e.epoch == 3 and cancel.set(), cancel=cancel)
    run_audit(cfg, tmp_path / "b", resume=True)
    a, b = (torch.load(tmp_path / r / "checkpoint.pt", weights_only=False)["method"] for r in "ab")
    assert a["squares"].min() > 0  # every audited sample was visited
    for key in ("total", "squares"):
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "a" / "alpha.npy"), np.load(tmp_path / "b" / "alpha.npy"), atol=1e-5)
