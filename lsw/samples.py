"""One row per noisy-set sample of a run: what galleries show and what export writes."""
from __future__ import annotations

import pandas as pd

from lsw.rundir import RunDir
from lsw.scoring import flag_score, run_score


def sample_table(run: RunDir, epoch: int | None = None) -> pd.DataFrame:
    """The noisy set D^n at `epoch` (default: the last finished one).

    Columns: row (index in the train set), id, label (given, int), label_name, alpha (higher =
    trusted), loss, pred, pred_name, prob, trust, score (the flag score of the run's `score` rule, see
    `lsw.scoring`), flagged (score < threshold), and when true labels are
    known true_label and is_noisy. Sorted by D^n order. Empty frame when no epoch has finished.
    """
    s = run.samples()
    cfg = run.config()
    classes = [str(c) for c in s["classes"]]
    noisy = s["noisy_index"]
    epochs = run.epochs()
    if not epochs:
        return pd.DataFrame()
    arrays = run.epoch_arrays(epoch if epoch is not None else epochs[-1])
    labels = s["labels"][noisy]
    df = pd.DataFrame({
        "row": noisy,
        "id": s["ids"][noisy],
        "label": labels,
        "label_name": [classes[k] for k in labels],
        "alpha": arrays["alpha"],
        "loss": arrays["loss"],
        "pred": arrays["pred"],
        "pred_name": [classes[k] for k in arrays["pred"]],
        "prob": arrays["prob"],
    })
    df["trust"] = flag_score("trust", arrays["alpha"], arrays["loss"])
    df["score"] = flag_score(run_score(cfg), arrays["alpha"], arrays["loss"])
    df["flagged"] = df["score"] < cfg["threshold"]
    if "true_labels" in s:
        true = s["true_labels"][noisy]
        df["true_label"] = true
        df["is_noisy"] = true != labels
    return df


def export_frame(run: RunDir, epoch: int | None = None) -> pd.DataFrame:
    """The CLI export: id, given label, alpha, loss, predicted label, flagged (class names)."""
    df = sample_table(run, epoch)
    return pd.DataFrame({
        "id": df["id"], "given_label": df["label_name"], "alpha": df["alpha"].round(6),
        "loss": df["loss"].round(6), "predicted_label": df["pred_name"], "flagged": df["flagged"]})

