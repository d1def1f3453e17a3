"""Run configuration: every knob of an LSW audit, with the paper's defaults where it has one."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

ALPHA_STEPS = ("sum", "evidence")  # how w follows a sample's meta-gradients (`lsw.methods.LSW.w`)
METAS = ("head", "full")  # the LSW steps of `lsw.methods.LSW_STEPS`
# What a run recorded before these fields existed trained with (a resumed run or its next round goes on so).
BEFORE = {"alpha_step": "sum", "train_on_clean": False, "fold_reading": 0, "fold_first": False, "fold_keep": 0.0,
          "fold_reading_first": 0}
DATA_PATHS = ("auto", "resident", "stream")  # see `lsw.batches`


@dataclass
class RunConfig:
    """Everything that defines one audit run. Plain values, so it round-trips through JSON.

    method: the reweighting method: `lsw` (this project), or a peer for comparison from
        `lsw.methods.METHODS` (`mwnet`, `l2rw`, `small-loss`).
    data: a source spec (`digits`, `fashion-mnist[:DIR]`, `cifar10:PATH`, `folder:PATH`, `csv:PATH`).
    noise: synthetic noise for evaluation, `symmetric:E`, `asymmetric:E` or `instance:E`; None = none.
    labels: `PATH.npz:KEY`, given labels for the noisy set from a file (the source's labels become the
        truth; e.g. CIFAR-10 with CIFAR-10N's human labels, see `lsw.data.labels`); None = the source's.
    clean_frac / clean_per_class: how the trusted set is drawn when the source has no trusted rows
        (clean_per_class wins when set). Paper: 10% of the training set.
    val_frac: the part of the trusted set held out as a validation set (never trained on, never seen by
        the meta-gradient; at least 2 per class, see `lsw.splits.hold_out`); the rest is D^c. 0 = none.
    model: `auto` picks from the image size; else a name from `lsw.models.MODELS`.
    start_epoch: epochs of plain weighted training (alpha fixed at 0.5) before alpha is learned.
    start_steps: and at least this many SGD steps before it, or half of the run's steps when fewer (the later
        of the two with start_epoch; 0 = epochs only). The paper waits 2 epochs, 720 steps on its CIFAR-10,
        for a model that tells classes apart; a small collection's epoch is a handful of steps. On the
        1,500-photo CIFAR-10 folder (11 steps an epoch, 20 epochs) alpha from epoch 3 gave AUC 0.8398 /
        0.8356 (seeds 0 / 1), from epoch 7 0.8614, from epoch 11 (110 steps) 0.8686 / 0.8652. Data sets of
        6,400 samples or more (50 batches of 128: start_epoch's 2 epochs already make 100 steps) are not
        affected.
    eta_alpha: under the "sum" step, the step on the logit w per visit, in units of the mean
        |meta-gradient| of the first epoch of alpha learning (see `lsw.reweight`). Digits, 30% symmetric
        noise, 10 epochs: AUC 0.969 / 0.968 / 0.966 / 0.962 for 0.5 / 1 / 2 / 4 (first_epoch); per-batch
        normalisation ("mean_abs", 0.5) gave 0.941, because it keeps pushing alpha once the clean loss is
        flat. Under the "evidence" step, w per unit of evidence beyond the floor (`lsw.methods.LSW.w`).
    alpha_norm: how the meta-gradient is scaled before the step ("first_epoch", "mean_abs", "none").
    alpha_step: how w follows a sample's scaled meta-gradients: "sum" (the paper's, Algorithm 1's step
        on every visit) or "evidence" (their sum over the root of the sum of their squares, shrunk by
        `lsw.methods.EVIDENCE_FLOOR`). Why evidence, at eta_alpha 4: on CIFAR-10N random1 (5k subset,
        seed 0) the sum's weights random-walk and the LSW network ranks 0.8585; by evidence, with D^c in
        the real steps, 0.8876 (README, "The evidence step"). On Fashion-MNIST 6k instance 0.4 it costs
        0.005 (0.9689 against 0.9735). Use "sum" with `score="alpha"`: by evidence most weights stay 0.5.
    train_on_clean: LSW's real steps train on D^c too, at weight 1, besides its meta-gradient (the paper
        keeps D^c for the meta-gradient; its final classifier trains on it). With the evidence step on
        that subset, the LSW network ranked 0.8820 with D^c and 0.8671 without (one seed).
    meta: which meta-gradient LSW steps with: "head" (default; Eq. 2 through the last layer, fused
        into the real step, `lsw.headmeta`), which costs a plain step plus a no-grad forward of the
        clean batch, or "full" (Eq. 2 over every parameter, one forward-mode pass, `lsw.reweight`).
        Why head: flagged by trust, it detects as well as full (AUC 0.9729 / 0.9727 on Fashion-MNIST
        6k instance 0.4; 0.9997 / 0.9993 on digits symmetric 0.3) at 2.4x to 2.8x less time per
        epoch on the CPU. Its alpha alone is weaker (0.84 / 0.90 on that Fashion-MNIST run).
    score: what flags a sample, "trust" (how strongly the LSW model holds to the given label, `lsw.trust`) or
        "alpha"
        (the paper's rule); see `lsw.scoring` for why trust is the default.
    threshold: samples whose score is >= threshold are kept as clean; below it they are flagged.
    image_size: the side S, in pixels, every decoded image is fitted to (centre-crop, `lsw.data.decode`);
        None = the model's own (32, `lsw.imagesize`); images smaller than S keep their size. 8 to 512.
    data_path: how training reads the images: "auto" keeps them on the device when they fit the
        budget of `lsw.batches`, else streams them from the memory-mapped decode cache; "resident"
        or "stream" forces one (both visit the samples in the same order and give the same result).
    max_samples: use a seeded random subset of this many training samples (quick CPU experiments).
    trusted: path of a trusted-set JSON (`lsw.trusted`): D^c verified by a reviewer or grown from reviews;
        it replaces the random draw of clean_frac / clean_per_class. None = no such set.
    parent_run / round: the run whose reviews made this round's trusted set (`lsw.rounds`), and this
        run's round number (1 for a first run).
    eval_test: evaluate the test split after every epoch, for display only (never used for a choice);
        the paper-table harness turns it off so the test split is read once, at the end.
    retrain: `none`, or a Table 6 setting name from `lsw.retrain.SETTINGS`.
    second_pass: after the LSW epochs, a fresh network trained plainly for `epochs` epochs on this fraction
        of D^n with the highest trust (plus D^c) scores D^n again, and the final trust is the mean of both
        networks' (`lsw.second_pass`, where the measurements are). 0 = none. LSW flagging by trust only.
    teacher_weight: the share of the second network's training targets taken from the LSW network's
        predictions (knowledge distillation, `lsw.reweight.distill_step`); the rest is the given label.
        0 = the given labels alone, the default: 0.5 was measured and not adopted (`lsw.second_pass`).
    fold_reading: the second pass also reads D^n by copies of its network fine-tuned without each of this many
        folds of its rows, each fold by its own copy (`lsw.fold_reading`: a network accepts the wrong labels it
        trains on), and that reading stands in for the second network's own in the final trust. 0 = none.
    fold_first: with `fold_reading`, the LSW network is read the same way (copies of it fine-tuned without each
        fold), and that reading stands in for its own trust in the final mean (`lsw.second_pass`).
    fold_reading_first: with `fold_first`, the folds of the LSW network's reading (8: its copies each keep seven
        eighths of the rows; measured in `lsw.fold_reading`). 0 = as many as `fold_reading`, as runs before it did.
    fold_keep: with `fold_reading`, the share of D^n the fold copies fine-tune on (and read fold by fold): the
        samples that the mean of the two networks' in-sample trust ranks highest (`lsw.second_pass`). 0 = the
        second network's own rows (the `second_pass` share by the LSW trust), as runs before it did.
    """

    method: str = "lsw"
    data: str = "digits"
    noise: str | None = None
    labels: str | None = None
    noise_seed: int = 0
    clean_frac: float = 0.1
    clean_per_class: int | None = None
    val_frac: float = 0.2
    model: str = "auto"
    epochs: int = 20
    batch_size: int = 128
    clean_batch_size: int = 250
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    start_epoch: int = 2
    start_steps: int = 100
    eta_alpha: float = 4.0
    alpha_norm: str = "first_epoch"
    alpha_step: str = "evidence"
    train_on_clean: bool = True
    meta: str = "head"
    score: str = "trust"
    threshold: float = 0.3
    retrain: str = "none"
    retrain_epochs: int = 0
    retrain_batch_size: int = 125
    second_pass: float = 0.9
    teacher_weight: float = 0.0
    fold_reading: int = 4
    fold_first: bool = True
    fold_reading_first: int = 8
    fold_keep: float = 0.8
    seed: int = 0
    device: str = "auto"
    eval_test: bool = True
    max_samples: int | None = None
    image_size: int | None = None
    data_path: str = "auto"
    trusted: str | None = None
    parent_run: str | None = None
    round: int = 1

    def first_weight_epoch(self, per_epoch: int) -> int:
        """The first epoch (0-based) whose steps may learn sample weights, with `per_epoch` steps an epoch:
        after `start_epoch` epochs and `start_steps` steps, never more than half of the run's steps
        (`lsw.train.Trainer.alpha_this_epoch` adds the gate on the model learning)."""
        wait = min(self.start_steps, self.epochs * per_epoch // 2)
        return max(self.start_epoch, -(-wait // per_epoch))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{**BEFORE, **{k: v for k, v in d.items() if k in names}})
