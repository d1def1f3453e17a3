"""The LSW step (Learned Sample Weights, paper Sec. 3.2 and Algorithm 1) as pure functions.

For a noisy batch B^n with weights alpha and a clean batch B^c:

    L(theta)   = sum_i alpha_i l_i(theta) / S,         S = sum_i alpha_i          (Eq. 1)
    g          = grad_theta L
    theta'     = theta - eta * g                       (the virtual step; eta = current lr)
    g_c        = grad Lc(theta')                       (mean cross-entropy on B^c)
    dLc/dalpha_i = -(eta / S) * ( <g_c, grad l_i(theta)> - <g_c, g> )              (Eq. 2)

No Hessian is built: the vector d_i = <g_c, grad l_i(theta)> is one forward-mode pass
(`torch.func.jvp` of the per-sample loss vector in direction g_c), and <g_c, g> = sum_i alpha_i d_i / S.

Reading of Algorithm 1, lines 7-8 (`alpha := sigmoid(alpha - eta_alpha * grad - 0.5)` taken
literally has 0.5 as its only fixed point): we keep a logit w_i per sample, alpha_i = sigmoid(w_i),
w_i = 0 at start, and line 7's step is applied to w and accumulates over the run:
    w_i <- w_i - eta_alpha * scale(dLc/dalpha_i)
The alpha-gradient (not the w-gradient alpha(1-alpha) dLc/dalpha) is applied, so a sample whose
alpha has saturated near 0 can still climb back. `scale` makes eta_alpha independent of the
model, batch size and learning rate: "first_epoch" (default, in `lsw.methods.LSW.scaled`) divides
by the mean |dLc/dalpha| of the first epoch of alpha learning and keeps that divisor, so updates
shrink as the clean loss stops improving; "mean_abs" divides each batch by its own mean |grad|;
"none" applies the raw gradient (whose size scales with lr / batch size). That is the "sum" step;
the default "evidence" step reads the same scaled gradients differently (`lsw.methods.LSW.w`).

BatchNorm: the functional passes (at theta' and the JVP) run with batch statistics and do not touch
the running statistics (`batch_stats_only`), so `torch.func` does not see a mutated captured tensor
and the running statistics see each batch exactly once, in the real step.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jvp

from lsw import dist

Params = dict[str, torch.Tensor]


def upcast(t: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 -> float32 for losses; float32 and float64 stay as they are."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def per_sample_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per sample (n,), at least float32 whatever the logits' precision."""
    return F.cross_entropy(upcast(logits), y, reduction="none")


@contextmanager
def batch_stats_only(model: nn.Module) -> Iterator[None]:
    """Inside: BatchNorm layers normalise with batch statistics and leave running stats alone."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.track_running_stats, m.training) for m in bns]
    for m in bns:
        m.track_running_stats = False
        m.training = True
    try:
        yield
    finally:
        for m, (track, training) in zip(bns, saved):
            m.track_running_stats = track
            m.training = training


def weighted_loss(losses: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Eq. 1's normalised weighted loss sum(alpha * l) / sum(alpha); in a distributed run this process's
    share of it, sum(alpha) taken over the global batch (`lsw.dist`)."""
    return (alpha * losses).sum() / dist.all_sum(alpha.sum())


def clean_mean_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the clean batch; in a distributed run this process's share of the mean over
    every process's rows (so the gradients, summed, are the global batch's)."""
    if not dist.active():
        return F.cross_entropy(upcast(logits), y)
    return dist.mean_share(per_sample_loss(logits, y))


def clean_directional_derivatives(
    model: nn.Module,
    params: Params,
    grads: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    x_clean: torch.Tensor,
    y_clean: torch.Tensor,
    eta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """d_i = <g_c, grad l_i(theta)> for the noisy batch, with g_c = grad Lc(theta - eta * grads).

    The shared core of LSW, MW-Net and L2RW (eta = 0 gives L2RW's g_c at theta itself).
    Args:
        model: the network (its parameters are replaced by `params` in the functional calls).
        params: theta, name -> tensor (detached is fine).
        grads: the gradient of the virtual step, same keys as `params`.
        x, y: the noisy batch (n, C, H, W) and its given labels (n,) int64.
        x_clean, y_clean: the clean batch.
        eta: the model learning rate of the virtual step.
    Returns:
        d: (n,) float (float32 unless the model is float64); clean_loss: scalar Lc(theta'), detached.
    """
    names = list(params)
    with batch_stats_only(model):
        virtual = {k: (params[k].detach() - eta * grads[k].detach()).requires_grad_(True) for k in names}
        clean_loss = clean_mean_loss(functional_call(model, virtual, (x_clean,)), y_clean)
        g_clean = list(dist.all_sum_each(dict(zip(names, torch.autograd.grad(clean_loss, [virtual[k] for k in names]))))
                       .values())

        def losses_at(p: Params) -> torch.Tensor:
            return per_sample_loss(functional_call(model, p, (x,)), y)

        primals = {k: params[k].detach() for k in names}
        tangents = {k: t.to(primals[k].dtype) for k, t in zip(names, g_clean)}
        _, d = jvp(losses_at, (primals,), (tangents,))
    return d, dist.all_sum(clean_loss.detach())


def alpha_meta_gradient(
    model: nn.Module,
    params: Params,
    grads: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: torch.Tensor,
    x_clean: torch.Tensor,
    y_clean: torch.Tensor,
    eta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """dLc/dalpha for the noisy batch, and the clean loss at theta'.

    `grads` must be g = grad_theta L at theta for this batch and `alpha` (n,) (Eq. 1); the other
    arguments are those of `clean_directional_derivatives`.
    Returns:
        grad_alpha: (n,), dLc/dalpha_i; negative = raising alpha_i lowers the clean loss.
        clean_loss: scalar, Lc(theta') (detached).
    """
    d, clean_loss = clean_directional_derivatives(model, params, grads, x, y, x_clean, y_clean, eta)
    alpha = alpha.to(d.dtype)
    s = dist.all_sum(alpha.sum())
    d_mean = dist.all_sum((alpha * d).sum()) / s  # = <g_c, g>
    return -(eta / s) * (d - d_mean), clean_loss


def scale_meta_gradient(grad_alpha: torch.Tensor, mode: str = "mean_abs") -> torch.Tensor:
    """The step direction for w: "mean_abs" divides by the batch's mean |grad| (no host sync), "none" keeps it."""
    if mode == "none":
        return grad_alpha
    if mode == "mean_abs":
        return grad_alpha / dist.mean(grad_alpha.abs()).clamp_min(1e-12)
    raise ValueError(f"unknown alpha normalisation '{mode}': use mean_abs or none")


@dataclass
class StepResult:
    """What one training step reports (tensors stay on the device: no host sync in the step)."""

    loss: torch.Tensor  # the weighted noisy loss L
    grad_alpha: torch.Tensor | None  # dLc/dalpha for the batch, None before start_epoch
    clean_loss: torch.Tensor | None


def apply_grads(optimizer: torch.optim.Optimizer, params: dict[str, torch.Tensor],
                grads: dict[str, torch.Tensor]) -> None:
    """Take one optimiser step with `grads` (same keys as `params`) as the parameters' gradients."""
    for k, p in params.items():
        p.grad = grads[k]
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


Weigh = Callable[[torch.Tensor, Params], tuple[torch.Tensor, torch.Tensor | float]]


def trainable(model: nn.Module) -> Params:
    return {k: p for k, p in model.named_parameters() if p.requires_grad}


def reweighted_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                    weigh: Weigh, meta: Callable[[Params, Params], Any] | None = None) -> tuple[torch.Tensor, Any]:
    """The step skeleton LSW (full), MW-Net and L2RW share.

    Per-sample losses l of the noisy batch; (w, norm) = weigh(l, params), where each method puts its
    own weighting (LSW: alpha and sum(alpha); MW-Net: its weight net after its meta-update, and n;
    L2RW: the clean-gradient weights, and 1); the weighted loss L = sum(w l) / norm and its gradient g;
    meta(params, g) while g is at hand (LSW: dLc/dalpha through the virtual step theta - eta g); then
    the optimiser step with g. Returns (L detached, what `meta` returned or None).
    """
    model.train()
    params = trainable(model)
    losses = per_sample_loss(model(x), y)
    w, norm = weigh(losses, params)
    loss = (w * losses).sum() / norm
    grads = dist.all_sum_each(dict(zip(params, torch.autograd.grad(loss, list(params.values())))))
    extra = meta(params, grads) if meta is not None else None
    apply_grads(optimizer, params, grads)
    return loss.detach(), extra


def lsw_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    alpha: torch.Tensor,
    clean: tuple[torch.Tensor, torch.Tensor] | None,
    eta: float,
) -> StepResult:
    """One step of Algorithm 1: the weighted real step (Eq. 1) and, when `clean` is given, dLc/dalpha.

    The real step uses the same g as the virtual one (line 9: theta <- theta'(alpha), through the
    optimiser, so momentum and weight decay apply). The caller turns grad_alpha into the w update.
    """
    meta = None
    if clean is not None:
        meta = lambda params, grads: alpha_meta_gradient(  # noqa: E731
            model, params, grads, x, y, alpha, clean[0], clean[1], eta)
    loss, out = reweighted_step(model, optimizer, x, y, lambda losses, params: (alpha, dist.all_sum(alpha.sum())), meta)
    grad_alpha, clean_loss = out if out is not None else (None, None)
    return StepResult(loss, grad_alpha, clean_loss)


def descend(model: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> torch.Tensor:
    """Back-propagate `loss` (this process's share), sum the gradients over the processes, take the optimiser's
    step and clear them; returns the loss, detached."""
    loss.backward()
    dist.sum_grads([p for p in model.parameters() if p.grad is not None])
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def plain_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               weights: torch.Tensor | None = None) -> torch.Tensor:
    """Ordinary (optionally weighted) cross-entropy step; the baseline LSW is measured against."""
    model.train()
    losses = per_sample_loss(model(x), y)
    loss = dist.mean_share(losses) if weights is None else weighted_loss(losses, weights)
    return descend(model, optimizer, loss)


def distill_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                 teacher: nn.Module, teacher_weight: float) -> torch.Tensor:
    """A step on targets that mix the given label with a trained `teacher`'s predictions on the same batch
    (knowledge distillation, Hinton et al. 2015, at temperature 1): the loss of a sample is
    (1 - teacher_weight) * CE(z, y) + teacher_weight * CE(z, softmax(teacher(x))). The teacher stays in eval
    mode and is not trained. Used by the second pass (`lsw.second_pass`, where the measurements are)."""
    teacher.eval()
    with torch.no_grad():
        soft = torch.softmax(upcast(teacher(x)), 1)
    model.train()
    logits = upcast(model(x))
    soft_loss = -(soft * torch.log_softmax(logits, 1)).sum(1)
    losses = (1 - teacher_weight) * per_sample_loss(logits, y) + teacher_weight * soft_loss
    loss = dist.mean_share(losses)
    return descend(model, optimizer, loss)
