"""The review galleries: which audited samples each one shows, and why a sample is shown.

Every rule reads a sample table (`lsw.samples.sample_table`) and the run's flag score (`score`,
higher = trusted, flagged below the threshold). "Wrong" and "right" use the true labels when they
are known (synthetic noise or a manifest's true_label) and the model's prediction otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lsw.samples import AUDITED


@dataclass(frozen=True)
class Gallery:
    name: str
    title: str


GALLERIES = (
    Gallery("flagged", "Flagged: every sample whose score is under the threshold"),
    Gallery("noisy-high", "Noisy but kept: the model disagrees with the label (or it is known wrong), "
                          "yet it is not flagged"),
    Gallery("clean-low", "Clean but flagged: the model agrees with the label (or it is known right), "
                         "yet it is flagged"),
)
TITLES = {g.name: g.title for g in GALLERIES}


def gallery(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The audited rows of `table` that gallery `name` shows, in table order."""
    if name not in TITLES:
        raise ValueError(f"unknown gallery '{name}': choose one of {', '.join(TITLES)}")
    df = table[table["set"] == AUDITED] if "set" in table else table
    if name == "flagged":
        return df[df.flagged]
    agrees = df.pred == df.label
    known = "is_noisy" in df
    if name == "noisy-high":
        wrong = (~agrees) | (df.is_noisy if known else False)
        return df[wrong & ~df.flagged]
    right = agrees | (~df.is_noisy if known else False)
    return df[right & df.flagged]


def reason(row: pd.Series, score: str, threshold: float) -> str:
    """Why the sample is worth a look, in the words of the run's flag score `score` (e.g. "trust")."""
    if row.flagged:
        why = f"flagged: {score} {row.score:.2f} < {threshold}"
        if row.pred == row.label:
            why += " though the model agrees with the label"
        return why
    kept = f"yet {score} {row.score:.2f} ≥ {threshold}, so it is not flagged"
    if "is_noisy" in row.index and row.is_noisy:
        return f"label known to be wrong, {kept}"
    if row.pred != row.label:
        return f"model disagrees with the label, {kept}"
    return "kept"
