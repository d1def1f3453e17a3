"""The LSW meta-gradient equals exact double-backward through the virtual step (float64)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from lsw.reweight import alpha_meta_gradient, batch_stats_only, lsw_step, per_sample_loss, weighted_loss


def small_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.Tanh(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5),
    ).double()


def batches(seed=0, n=12, m=10):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (n,), generator=g)
    xc = torch.randn(m, 3, 8, 8, generator=g, dtype=torch.float64)
    yc = torch.randint(0, 5, (m,), generator=g)
    alpha = torch.rand(n, generator=g, dtype=torch.float64) * 0.9 + 0.05
    return x, y, xc, yc, alpha


def reference_grad(model, x, y, xc, yc, alpha, eta):
    """dLc/dalpha by differentiating through the virtual step (create_graph=True)."""
    params = {k: p.detach().clone().requires_grad_(True) for k, p in model.named_parameters()}
    a = alpha.clone().requires_grad_(True)
    with batch_stats_only(model):
        loss = weighted_loss(per_sample_loss(functional_call(model, params, (x,)), y).double(), a)
        g = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        virtual = {k: p - eta * gk for (k, p), gk in zip(params.items(), g)}
        lc = F.cross_entropy(functional_call(model, virtual, (xc,)), yc)
        (ga,) = torch.autograd.grad(lc, a)
    return ga


def meta_grad(model, x, y, xc, yc, alpha, eta):
    params = {k: p.detach() for k, p in model.named_parameters()}
    with batch_stats_only(model):
        loss = weighted_loss(per_sample_loss(functional_call(model, params, (x,)), y).double(), alpha)
    p_req = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    with batch_stats_only(model):
        loss = weighted_loss(per_sample_loss(functional_call(model, p_req, (x,)), y).double(), alpha)
    grads = dict(zip(p_req, torch.autograd.grad(loss, list(p_req.values()))))
    return alpha_meta_gradient(model, params, grads, x, y, alpha, xc, yc, eta)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_meta_gradient_matches_double_backward_float64(seed):
    torch.manual_seed(seed)
    model = small_net()
    x, y, xc, yc, alpha = batches(seed)
    want = reference_grad(model, x, y, xc, yc, alpha, eta=0.1)
    got, _ = meta_grad(model, x, y, xc, yc, alpha, eta=0.1)
    rel = (got.double() - want).norm() / want.norm()
    assert want.abs().max() > 0
    assert rel < 1e-10, f"relative error {rel:.3e}"


def test_meta_gradient_leaves_batchnorm_running_stats_alone():
    model = small_net()
    before = copy.deepcopy(model.state_dict())
    x, y, xc, yc, alpha = batches()
    meta_grad(model, x, y, xc, yc, alpha, eta=0.1)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_lsw_step_matches_reference_and_takes_the_weighted_sgd_step():
    torch.manual_seed(3)
    model = small_net()
    x, y, xc, yc, alpha = batches(3)
    want = reference_grad(model, x, y, xc, yc, alpha, eta=0.05)
    manual = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    res = lsw_step(model, opt, x, y, alpha, (xc, yc), eta=0.05)
    rel = (res.grad_alpha.double() - want).norm() / want.norm()
    assert rel < 1e-10
    # the real step is theta - eta * g with the same weighted loss
    manual.train()
    loss = weighted_loss(per_sample_loss(manual(x), y).double(), alpha)
    loss.backward()
    with torch.no_grad():
        for p, q in zip(model.parameters(), manual.parameters()):
            assert torch.allclose(p, q - 0.05 * q.grad, atol=1e-12)


def test_meta_gradient_sign_prefers_samples_that_agree_with_clean_data():
    """A sample whose gradient points like the clean gradient gets a negative dLc/dalpha (raise alpha)."""
    torch.manual_seed(0)
    model = small_net()
    x, y, xc, yc, alpha = batches(0, n=10, m=10)
    # the noisy batch = the clean batch with correct labels (first half) and shuffled labels (second half)
    x = xc.clone()
    y = yc.clone()
    y[5:] = (yc[5:] + 1) % 5
    alpha = torch.full((10,), 0.5, dtype=torch.float64)
    got, _ = meta_grad(model, x, y, xc, yc, alpha, eta=0.1)
    assert got[:5].mean() < got[5:].mean()
