"""The fused head meta-step equals exact double-backward through the head's virtual step (float64),
takes the same real step as the plain weighted step, and ranks flipped labels below correct ones."""
import copy

import pytest
import torch
import torch.nn.functional as F

from lsw.headmeta import clean_features, lsw_head_step
from lsw.models import build_model
from lsw.reweight import per_sample_loss, weighted_loss


def model64(name: str = "tinynet") -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, (1, 8, 8), 5).double()


def batches(seed: int, n: int = 12, m: int = 10):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (n,), generator=g)
    xc = torch.randn(m, 1, 8, 8, generator=g, dtype=torch.float64)
    yc = torch.randint(0, 5, (m,), generator=g)
    alpha = torch.rand(n, generator=g, dtype=torch.float64) * 0.9 + 0.05
    return x, y, xc, yc, alpha


def reference(model, x, y, xc, yc, alpha, eta):
    """dLc/dalpha by autograd through W' = W - eta * grad_W L(alpha) (create_graph), features fixed."""
    model.train()
    h = model.features(x).detach()
    hc = clean_features(model, xc).detach()
    head = model.head
    w = head.weight.detach().clone().requires_grad_(True)
    b = None if head.bias is None else head.bias.detach().clone().requires_grad_(True)
    a = alpha.clone().requires_grad_(True)
    logits = h @ w.T + (0 if b is None else b)
    loss = weighted_loss(per_sample_loss(logits, y), a)
    leaves = [w] if b is None else [w, b]
    g = torch.autograd.grad(loss, leaves, create_graph=True)
    wv = w - eta * g[0]
    zc = hc @ wv.T + (0 if b is None else b - eta * g[1])
    (ga,) = torch.autograd.grad(F.cross_entropy(zc, yc), a)
    return ga


@pytest.mark.parametrize("name", ["tinynet", "fastcnn"])  # with and without a head bias
@pytest.mark.parametrize("seed", [0, 1])
def test_head_meta_gradient_matches_double_backward_float64(name, seed):
    shape = (1, 8, 8) if name == "tinynet" else (3, 16, 16)
    torch.manual_seed(seed)
    model = build_model(name, shape, 5).double()
    x, y, xc, yc, alpha = batches(seed)
    if name == "fastcnn":
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(12, *shape, generator=g, dtype=torch.float64)
        xc = torch.randn(10, *shape, generator=g, dtype=torch.float64)
    want = reference(copy.deepcopy(model), x, y, xc, yc, alpha, eta=0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    res = lsw_head_step(model, opt, x, y, alpha, (xc, yc), eta=0.1)
    assert want.abs().max() > 0
    rel = (res.grad_alpha.double() - want).norm() / want.norm()
    assert rel < 1e-10, f"relative error {rel:.3e}"


def test_head_step_takes_the_weighted_sgd_step_and_keeps_running_stats():
    model = model64()
    manual = copy.deepcopy(model)
    x, y, xc, yc, alpha = batches(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    lsw_head_step(model, opt, x, y, alpha, (xc, yc), eta=0.05)
    manual.train()
    weighted_loss(per_sample_loss(manual(x), y), alpha).backward()  # the running stats see x once
    with torch.no_grad():
        for p, q in zip(model.parameters(), manual.parameters()):
            assert torch.allclose(p, q - 0.05 * q.grad, atol=1e-12)
        for (k, u), (_, v) in zip(model.named_buffers(), manual.named_buffers()):
            assert torch.allclose(u.double(), v.double(), atol=1e-12), k


def test_head_meta_gradient_raises_correct_labels_above_flipped_ones():
    """After a little training, dLc/dalpha is lower (alpha rises) for the correct labels of clean-like samples."""
    model = model64()
    g = torch.Generator().manual_seed(5)
    centers = torch.randn(5, 1, 8, 8, generator=g, dtype=torch.float64) * 2
    yc = torch.arange(40) % 5
    xc = centers[yc] + 0.3 * torch.randn(40, 1, 8, 8, generator=g, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(30):
        lsw_head_step(model, opt, xc, yc, torch.ones(40, dtype=torch.float64), None, eta=0.1)
    x = xc[:20].clone()
    y = yc[:20].clone()
    y[10:] = (y[10:] + 1) % 5
    res = lsw_head_step(model, opt, x, y, torch.full((20,), 0.5, dtype=torch.float64), (xc[20:], yc[20:]), eta=0.1)
    assert res.grad_alpha[:10].max() < res.grad_alpha[10:].min()
