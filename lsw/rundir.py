"""A run's folder on disk: what the trainer writes and what the CLI export and the dashboard read.

    config.json        the RunConfig plus source name, fingerprint, device
    samples.npz        noisy/clean/val row indices, ids, given and true labels, class names
    epochs/NNNN.npz    per epoch over D^n: alpha, loss, pred, prob (float32 / int64)
    metrics.jsonl      per epoch: the scalars of EpochEvent and pre-binned histograms
    checkpoint.pt      model, optimiser, w, random states, epoch (written atomically every epoch)
    alpha.npy loss.npy (epochs, n_noisy) stacks, written when a run ends
    summary.json       the final figures
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write(path: Path, write: Any) -> None:
    """Call write(file_object) on a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, default=_json_default).encode()))


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


class RunDir:
    """Read and write one run's folder (see the module docstring for the layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.pt"

    def exists(self) -> bool:
        return (self.path / "config.json").exists()

    def write_config(self, config: dict) -> None:
        write_json(self.path / "config.json", config)

    def config(self) -> dict:
        return json.loads((self.path / "config.json").read_text())

    def write_samples(self, **arrays: np.ndarray) -> None:
        atomic_write(self.path / "samples.npz", lambda f: np.savez(f, **arrays))

    def samples(self) -> dict[str, np.ndarray]:
        with np.load(self.path / "samples.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def write_epoch(self, epoch: int, scalars: dict, histograms: dict, **arrays: np.ndarray) -> None:
        """Arrays first (atomically), then the metrics line, so a listed epoch always has its arrays."""
        atomic_write(self.path / "epochs" / f"{epoch:04d}.npz", lambda f: np.savez(f, **arrays))
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(json.dumps({**scalars, "hist": histograms}, default=_json_default) + "\n")

    def metrics(self) -> list[dict]:
        """Per-epoch records, oldest first (a torn last line from a crash is ignored)."""
        path = self.path / "metrics.jsonl"
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
        atomic_write(self.path / "metrics.jsonl",
                     lambda f: f.write("".join(json.dumps(m) + "\n" for m in keep).encode()))
        for p in (self.path / "epochs").glob("*.npz"):
            if int(p.stem) > epoch:
                p.unlink()

    def epochs(self) -> list[int]:
        return [m["epoch"] for m in self.metrics()]

    def epoch_arrays(self, epoch: int) -> dict[str, np.ndarray]:
        with np.load(self.path / "epochs" / f"{epoch:04d}.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def stack(self, key: str) -> np.ndarray:
        """(epochs, n_noisy) array of `key` over all finished epochs."""
        return np.stack([self.epoch_arrays(e)[key] for e in self.epochs()])

    def write_summary(self, summary: dict) -> None:
        write_json(self.path / "summary.json", summary)

    def summary(self) -> dict | None:
        p = self.path / "summary.json"
        return json.loads(p.read_text()) if p.exists() else None
