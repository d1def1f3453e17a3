"""Plotly figures from a run's pre-binned per-epoch records (`RunDir.metrics`)."""
from __future__ import annotations

import plotly.graph_objects as go

from lsw.rundir import RunInfo

COLORS = {"clean": "#2b8a3e", "noisy": "#e03131", "kept": "#1c7ed6", "flagged": "#f08c00"}
TITLES = {"alpha": "Alpha (higher = trusted)", "loss": "Loss (lower = fits the label)",
          "trust": "Trust (higher = trusted)"}


def epoch_label(record: dict) -> str:
    """How a metrics record is named: "epoch N", or "second pass" for the record after the last epoch
    (`lsw.second_pass`), whose scores are the run's final ones (short: it ends a chart's title)."""
    return "second pass" if record.get("phase") == "second pass" else f"epoch {record['epoch']}"


def alpha_note(info: RunInfo) -> str | None:
    """What the alpha histogram of the run `info` describes shows, where a reader would otherwise take its
    spike at 0.5 for a model that learned nothing: under the evidence step (`lsw.methods.LSW.w`) a weight
    leaves 0.5 only once its meta-gradients agree beyond noise."""
    if info.method != "lsw" or info.alpha_step != "evidence":
        return None
    return ("Alpha stays at 0.5 until a sample's meta-gradients on the trusted set agree more than noise would, "
            "so most samples sit at 0.5 and the bars away from it are the samples the trusted set pushed."
            + (" The flags come from trust." if info.score == "trust" else ""))


def histogram(record: dict, key: str, threshold: float | None = None) -> go.Figure:
    """Overlaid bars of one epoch's pre-binned histogram `key` ("alpha", "trust" or "loss") per group, with the
    flag line at `threshold` when it is given (on the score that flags: alpha or trust)."""
    h = record["hist"][key]
    edges = h["edges"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    width = edges[1] - edges[0]
    fig = go.Figure()
    for group, counts in h["counts"].items():
        fig.add_bar(x=centers, y=counts, width=width, name=f"{group} ({sum(counts)})", opacity=0.65,
                    marker_color=COLORS.get(group))
    if key != "loss" and threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="#495057",
                      annotation_text=f"threshold {threshold} (flagged to the left)")
    fig.update_layout(barmode="overlay", title=f"{TITLES.get(key, key)} · {epoch_label(record)}", height=340,
                      xaxis_title=TITLES.get(key, key), yaxis_title="samples", margin=dict(t=50, b=40, l=50, r=10),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    return fig


CURVES = {
    "auc": "AUC (higher = better detection)", "f1": "F1 (higher = better)", "fdr": "FDR (lower = better)",
    "recall": "recall (higher = better)", "train_acc": "train accuracy vs given labels",
    "test_acc": "test accuracy (higher = better)", "clean_loss": "clean-set loss (lower = better)",
    "val_acc": "validation accuracy (higher = better)", "val_loss": "validation loss (lower = better)",
}


def curves(records: list[dict], keys: list[str], title: str) -> go.Figure:
    fig = go.Figure()
    epochs = [r["epoch"] for r in records]
    for k in keys:
        ys = [r.get(k) for r in records]
        if any(v is not None for v in ys):
            fig.add_scatter(x=epochs, y=ys, mode="lines+markers", name=CURVES.get(k, k))
    fig.update_layout(title=title, height=320, xaxis_title="epoch", margin=dict(t=50, b=40, l=50, r=10),
                      legend=dict(orientation="h", y=-0.3))
    return fig
