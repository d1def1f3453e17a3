"""Compare: LSW against MW-Net, L2RW, confident learning and small-loss on the same split and noise."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lsw.home import compare_root
from lsw.research.compare import comparisons, load_comparison

st.title("Compare methods")
st.caption("Each method gives every sample a trust score (higher = trusted) on the same split, noise and model. "
           "AUC uses the full ranking; F1, FDR and recall use LSW's threshold for LSW, cleanlab's own flags for "
           "cleanlab, and the known noise rate for the others. Cost = time per training step relative to plain "
           "training, measured in the same run.")
root = compare_root()
runs = comparisons(root)
if not runs:
    st.info("No comparison yet. A comparison scores each method against the true labels, so it needs a source "
            "whose wrong labels are known (synthetic noise on a built-in set, or a true-label column); a folder "
            "with only its own labels cannot be compared. Run one from a terminal, for example:")
    st.code(f"python -m lsw compare --data digits --noise symmetric:0.3 --clean-per-class 10 --epochs 10 "
            f"--out {root}/digits-sym30", wrap_lines=True)
    st.stop()
picked = st.selectbox("Comparison", runs, format_func=lambda p: p.name)
result = load_comparison(picked)
cfg = result["config"]
st.write(f"**{cfg['data']}**, noise {cfg['noise']} (realised {result['noise_rate']:.3f}), "
         f"{result['n_noisy']:,} noisy / {result['n_clean']:,} clean, model {cfg['model']}, {cfg['epochs']} epochs, "
         f"device {result['device']}.")
table = pd.DataFrame(result["rows"])[["method", "auc", "f1", "fdr", "recall", "retrain_test_acc", "seconds",
                                      "step_cost_vs_plain"]]
st.dataframe(table.rename(columns={"auc": "AUC ↑", "f1": "F1 ↑", "fdr": "FDR ↓", "recall": "recall ↑",
                                   "retrain_test_acc": "retrained acc ↑", "step_cost_vs_plain": "cost / plain step"}),
             hide_index=True, width="stretch")
cols = st.columns(2)
for i, (method, h) in enumerate(result["histograms"].items()):
    edges = h["edges"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure()
    for group, counts in h["counts"].items():
        fig.add_bar(x=centers, y=counts, name=group, opacity=0.65,
                    marker_color={"clean": "#2b8a3e", "noisy": "#e03131"}.get(group))
    fig.update_layout(barmode="overlay", height=280, title=f"{method}: trust score (higher = trusted)",
                      margin=dict(t=40, b=30, l=40, r=10), xaxis_title="score", yaxis_title="samples")
    cols[i % 2].plotly_chart(fig, width="stretch", key=f"cmp-{method}")
