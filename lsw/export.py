"""Corrected labels to CSV: one row per sample, formula-safe cells, written atomically."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from lsw.rundir import atomic_write
from lsw.store import Decision

COLUMNS = ["id", "path", "original_label", "final_label", "action", "reviewer", "time", "alpha", "loss",
           "predicted_label", "flagged"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix a string that a spreadsheet would run as a formula with a quote (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def export_rows(samples: pd.DataFrame, final: dict[str, Decision]) -> pd.DataFrame:
    """Every sample with its final label.

    samples: columns id, path, label (original class name), alpha, loss, pred (class name), flagged.
    final: the effective decision per sample id (`ReviewStore.final_states`).
    final_label: the new label for relabel, empty for exclude, else the original label.
    """
    rows = []
    for s in samples.itertuples(index=False):
        d = final.get(str(s.id))
        action = d.action if d else ""
        final_label = s.label
        if d is not None and d.action == "relabel":
            final_label = d.new_label
        elif d is not None and d.action == "exclude":
            final_label = ""
        rows.append({"id": s.id, "path": s.path, "original_label": s.label, "final_label": final_label,
                     "action": action, "reviewer": d.reviewer if d else "", "time": d.ts if d else "",
                     "alpha": float(s.alpha), "loss": float(s.loss), "predicted_label": s.pred,
                     "flagged": bool(s.flagged)})
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("id", "path", "original_label", "final_label", "action", "reviewer", "time", "predicted_label"):
        df[col] = df[col].map(lambda v: neutralise(str(v)) if v is not None else "")
    return df


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write atomically (temporary file in the same folder, fsync, rename); parents are created."""
    path = Path(path)
    atomic_write(path, lambda f: f.write(to_csv_bytes(df)))
    return path
