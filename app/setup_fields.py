"""Setup's fields taken from a run: a session that opens Setup with nothing chosen yet (a reload, a restarted
dashboard, a second tab) starts from the run the pages show, so the annotator finds their own folder, trusted
set and settings rather than the demo's digits with synthetic noise."""
from __future__ import annotations

from lsw.config import METAS
from lsw.errors import LswError
from lsw.imagesize import MAX_SIZE, MIN_SIZE
from lsw.models import MODELS
from lsw.rundir import RunDir
from lsw.scoring import SCORES
from lsw.trusted import REVIEWS, VERIFIED, TrustedSet

USER_DATA = ("folder", "csv")
NOISE_TYPES = ("none", "symmetric", "asymmetric", "instance")
# (lowest, highest) of Setup's number fields, by session key; Setup's widgets take theirs from here
BOUNDS = {
    "setup_verify_n": (1, 1000), "setup_cpc": (1, 10_000), "setup_frac": (0.01, 0.5), "setup_epochs": (1, 500),
    "setup_batch": (8, 4096), "setup_lr": (1e-5, 5.0), "setup_start": (0, 100), "setup_thr": (0.05, 0.95),
    "setup_retrain": (0, 500), "setup_second_pass": (0.0, 1.0), "setup_noise_rate": (0.0, 0.9),
    "setup_noise_seed": (0, 10_000), "setup_image_size": (MIN_SIZE, MAX_SIZE),
}
CHOICES = {"setup_model": ("auto", *MODELS), "setup_meta": tuple(METAS), "setup_score": tuple(SCORES),
           "setup_noise_type": NOISE_TYPES}


def verified_per_class(trusted: TrustedSet | None, num_classes: int) -> int | None:
    """How many samples a class the run's verified sample held (its trusted set's `labels`), rounded; None
    without one."""
    if trusted is None or not trusted.labels:
        return None
    return max(1, round(len(trusted.labels) / max(num_classes, 1)))


def setup_from_run(run: RunDir, builtins: list[str]) -> dict[str, object]:
    """`fields_from_run` for `run`, with the copy of the trusted set its folder keeps (an unreadable copy: the
    sample size stays Setup's default)."""
    try:
        trusted = run.trusted_set()
    except LswError:
        trusted = None
    return fields_from_run(run.config(), builtins, trusted)


def fields_from_run(config: dict, builtins: list[str], trusted: TrustedSet | None = None) -> dict[str, object]:
    """Setup's session keys for a run's `config` (`config.json`), each value one its field accepts (a run
    started from the CLI may hold others: those fields keep Setup's defaults); empty when the run's source is
    not one Setup offers (a packed CIFAR-10 file, say)."""
    return {k: v for k, v in _fields(config, builtins, trusted).items() if _fits(k, v)}


def _fits(key: str, value: object) -> bool:
    if key in BOUNDS:
        low, high = BOUNDS[key]
        return low <= value <= high
    return key not in CHOICES or value in CHOICES[key]


def _fields(config: dict, builtins: list[str], trusted: TrustedSet | None) -> dict[str, object]:
    data = str(config.get("data") or "")
    kind, _, path = data.partition(":")
    if data in builtins:
        kind, path = data, ""
    elif kind not in USER_DATA or not path:
        return {}
    noise = config.get("noise")
    noise_type, _, rate = (noise or "none").partition(":")
    out: dict[str, object] = {
        "setup_kind": kind, "setup_path": path, "setup_noise_type": noise_type,
        "setup_noise_seed": int(config.get("noise_seed", 0)), "setup_epochs": int(config["epochs"]),
        "setup_model": config["model"], "setup_batch": int(config["batch_size"]), "setup_lr": float(config["lr"]),
        "setup_start": int(config["start_epoch"]), "setup_thr": float(config["threshold"]),
        "setup_retrain": int(config.get("retrain_epochs", 0)), "setup_second_pass": float(config["second_pass"]),
        "setup_meta": config["meta"], "setup_score": config["score"],
    }
    if rate:
        out["setup_noise_rate"] = float(rate)
    if config.get("image_size"):
        out["setup_image_size"] = int(config["image_size"])
    if config.get("clean_set") in (VERIFIED, REVIEWS):
        out["setup_clean_by"] = "verify"
        per_class = verified_per_class(trusted, len(config.get("classes") or []))
        if per_class is not None:
            out["setup_verify_n"] = per_class
    else:
        out["setup_clean_by"] = "random"
        if config.get("clean_per_class"):
            out.update(setup_clean_mode="per class", setup_cpc=int(config["clean_per_class"]))
        else:
            out.update(setup_clean_mode="fraction", setup_frac=float(config["clean_frac"]))
    return out
