"""A run's folder: the one module that knows its layout, its status, and how to find runs.

    config.json        the RunConfig plus source name, fingerprint, device, classes
    samples.npz        noisy/clean/val row indices, ids (packed, `lsw.ids`), class names, the source's own labels
                       (`source_labels`), the labels training saw (`labels`: the source's, plus any
                       synthetic noise, and the reviewers' labels on trusted and reviewed rows), the labels
                       the data gives (`given_labels`: `labels` before any reviewer's) and the true labels
                       when known
    status.json        {"state": running | done | failed | stopped, "message"}, written by the audit
    epochs/NNNN/K.npy  per epoch, one .npy per array K, read memory-mapped (a page reads the arrays
                       and rows it shows, not the epoch, nor the history): over D^n the method's score
                       (`alpha` for LSW, see `lsw.scoring.score_name`), loss, pred, prob; over D^c:
                       clean_loss, clean_pred, clean_prob; over the validation set: val_loss, val_pred,
                       val_prob (float32 / int64). The folder is written under a temporary name and
                       renamed. Runs written before 2026-11-27 have epochs/NNNN.npz, still read.
    metrics.jsonl      per epoch: the scalars of EpochEvent and pre-binned histograms
    features.npz       penultimate features of a fixed subsample of D^n (the embedding map)
    evidence/K.npy     over D^n, from the finished model (`lsw.evidence`): top_class, top_prob (n, 3)
                       and near_trusted (n, 3), the train rows of the 3 nearest trusted samples
    second_pass/K.npy  over D^n, the readings the second pass averaged (`lsw.second_pass`): first (the LSW
                       trust), second (the second network's own), second_folds and first_folds (`lsw.fold_reading`)
    checkpoint.pt      model, optimiser, method state, random states, epoch (atomic, every epoch)
    <score>.npy loss.npy trust.npy   (epochs, n_noisy) stacks, written when a run ends
    summary.json       the final figures
    trusted.json       the trusted set the run learnt from, when it had one (`lsw.trusted`)
    error.log          the traceback of an unexpected failure

Everything else reads and writes a run through `RunDir`; no other module names these files.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lsw import ids as sample_ids
from lsw.atomic import atomic_write, json_default, write_json
from lsw.config import BEFORE
from lsw.scoring import METHOD_SCORES, run_score, score_name
from lsw.trust import stored_trust
from lsw.trusted import TrustedSet

if TYPE_CHECKING:
    import pandas as pd

CONFIG, SAMPLES, STATUS, METRICS = "config.json", "samples.npz", "status.json", "metrics.jsonl"
EPOCHS, FEATURES, CHECKPOINT, EVIDENCE = "epochs", "features.npz", "checkpoint.pt", "evidence"
SUMMARY, ERROR_LOG, LOSS_STACK, TRUST_STACK = "summary.json", "error.log", "loss.npy", "trust.npy"
TRUSTED, READINGS = "trusted.json", "second_pass"

RUNNING, DONE, FAILED, STOPPED = "running", "done", "failed", "stopped"
__all__ = ["RunDir", "RunInfo", "RunStatus", "Features", "atomic_write", "write_json", "RUNNING", "DONE", "FAILED",
           "STOPPED"]


def write_arrays(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """One .npy per array in `folder`, written under a temporary name and renamed over any older one."""
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for key, value in arrays.items():
        np.save(tmp / f"{key}.npy", np.asarray(value))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


@dataclass(frozen=True)
class RunStatus:
    """state: running | done | failed | stopped. A "running" run that no live job owns was
    interrupted (a crash or a restart). message: why it failed or stopped, else None."""

    state: str
    message: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """What the review, map and export screens need to know of a run (read from config.json).

    dataset: the source fingerprint that keys review decisions; data: the source spec; score: the
    name of the flag score (higher = trusted, flagged below `threshold`); epoch: the last finished
    epoch; noise: the synthetic noise spec, or None when training saw the source's own labels;
    health: that epoch's `lsw.health` verdict (None for runs from before it); learning: whether the
    model is learning (True when nothing is known), so its predictions are worth offering.
    image_size: the training size asked for (None = the model's; see `lsw.imagesize`), which names
    the decode cache the thumbnails read. alpha_step: how LSW's weights followed their meta-gradients
    (`lsw.config.ALPHA_STEPS`; runs recorded before the field existed used "sum").
    """

    run_id: str
    dataset: str
    data: str
    classes: list[str]
    threshold: float
    score: str
    epoch: int
    noise: str | None
    method: str
    health: dict | None = None
    image_size: int | None = None
    phase: str = "lsw"  # the newest record's: "second pass" when the run ended with one (`lsw.second_pass`)
    alpha_step: str = BEFORE["alpha_step"]

    @property
    def learning(self) -> bool:
        return self.health is None or bool(self.health.get("ok", True))


@dataclass(frozen=True)
class Features:
    """positions: int64 (m,), positions in D^n; features: float32 (m, D); epoch: when they were taken."""

    positions: np.ndarray
    features: np.ndarray
    epoch: int


class RunDir:
    """Read and write one run's folder (see the module docstring for the layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def error_log(self) -> Path:
        return self.path / ERROR_LOG

    def exists(self) -> bool:
        return (self.path / CONFIG).exists()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunDir) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    # -- listing ----------------------------------------------------------------------------------
    @staticmethod
    def list(root: str | Path) -> list[RunDir]:
        """The runs under `root` (folders with a config.json), newest first (run ids sort by time)."""
        root = Path(root)
        if not root.exists():
            return []
        runs = [RunDir(p) for p in root.iterdir() if (p / CONFIG).exists()]
        return sorted(runs, key=lambda r: r.run_id, reverse=True)

    @staticmethod
    def latest(root: str | Path) -> RunDir | None:
        runs = RunDir.list(root)
        return runs[0] if runs else None

    @staticmethod
    def new_id() -> str:
        """A fresh run id: the local time, then a random suffix (sorts by start time)."""
        return time.strftime("%Y%m%d-%H%M%S") + "-" + os.urandom(3).hex()

    # -- header -----------------------------------------------------------------------------------
    def write_config(self, config: dict) -> None:
        write_json(self.path / CONFIG, config)

    def config(self) -> dict:
        return json.loads((self.path / CONFIG).read_text())

    def write_samples(self, ids: np.ndarray | list[str], **arrays: np.ndarray) -> None:
        """samples.npz: `arrays`, and `ids` packed as UTF-8 bytes and offsets (`lsw.ids`)."""
        atomic_write(self.path / SAMPLES, lambda f: np.savez(f, **arrays, **sample_ids.pack(ids)))

    def samples(self, ids: bool = True) -> dict[str, np.ndarray]:
        """The samples.npz arrays, with `ids` (numpy unicode) when asked; runs written before
        `source_labels` existed get it from `labels` only when no synthetic noise was applied, and before
        `given_labels` existed, `labels`. `ids()` reads the ids faster, as an Arrow array."""
        with np.load(self.path / SAMPLES, allow_pickle=False) as z:
            skip = {sample_ids.BYTES, sample_ids.OFFSETS} if ids else {sample_ids.BYTES, sample_ids.OFFSETS, "ids"}
            out = {k: z[k] for k in z.files if k not in skip}
            if ids and sample_ids.BYTES in z.files:
                out["ids"] = sample_ids.as_numpy(z[sample_ids.BYTES], z[sample_ids.OFFSETS])
        out.setdefault("given_labels", out["labels"])
        if "source_labels" not in out and not self.config().get("noise"):
            out["source_labels"] = out["labels"]
        return out

    def ids(self):
        """Every train row's id as a `pyarrow` string array (`lsw.ids`; runs stored before the packed
        form: converted from their unicode array)."""
        with np.load(self.path / SAMPLES, allow_pickle=False) as z:
            if sample_ids.BYTES in z.files:
                return sample_ids.as_arrow(z[sample_ids.BYTES], z[sample_ids.OFFSETS])
            import pyarrow as pa

            return pa.array(z["ids"])

    def info(self) -> RunInfo:
        cfg = self.config()
        last = self.epoch_record()
        return RunInfo(run_id=self.run_id, dataset=cfg["fingerprint"], data=cfg["data"],
                       classes=[str(c) for c in cfg["classes"]], threshold=float(cfg["threshold"]),
                       score=run_score(cfg), epoch=last["epoch"] if last else 0, noise=cfg.get("noise"),
                       method=cfg.get("method", "lsw"), health=last.get("health") if last else None,
                       image_size=cfg.get("image_size"), phase=last.get("phase", "lsw") if last else "lsw",
                       alpha_step=cfg.get("alpha_step", BEFORE["alpha_step"]))

    # -- status -----------------------------------------------------------------------------------
    def write_status(self, state: str, message: str | None = None) -> None:
        write_json(self.path / STATUS, {"state": state, "message": message})

    def status(self) -> RunStatus | None:
        """The stored status; runs from before status.json: done with a summary, else running (which,
        with no live job, means interrupted). None for a folder that holds no run."""
        p = self.path / STATUS
        if p.exists():
            try:
                d = json.loads(p.read_text())
                return RunStatus(d["state"], d.get("message"))
            except (json.JSONDecodeError, KeyError):
                pass
        if (self.path / SUMMARY).exists():
            return RunStatus(DONE)
        return RunStatus(RUNNING) if self.exists() else None

    def resumable(self) -> bool:
        """Whether resuming makes sense: a checkpoint, and the run was stopped or interrupted (a
        failed run is not offered: it would fail again; a done run has nothing left)."""
        status = self.status()
        return self.checkpoint.exists() and status is not None and status.state in (RUNNING, STOPPED)

    def write_error_log(self, text: str) -> Path | None:
        """Write the traceback of an unexpected failure; returns its path (None if it cannot be written)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.error_log.write_text(text)
            return self.error_log
        except OSError:
            return None

    # -- epochs -----------------------------------------------------------------------------------
    def write_epoch(self, epoch: int, scalars: dict, histograms: dict, **arrays: np.ndarray) -> None:
        """Arrays first (atomically), then the metrics line, so a listed epoch always has its arrays."""
        write_arrays(self.path / EPOCHS / f"{epoch:04d}", arrays)  # replaces an epoch written before a resume
        with open(self.path / METRICS, "a") as f:
            f.write(json.dumps({**scalars, "hist": histograms}, default=json_default) + "\n")

    def metrics(self) -> list[dict]:
        """Per-epoch records, oldest first (a torn last line from a crash is ignored)."""
        path = self.path / METRICS
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def truncate_to(self, epoch: int) -> None:
        """Forget epochs after `epoch` (used when resuming from that epoch's checkpoint)."""
        keep = [m for m in self.metrics() if m["epoch"] <= epoch]
        atomic_write(self.path / METRICS,
                     lambda f: f.write("".join(json.dumps(m) + "\n" for m in keep).encode()))
        for p in (self.path / EPOCHS).glob("[0-9]*"):
            if int(p.name.split(".")[0]) > epoch:
                shutil.rmtree(p) if p.is_dir() else p.unlink()

    def epochs(self) -> list[int]:
        return [m["epoch"] for m in self.metrics()]

    def forget_results(self) -> None:
        """Remove what an earlier run in this folder recorded as it trained and when it ended (its epochs,
        metrics, checkpoint, stacks, features, evidence, readings, summary, error log), before a new run starts
        here: an overwritten run's epochs would otherwise stay listed with the new run's. The config, samples,
        status and trusted set are rewritten by the new run; files this layout does not name are left alone."""
        names = [METRICS, EPOCHS, FEATURES, CHECKPOINT, EVIDENCE, READINGS, SUMMARY, ERROR_LOG, LOSS_STACK,
                 TRUST_STACK] + [f"{score}.npy" for score in METHOD_SCORES.values()]
        for name in names:
            path = self.path / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def epoch_arrays(self, epoch: int) -> dict[str, np.ndarray]:
        """Every array of `epoch`, memory-mapped (read-only): only the pages of what is used are read."""
        folder = self.path / EPOCHS / f"{epoch:04d}"
        if folder.is_dir():
            return {p.stem: np.load(p, mmap_mode="r", allow_pickle=False) for p in sorted(folder.glob("*.npy"))}
        with np.load(folder.with_suffix(".npz"), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def method_score(self, epoch: int) -> np.ndarray:
        """float32 (n_noisy,): the method's own per-sample score at `epoch` (LSW: alpha), higher =
        trusted. Runs written before the score was named by its method kept it under "alpha"."""
        arrays = self.epoch_arrays(epoch)
        name = score_name(self.config().get("method", "lsw"))
        return arrays[name] if name in arrays else arrays["alpha"]

    def epoch_record(self, epoch: int | None = None) -> dict | None:
        """The metrics line of `epoch` (default the last) with its histograms, or None."""
        records = self.metrics()
        if epoch is None:
            return records[-1] if records else None
        return next((r for r in records if r["epoch"] == epoch), None)

    def write_stacks(self) -> None:
        """<score>.npy, loss.npy and trust.npy: (epochs, n_noisy) over all finished epochs."""
        epochs = self.epochs()
        name = score_name(self.config().get("method", "lsw"))
        np.save(self.path / f"{name}.npy", np.stack([self.method_score(e) for e in epochs]))
        np.save(self.path / LOSS_STACK, np.stack([self.epoch_arrays(e)["loss"] for e in epochs]))
        np.save(self.path / TRUST_STACK, np.stack([stored_trust(self.epoch_arrays(e)) for e in epochs]))

    def stack(self, key: str) -> np.ndarray:
        """(epochs, n_noisy) array of `key` over all finished epochs."""
        return np.stack([self.epoch_arrays(e)[key] for e in self.epochs()])

    def history(self, position: int) -> dict[str, np.ndarray]:
        """One audited sample (its `position` in D^n) over the finished epochs: epoch, the method's score, loss
        and trust (`lsw.trust`; exp(-loss) for runs recorded before trust was kept). Read from the stacks
        (memory-mapped, one column) once the run has written them."""
        name = score_name(self.config().get("method", "lsw"))
        epochs = self.epochs()
        stacks = {name: self.path / f"{name}.npy", "loss": self.path / LOSS_STACK, "trust": self.path / TRUST_STACK}
        if all(path.exists() for path in stacks.values()):
            columns = {k: np.array(np.load(path, mmap_mode="r")[:, position]) for k, path in stacks.items()}
            if all(len(c) == len(epochs) for c in columns.values()):
                return {"epoch": np.array(epochs), **columns}
        arrays = [self.epoch_arrays(e) for e in epochs]
        return {"epoch": np.array(epochs), name: np.array([self.method_score(e)[position] for e in epochs]),
                "loss": np.array([a["loss"][position] for a in arrays]),
                "trust": np.array([stored_trust(a)[position] for a in arrays])}

    # -- features ---------------------------------------------------------------------------------
    def write_features(self, epoch: int, positions: np.ndarray, features: np.ndarray) -> None:
        atomic_write(self.path / FEATURES,
                     lambda f: np.savez(f, positions=positions, features=features, epoch=np.int64(epoch)))

    def features(self) -> Features | None:
        """The latest features for the embedding map, or None before the first epoch."""
        p = self.path / FEATURES
        if not p.exists():
            return None
        with np.load(p) as z:
            return Features(z["positions"], z["features"], int(z["epoch"]))

    # -- evidence ---------------------------------------------------------------------------------
    def write_evidence(self, **arrays: np.ndarray) -> None:
        """The finished model's evidence arrays (`lsw.evidence.compute`), written under a temporary name
        and renamed."""
        write_arrays(self.path / EVIDENCE, arrays)

    def evidence(self, position: int) -> dict[str, np.ndarray] | None:
        """One sample's evidence (its `position` in D^n), read memory-mapped; None before the run has
        finished (or for runs recorded before evidence existed)."""
        folder = self.path / EVIDENCE
        if not folder.is_dir():
            return None
        return {p.stem: np.array(np.load(p, mmap_mode="r")[position]) for p in sorted(folder.glob("*.npy"))}

    # -- the second pass's readings -----------------------------------------------------------------
    def write_readings(self, **arrays: np.ndarray) -> None:
        """The readings the second pass averaged into the final trust (`lsw.second_pass.SecondPass`), each
        float (n_noisy,) in D^n order, written under a temporary name and renamed."""
        write_arrays(self.path / READINGS, arrays)

    def readings(self) -> dict[str, np.ndarray]:
        """The second pass's readings by name; empty for a run without them (no second pass, or recorded
        before they were kept)."""
        folder = self.path / READINGS
        return {p.stem: np.load(p) for p in sorted(folder.glob("*.npy"))} if folder.is_dir() else {}

    # -- trusted set and rounds ------------------------------------------------------------------
    @property
    def trusted_path(self) -> Path:
        return self.path / TRUSTED

    def write_trusted(self, trusted: TrustedSet | None) -> None:
        """Keep `trusted` in the folder; None: the run has no trusted set (an overwritten run's is removed)."""
        if trusted is not None:
            trusted.write(self.trusted_path)
        elif self.trusted_path.exists():
            self.trusted_path.unlink()

    def trusted_set(self) -> TrustedSet | None:
        """The trusted set the run learnt from (a copy kept in the folder), or None."""
        return TrustedSet.read(self.trusted_path) if self.trusted_path.exists() else None

    def parent(self) -> RunDir | None:
        """The run whose reviews made this round's trusted set, or None for a first round."""
        parent = self.config().get("parent_run")
        return RunDir(parent) if parent else None

    # -- summary ----------------------------------------------------------------------------------
    def write_summary(self, summary: dict) -> None:
        write_json(self.path / SUMMARY, summary)

    def summary(self) -> dict | None:
        p = self.path / SUMMARY
        return json.loads(p.read_text()) if p.exists() else None

    # -- reading for the screens ------------------------------------------------------------------
    def sample_table(self, epoch: int | None = None, trusted: bool = False) -> pd.DataFrame:
        """See `lsw.samples.sample_table`."""
        from lsw.samples import sample_table

        return sample_table(self, epoch, trusted=trusted)
