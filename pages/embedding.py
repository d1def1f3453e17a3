"""Embedding map: UMAP of the model's penultimate features, coloured by alpha, flag or class."""
from __future__ import annotations

import numpy as np
import plotly.express as px
import streamlit as st

from app import runview, state
from app.cards import paged_grid
from app.embedding import embedder
from app.review import show_notices

st.title("Embedding map")
st.caption("UMAP of the current model's penultimate features for a fixed subsample of up to 3,000 samples. "
           "Wrong labels often sit inside another class's cluster. Select points (box or lasso) to review them.")
show_notices()
df, info = runview.require()
run = state.current_run()
feats = run.features()
if feats is None:
    st.info("No features yet: they are written after every epoch.")
    st.stop()
positions, features, feat_epoch = feats.positions, feats.features, feats.epoch
key = (str(run.path), feat_epoch)
result = embedder().request(key, features)


@st.fragment(run_every=1.0 if result["status"] == "running" else None)
def wait() -> None:
    r = embedder().get(key)
    if r["status"] == "running":
        st.progress(0.5, text=f"Computing UMAP of {len(features):,} samples (epoch {feat_epoch})… the first one "
                              "in a process also compiles UMAP and takes longer.")
    elif st.session_state.get("_umap_wait") == key:
        st.session_state["_umap_wait"] = None
        st.rerun()
    if r["status"] == "running":
        st.session_state["_umap_wait"] = key


if result["status"] == "running":
    wait()
    st.stop()
if result["status"] == "failed":
    st.error(f"UMAP failed: {result['error']}")
    st.stop()

sub = df.iloc[positions].reset_index(drop=True)
sub["x"], sub["y"] = result["xy"][:, 0], result["xy"][:, 1]
sub["state"] = np.where(sub.flagged, "flagged", "kept")
COLOURS = {"alpha": "alpha", "flag score": "score", "flag": "state", "given class": "given_name",
           "predicted class": "pred_name"}
colour = st.radio("Colour by", list(COLOURS), horizontal=True, key="map_colour")
column = COLOURS[colour]
fig = px.scatter(sub, x="x", y="y", color=column, hover_name="id",
                 hover_data={"given_name": True, "pred_name": True, "alpha": ":.3f", "score": ":.3f", "x": False,
                             "y": False},
                 color_continuous_scale="RdYlGn", range_color=(0, 1) if column in ("alpha", "score") else None,
                 labels={"alpha": "alpha (higher = trusted)", "score": f"{info.score} (higher = trusted)",
                         "given_name": "given", "pred_name": "predicted"},
                 height=620)
fig.update_traces(marker=dict(size=5))
fig.update_layout(dragmode="lasso", margin=dict(t=30, b=10, l=10, r=10))
event = st.plotly_chart(fig, width="stretch", on_select="rerun", selection_mode=("points", "box", "lasso"),
                        key="umap")
points = event.selection.points if event and event.selection else []
picked = sorted({p["point_index"] for p in points if "point_index" in p})
if picked and column in ("given_name", "pred_name", "state"):
    # with a discrete colour each trace numbers its own points: map back through the hover name
    ids = {p.get("hovertext") for p in points}
    chosen = sub[sub.id.isin(ids)]
else:
    chosen = sub.iloc[picked]
if len(chosen):
    st.subheader(f"{len(chosen)} selected sample(s)")
    paged_grid(chosen, info, *runview.decisions(df, info), key="map_page")
else:
    st.caption("No points selected.")
