"""The fused LSW step with the meta-gradient taken through the last layer (config `meta="head"`).

Write the network as logits z = W h(x) + b, h the penultimate features. Restrict Eq. 2 to the head:
the virtual step moves (W, b) only, theta' = (W - eta g_W, b - eta g_b), and the directional
derivatives are taken in the head's coordinates. Everything then has a closed form:

    grad_(W,b) l_i = (delta_i h_i^T, delta_i),       delta_i = softmax(z_i) - onehot(y_i)
    g_c = (G, g_b) = mean_j (delta'_j h'_j^T, delta'_j), delta'_j = softmax(W' h'_j + b') - onehot(y'_j)
    d_i = <g_c, grad l_i> = delta_i . (G h_i + g_b)
    dLc/dalpha_i = -(eta / S) * (d_i - sum_k alpha_k d_k / S)      (as in `lsw.reweight`)

h_i and z_i come from the real step's own forward, g_(W,b) from its own backward, and the clean
features h'_j from one no-grad forward of the clean batch through the body: no second backward and
no forward-mode pass, so the step costs a plain step plus that clean forward. `tests/test_headmeta.py`
checks it against exact double-backward through the head's virtual step in float64.

Why it is allowed to differ from the full meta-gradient: d_i becomes a kernel between sample i and
the clean batch, (delta_i . delta'_j) (h_i . h'_j) + delta_i . delta'_j: a sample whose error vector
points against clean samples with similar features loses weight. That is the detection signal the
paper relies on, read where the network's features already separate the classes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lsw import dist
from lsw.reweight import (
    StepResult,
    apply_grads,
    batch_stats_only,
    clean_mean_loss,
    per_sample_loss,
    upcast,
    weighted_loss,
)


def error_vectors(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """delta = softmax(z) - onehot(y), (n, K), float32 or float64: the gradient of CE w.r.t. the logits."""
    z = upcast(logits)
    return torch.softmax(z, 1) - F.one_hot(y, z.shape[1]).to(z.dtype)


def head_meta_gradient(head: nn.Linear, head_grads: tuple[torch.Tensor, torch.Tensor | None],
                       h: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, alpha: torch.Tensor,
                       h_clean: torch.Tensor, y_clean: torch.Tensor, eta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """dLc/dalpha for the noisy batch with the virtual step and the meta-gradient restricted to `head`.

    Args:
        head: the last layer, logits = h @ W^T + b (b may be None).
        head_grads: (g_W, g_b) of Eq. 1's weighted loss at theta (g_b None when the head has no bias).
        h, logits, y: the noisy batch's features (n, D), logits (n, K) and given labels (n,) int64.
        alpha: (n,) the weights the loss was taken with.
        h_clean, y_clean: the clean batch's features (m, D) at theta and its labels (m,).
        eta: the model learning rate of the virtual step.
    Returns:
        grad_alpha: (n,) float32 (float64 for a float64 model); negative = raising alpha_i lowers Lc.
        clean_loss: scalar, Lc at the virtual head (detached).
    """
    with torch.no_grad(), torch.autocast(h.device.type, enabled=False):
        h, h_clean = upcast(h), upcast(h_clean)
        w = upcast(head.weight) - eta * upcast(head_grads[0])
        z_clean = h_clean @ w.T
        if head.bias is not None:
            z_clean = z_clean + (upcast(head.bias) - eta * upcast(head_grads[1]))
        clean_loss = dist.all_sum(clean_mean_loss(z_clean, y_clean))
        delta_clean = error_vectors(z_clean, y_clean)
        g_w = dist.all_sum(delta_clean.T @ h_clean) / dist.count(len(y_clean))  # (K, D)
        along = h @ g_w.T  # (n, K)
        if head.bias is not None:
            along = along + dist.mean(delta_clean, 0)
        d = (error_vectors(logits, y) * along).sum(1)
        alpha = alpha.to(d.dtype)
        s = dist.all_sum(alpha.sum())
        return -(eta / s) * (d - dist.all_sum((alpha * d).sum()) / s), clean_loss


def clean_features(model: nn.Module, x_clean: torch.Tensor) -> torch.Tensor:
    """Penultimate features of the clean batch at theta: batch statistics, running stats untouched, no graph."""
    with torch.no_grad(), batch_stats_only(model):
        return model.features(x_clean)


def lsw_head_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                  alpha: torch.Tensor, clean: tuple[torch.Tensor, torch.Tensor] | None, eta: float) -> StepResult:
    """`lsw.reweight.lsw_step` with the head-restricted meta-gradient: same real step, same contract.

    `model` must expose `features(x)` and a last layer named `head` (every `lsw.models` classifier does).
    """
    model.train()
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    h = model.features(x)
    logits = model.head(h)
    loss = weighted_loss(per_sample_loss(logits, y), alpha)
    grads = dist.all_sum_each(dict(zip(params, torch.autograd.grad(loss, list(params.values())))))
    grad_alpha = clean_loss = None
    if clean is not None:
        head = model.head
        head_grads = (grads["head.weight"], None if head.bias is None else grads["head.bias"])
        grad_alpha, clean_loss = head_meta_gradient(head, head_grads, h.detach(), logits.detach(), y, alpha,
                                                    clean_features(model, clean[0]), clean[1], eta)
    apply_grads(optimizer, params, grads)
    return StepResult(loss.detach(), grad_alpha, clean_loss)
