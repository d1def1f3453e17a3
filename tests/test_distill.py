"""The second network's distillation step (`lsw.reweight.distill_step`) and how the second pass uses it."""
import copy
from argparse import Namespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lsw.batches import make_images
from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.prepare import prepare
from lsw.retrain import fit
from lsw.reweight import distill_step, plain_step
from lsw.runargs import config_from_args
from lsw.second_pass import second_pass

FAST = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", seed=0, start_steps=0, epochs=2,
            teacher_weight=0.5, fold_reading=0)


def linear_pair(seed=0):
    torch.manual_seed(seed)
    student = nn.Linear(6, 4).double()
    teacher = nn.Linear(6, 4).double()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (16,), generator=g)
    return student, teacher, x, y


def step_of(model, fn):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = fn(model, opt)
    return loss, [p.detach().clone() for p in model.parameters()]


def test_the_loss_mixes_the_label_and_the_teachers_probabilities():
    student, teacher, x, y = linear_pair()
    w = 0.3
    z, soft = student(x), torch.softmax(teacher(x), 1)
    expected = ((1 - w) * F.cross_entropy(z, y, reduction="none") - w * (soft * F.log_softmax(z, 1)).sum(1)).mean()
    loss, _ = step_of(student, lambda m, o: distill_step(m, o, x, y, teacher, w))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)


def test_weight_zero_is_the_plain_step_and_the_teacher_is_left_alone():
    student, teacher, x, y = linear_pair()
    before = copy.deepcopy(teacher.state_dict())
    _, plain = step_of(copy.deepcopy(student), lambda m, o: plain_step(m, o, x, y))
    _, distilled = step_of(student, lambda m, o: distill_step(m, o, x, y, teacher, 0.0))
    for a, b in zip(plain, distilled):
        assert torch.allclose(a, b, atol=1e-14)
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, before[k])


def test_a_student_that_already_predicts_like_its_teacher_gets_no_gradient_from_it():
    # d/dz CE(z, softmax(t)) = softmax(z) - softmax(t): zero when the student's logits are the teacher's
    student, _, x, y = linear_pair()
    teacher = copy.deepcopy(student)
    start = [p.detach().clone() for p in student.parameters()]
    _, after = step_of(student, lambda m, o: distill_step(m, o, x, y, teacher, 1.0))
    for a, b in zip(start, after):
        assert torch.allclose(a, b, atol=1e-14)
    # and at weight 1 a different teacher does move it, towards the teacher
    student, teacher, x, y = linear_pair(1)
    gap = lambda: F.kl_div(F.log_softmax(student(x), 1), F.softmax(teacher(x), 1), reduction="batchmean").item()  # noqa: E731
    before = gap()
    step_of(student, lambda m, o: distill_step(m, o, x, y, teacher, 1.0))
    assert gap() < before


def test_a_network_is_trained_on_weights_or_from_a_teacher_not_both():
    config = RunConfig(**FAST)
    problem = prepare(config, progress=False)
    train = problem.source.train
    data = make_images(train.images, torch.device("cpu"), train.hflip, config.data_path)
    rows = problem.split.clean
    with pytest.raises(LswError, match="not both"):
        fit(config, problem, rows, np.ones(len(rows), np.float32), 1, data, teacher=nn.Identity(), teacher_weight=0.5)


def test_the_second_pass_learns_from_its_teacher_only_when_weighted():
    config = RunConfig(**FAST)
    problem = prepare(config, progress=False)
    train = problem.source.train
    data = make_images(train.images, torch.device("cpu"), train.hflip, config.data_path)
    trust = np.random.default_rng(0).random(len(problem.split.noisy)).astype(np.float32)
    teacher = fit(config, problem, problem.split.clean, None, 1, data)
    unweighted_config = RunConfig(**{**FAST, "teacher_weight": 0.0})
    alone = second_pass(unweighted_config, problem, data, trust)
    unweighted = second_pass(unweighted_config, problem, data, trust, first=teacher)
    taught = second_pass(config, problem, data, trust, first=teacher)
    with pytest.raises(LswError, match="teacher"):
        second_pass(config, problem, data, trust)  # a weight and no teacher: said, not trained without one
    assert np.array_equal(alone.own, unweighted.own)  # weight 0: the teacher is not used
    assert not np.allclose(alone.own, taught.own)
    for sp in (alone, taught):
        assert np.allclose(sp.trust, (trust.astype(np.float64) + sp.own) / 2, atol=1e-6)


def test_the_teacher_is_off_by_default_and_the_flag_is_checked():
    assert RunConfig().teacher_weight == 0.0 and RunConfig.from_dict({"method": "lsw"}).teacher_weight == 0.0
    with pytest.raises(LswError, match="--teacher-weight"):
        config_from_args(Namespace(teacher_weight=1.5))
