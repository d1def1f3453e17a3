"""The command-line flags of a RunConfig, shared by `python -m lsw run` and the research harnesses."""
from __future__ import annotations

import argparse
import dataclasses

from lsw.config import ALPHA_STEPS, DATA_PATHS, METAS, RunConfig
from lsw.errors import LswError
from lsw.imagesize import check_image_size
from lsw.scoring import SCORES

DEFAULTS = RunConfig()


def add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=DEFAULTS.data, help="digits | fashion-mnist[:DIR] | cifar10:PATH | "
                   "folder:PATH | csv:PATH (default %(default)s)")
    p.add_argument("--noise", default=None,
                   help="synthetic noise for evaluation: symmetric:E, asymmetric:E, instance:E")
    p.add_argument("--noise-seed", type=int, default=DEFAULTS.noise_seed)
    p.add_argument("--labels", default=None, help="PATH.npz:KEY, given labels from a file (the source's own "
                   "labels become the truth), e.g. ../shared/data/cifar10n-random1.npz:random_label1")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--clean-frac", type=float, default=DEFAULTS.clean_frac,
                   help="fraction of each class drawn as the clean set D^c (default %(default)s)")
    g.add_argument("--clean-per-class", type=int, default=None, help="N clean samples per class instead")
    p.add_argument("--model", default=DEFAULTS.model, help="auto | resnet18 | resnet34 | fastcnn | smallcnn | tinynet")
    for name in ("epochs", "batch_size", "clean_batch_size", "start_epoch", "start_steps", "retrain_epochs",
                 "retrain_batch_size", "seed"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(DEFAULTS, name))
    for name in ("lr", "momentum", "weight_decay", "eta_alpha", "threshold"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(DEFAULTS, name))
    p.add_argument("--alpha-norm", default=DEFAULTS.alpha_norm, choices=["first_epoch", "mean_abs", "none"])
    p.add_argument("--alpha-step", default=DEFAULTS.alpha_step, choices=ALPHA_STEPS,
                   help="w from the sum of a sample's meta-gradients (sum, the paper's) or from that sum over "
                   "the root of the sum of their squares, beyond a floor noise rarely passes (evidence); "
                   "default %(default)s")
    p.add_argument("--train-on-clean", action=argparse.BooleanOptionalAction, default=DEFAULTS.train_on_clean,
                   help="LSW: train on the trusted set D^c too, at weight 1, as well as steering the weights by it")
    p.add_argument("--score", default=DEFAULTS.score, choices=SCORES,
                   help="what flags a sample: trust (how strongly the LSW model holds to the given label) or alpha")
    p.add_argument("--meta", default=DEFAULTS.meta, choices=METAS,
                   help="LSW meta-gradient: head (last layer, fused) or full (every parameter); default %(default)s")
    p.add_argument("--retrain", default="filtered", help="retraining setting when --retrain-epochs > 0: "
                   "plain | weighted | filtered | filtered-weighted | upper-bound")
    p.add_argument("--second-pass", type=float, default=DEFAULTS.second_pass, metavar="KEEP",
                   help="after training, a fresh network trained on this share of the most trusted samples scores "
                   "them all again; the final trust averages both (0 = none; default %(default)s)")
    p.add_argument("--teacher-weight", type=float, default=DEFAULTS.teacher_weight, metavar="W",
                   help="the share of the second network's training targets taken from the LSW network's "
                   "predictions, the rest from the given labels (default %(default)s: the labels alone)")
    p.add_argument("--fold-reading", type=int, default=DEFAULTS.fold_reading, metavar="K",
                   help="the second pass also reads its own samples by copies of its network fine-tuned without "
                   "each of K folds of them, out of sample (0 = none; default %(default)s)")
    p.add_argument("--no-fold-first", dest="fold_first", action="store_false",
                   help="read only the second network in folds; the LSW network's own trust enters the final mean "
                   "(default: both networks are read in folds)")
    p.add_argument("--fold-reading-first", type=int, default=DEFAULTS.fold_reading_first, metavar="K",
                   help="the folds of the LSW network's reading (0 = as many as --fold-reading; default %(default)s)")
    p.add_argument("--fold-keep", type=float, default=DEFAULTS.fold_keep, metavar="SHARE",
                   help="the share of the samples the fold copies fine-tune on: those both networks trust most "
                   "(0 = the second network's own rows; default %(default)s)")
    p.add_argument("--device", default=DEFAULTS.device, help="auto | cpu | cuda | cuda:N")
    p.add_argument("--max-samples", type=int, default=None, help="a seeded subset of the training set")
    p.add_argument("--image-size", type=int, default=None, help="train at S x S pixels: every image is "
                   "centre-cropped to it when decoded (8 to 512; default: the model's, 32)")
    p.add_argument("--no-eval-test", dest="eval_test", action="store_false",
                   help="skip the test split's evaluation after every epoch (display only; on a CPU it can take "
                   "longer than the epoch's training)")
    p.add_argument("--data-path", default=DEFAULTS.data_path, choices=DATA_PATHS,
                   help="auto: images on the device when they fit its budget, else streamed from the disk "
                   "cache; resident or stream forces one")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The RunConfig of the flags; LswError (one line, exit 2) for a value out of range, before any file
    is written."""
    names = {f.name for f in dataclasses.fields(RunConfig)}
    config = RunConfig(**{k: v for k, v in vars(args).items() if k in names})
    if config.image_size is not None:
        check_image_size(config.image_size)
    if not 0 <= config.second_pass <= 1:
        raise LswError(f"--second-pass is the share of samples the second network trains on, from 0 (none) to 1, "
                       f"not {config.second_pass:g}")
    _check_folds("--fold-reading", config.fold_reading, "none")
    _check_folds("--fold-reading-first", config.fold_reading_first, "as many as --fold-reading")
    if not 0 <= config.fold_keep <= 1:
        raise LswError(f"--fold-keep is the share of samples the fold copies fine-tune on, from 0 (the second "
                       f"network's own rows) to 1, not {config.fold_keep:g}")
    if not 0 <= config.teacher_weight <= 1:
        raise LswError(f"--teacher-weight is a share of the second network's targets, from 0 to 1, "
                       f"not {config.teacher_weight:g}")
    return config


def _check_folds(flag: str, folds: int, zero: str) -> None:
    """LswError unless `folds` is a number of folds (2 or more) or 0, which means `zero`."""
    if folds < 0 or folds == 1:
        raise LswError(f"{flag} is a number of folds, 2 or more (0 = {zero}), not {folds}")
