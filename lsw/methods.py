"""Sample-reweighting methods behind one interface, so LSW and its peers share the trainer.

Each method owns its per-sample state and does one training step on a noisy batch; `scores()`
gives every sample of D^n a trust score in [0, 1] where **higher = more likely correctly labeled**
(for LSW it is alpha itself). Detection metrics use 1 - score as the noisy score.

- `lsw`: Learned Sample Weights (this project; `lsw.reweight`).
- `mwnet`: Meta-Weight-Net (Shu et al. 2019): an MLP 1 -> 100 -> 1 with a sigmoid maps a sample's
  loss to its weight; trained by the meta-gradient on the clean batch with Adam 1e-3.
- `l2rw`: Learning to Reweight (Ren et al. 2018): per-batch weights max(<g_c, grad l_i>, 0) at zero
  perturbation, normalised to sum 1; nothing kept across batches for training. Its score is the mean
  of n * weight over the visits since start_epoch, clipped to [0, 1].
- `small-loss`: plain cross-entropy; score exp(-loss) of the latest evaluation (small loss = clean).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lsw import dist
from lsw.config import RunConfig
from lsw.headmeta import lsw_head_step
from lsw.reweight import (
    clean_directional_derivatives,
    lsw_step,
    plain_step,
    reweighted_step,
    scale_meta_gradient,
)

Batch = tuple[torch.Tensor, torch.Tensor]
LSW_STEPS = {"head": lsw_head_step, "full": lsw_step}  # RunConfig.meta (config.METAS) -> the LSW step
EVIDENCE_FLOOR = 2.0  # |t| that noise alone rarely passes (5% of N(0, 1)), for the "evidence" alpha step


class Method:
    """Base: `needs_clean` says whether `step` wants a clean batch once learning has started."""

    name = ""
    needs_clean = True
    trains_on_clean = False  # whether the real steps also train on D^c (positions n and up, weight 1)
    distributed = False  # whether `step` and `merge` work data-parallel (`lsw.dist`)

    def __init__(self, n: int, config: RunConfig, device: torch.device) -> None:
        self.n, self.config, self.device = n, config, device

    def step(self, model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
             pos: torch.Tensor, clean: Batch | None, lr: float, epoch: int) -> torch.Tensor:
        raise NotImplementedError

    def scores(self, eval_loss: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def merge(self, held: torch.Tensor) -> None:
        """After a data-parallel epoch: take each sample's state from the process that held it (`held`: this
        process's positions in D^n)."""

    def pin(self, fixed: np.ndarray) -> None:
        """fixed: bool (n,) over D^n, the samples whose label a reviewer gave in an earlier round. A method that
        learns a weight per sample keeps theirs at 1; the others train on every sample alike."""


class LSW(Method):
    """alpha = sigmoid(w); w from the sum of a sample's scaled meta-gradients (`config.alpha_step`; see
    `lsw.reweight` for the reading of Algorithm 1)."""

    name = "lsw"
    distributed = True

    def __init__(self, n: int, config: RunConfig, device: torch.device) -> None:
        super().__init__(n, config, device)
        self.trains_on_clean = config.train_on_clean
        self.total = torch.zeros(n, device=device)  # sum over visits of the scaled dLc/dalpha
        self.squares = torch.zeros(n, device=device)  # and of its square
        self.grad_scale = torch.zeros((), device=device)
        self.grad_scale_n = 0
        self.first_epoch = -1  # the first epoch of alpha learning (see `lsw.train.Trainer.learning_alpha`)
        self.fixed = torch.zeros(n, dtype=torch.bool, device=device)  # alpha pinned at 1 (`pin`)

    def w(self, pos: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """The logits w of alpha at `pos`.

        "sum": -eta_alpha times the sum of the sample's scaled meta-gradients (Algorithm 1's step on every
        visit). "evidence": the same sum measured in its own spread, t = sum / sqrt(sum of squares), which
        pure noise keeps near N(0, 1) however many visits; w = -eta_alpha * (t shrunk towards 0 by
        EVIDENCE_FLOOR), so a weight moves only when a sample's meta-gradients agree more than noise would.
        """
        total = self.total[pos]
        if self.config.alpha_step == "sum":
            return -self.config.eta_alpha * total
        t = total / self.squares[pos].sqrt().clamp_min(1e-20)
        return -self.config.eta_alpha * t.sign() * (t.abs() - EVIDENCE_FLOOR).clamp_min(0)

    def step(self, model, opt, x, y, pos, clean, lr, epoch):
        step = LSW_STEPS[self.config.meta]
        at = pos.clamp(max=self.n - 1)
        learned = (pos < self.n) & ~self.fixed[at]  # the rest: D^c's rows and reviewed samples, at weight 1
        alpha = torch.where(learned, torch.sigmoid(self.w(at)), 1.0)
        res = step(model, opt, x, y, alpha, clean, eta=lr)
        if res.grad_alpha is not None:
            if self.first_epoch < 0:
                self.first_epoch = epoch
            # masked rather than indexed by `learned`, so the step stays free of host syncs
            mask = learned.to(self.total.dtype)
            g = self.scaled(res.grad_alpha, epoch == self.first_epoch).to(mask.dtype) * mask
            self.total.index_add_(0, at, g)
            self.squares.index_add_(0, at, g * g)
        return res.loss

    def scaled(self, grad_alpha: torch.Tensor, first_alpha_epoch: bool) -> torch.Tensor:
        """The w step direction for `config.alpha_norm` (see `lsw.reweight`).

        "first_epoch": divide by the mean |dLc/dalpha| seen over the first epoch of alpha learning,
        then keep that divisor: scale-free across models, batch sizes and learning rates, while the
        gradient's own decay as the clean loss falls still anneals the updates. No host sync.
        """
        if self.config.alpha_norm != "first_epoch":
            return scale_meta_gradient(grad_alpha, self.config.alpha_norm)
        if first_alpha_epoch:
            self.grad_scale_n += 1
            self.grad_scale += (dist.mean(grad_alpha.abs()) - self.grad_scale) / self.grad_scale_n
        return grad_alpha / self.grad_scale.clamp_min(1e-20)

    def scores(self, eval_loss):
        return torch.where(self.fixed, 1.0, torch.sigmoid(self.w())).cpu().numpy()

    def pin(self, fixed):
        """Alpha stays 1 for a sample a reviewer labeled in an earlier round: its label is checked, and it trains
        at full weight like D^c (measured on the digits audit loop: README, *The audit loop with a simulated
        reviewer*)."""
        self.fixed = torch.as_tensor(np.asarray(fixed, dtype=bool), device=self.device)

    def merge(self, held):
        held = held[held < self.n]
        self.total = dist.merge_rows(self.total, held)
        self.squares = dist.merge_rows(self.squares, held)

    def state_dict(self):
        return {"total": self.total.cpu(), "squares": self.squares.cpu(), "grad_scale": self.grad_scale.cpu(),
                "grad_scale_n": self.grad_scale_n, "first_epoch": self.first_epoch}

    def load_state_dict(self, state):
        if "total" in state:
            self.total, self.squares = state["total"].to(self.device), state["squares"].to(self.device)
        else:  # written before the squares were kept: w = -eta_alpha * total, the "sum" step
            self.total = -state["w"].to(self.device) / self.config.eta_alpha
            self.squares = torch.zeros_like(self.total)
        self.grad_scale = state["grad_scale"].to(self.device)
        self.grad_scale_n = state["grad_scale_n"]
        self.first_epoch = state.get("first_epoch", self.config.start_epoch)


class MWNet(Method):
    """Meta-Weight-Net with the meta-gradient through the same forward-mode directional derivatives."""

    name = "mwnet"

    def __init__(self, n: int, config: RunConfig, device: torch.device) -> None:
        super().__init__(n, config, device)
        torch.manual_seed(config.seed + 7)
        self.vnet = nn.Sequential(nn.Linear(1, 100), nn.ReLU(), nn.Linear(100, 1), nn.Sigmoid()).to(device)
        self.vopt = torch.optim.Adam(self.vnet.parameters(), lr=1e-3, weight_decay=1e-4)
        self.last = torch.full((n,), 0.5, device=device)

    def step(self, model, opt, x, y, pos, clean, lr, epoch):
        def weigh(losses, params):
            if clean is not None:
                self.meta_update(model, params, losses, x, y, clean, lr)
            with torch.no_grad():
                v = self.vnet(losses.detach().float().unsqueeze(1)).squeeze(1)
            self.last[pos] = v
            return v, len(v)

        return reweighted_step(model, opt, x, y, weigh)[0]

    def meta_update(self, model, params, losses, x, y, clean, lr) -> None:
        """One Adam step of the weight net along dLc/dv through the virtual step theta - lr * sum(v l) / n."""
        v = self.vnet(losses.detach().unsqueeze(1)).squeeze(1)
        vd = v.detach()
        virtual = (vd * losses).sum() / len(vd)
        g = dict(zip(params, torch.autograd.grad(virtual, list(params.values()), retain_graph=True)))
        d, _ = clean_directional_derivatives(model, params, g, x, y, clean[0], clean[1], lr)
        grad_v = -(lr / len(vd)) * d  # dLc/dv_i for theta' = theta - lr * sum(v l) / n
        self.vopt.zero_grad(set_to_none=True)
        v.backward(grad_v.to(v.dtype))
        self.vopt.step()

    def scores(self, eval_loss):
        """The weight net applied to each sample's latest evaluation loss."""
        with torch.no_grad():
            v = self.vnet(torch.as_tensor(eval_loss, device=self.device).float().unsqueeze(1)).squeeze(1)
        return v.cpu().numpy()

    def state_dict(self):
        return {"vnet": self.vnet.state_dict(), "vopt": self.vopt.state_dict()}

    def load_state_dict(self, state):
        self.vnet.load_state_dict(state["vnet"])
        self.vopt.load_state_dict(state["vopt"])


class L2RW(Method):
    """Learning to reweight: weights from the clean gradient at zero perturbation, per batch."""

    name = "l2rw"

    def __init__(self, n: int, config: RunConfig, device: torch.device) -> None:
        super().__init__(n, config, device)
        self.total = torch.zeros(n, device=device)
        self.visits = torch.zeros(n, device=device)

    def step(self, model, opt, x, y, pos, clean, lr, epoch):
        if clean is None:
            return plain_step(model, opt, x, y)

        def weigh(losses, params):
            zeros = {k: torch.zeros_like(p) for k, p in params.items()}
            d, _ = clean_directional_derivatives(model, params, zeros, x, y, clean[0], clean[1], 0.0)
            w = d.clamp_min(0)
            w = w / w.sum().clamp_min(1e-12)
            self.total[pos] += (w * len(w)).clamp(max=1.0)
            self.visits[pos] += 1
            return w.detach(), 1.0

        return reweighted_step(model, opt, x, y, weigh)[0]

    def scores(self, eval_loss):
        return (self.total / self.visits.clamp_min(1)).cpu().numpy()

    def state_dict(self):
        return {"total": self.total.cpu(), "visits": self.visits.cpu()}

    def load_state_dict(self, state):
        self.total = state["total"].to(self.device)
        self.visits = state["visits"].to(self.device)


class SmallLoss(Method):
    """Plain cross-entropy; samples ranked by loss."""

    name = "small-loss"
    needs_clean = False
    distributed = True

    def step(self, model, opt, x, y, pos, clean, lr, epoch):
        return plain_step(model, opt, x, y)

    def scores(self, eval_loss):
        return np.exp(-np.asarray(eval_loss, dtype=np.float64)).astype(np.float32)


METHODS: dict[str, type[Method]] = {m.name: m for m in (LSW, MWNet, L2RW, SmallLoss)}


def make_method(name: str, n: int, config: RunConfig, device: torch.device) -> Method:
    from lsw.errors import LswError

    if name not in METHODS:
        raise LswError(f"unknown method '{name}': choose one of {', '.join(METHODS)}")
    return METHODS[name](n, config, device)
