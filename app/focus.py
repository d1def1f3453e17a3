"""Focused review: one sample at a time, large, with the evidence for its flag; the model's label is
preselected and the next sample of the queue shows as soon as a decision is made.

Two reviewers on the same queue are never served the same sample at the same time: each sample shown
is leased to its reviewer in the review store (`ReviewStore.claim_next`), and every refresh reads the
store, so each sees the other's decisions.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import runview, state
from app.cards import review_item, state_line
from app.review import decide
from app.thumbs import thumbnail_or_reason
from lsw.data.paths import original_file
from lsw.galleries import reason
from lsw.rundir import RunDir, RunInfo
from lsw.samples import given_labels
from lsw.store import Decision

KEYS = {"correct": ("Keep label", "K"), "relabel": ("Relabel", "L"), "exclude": ("Exclude", "X"),
        "ambiguous": ("Ambiguous", "A")}  # Streamlit shows each button's key beside its label
SHORTCUTS = ("K keep label · L relabel to the class chosen · X exclude · A ambiguous · S skip · U undo my last · "
             "Z zoom to the original file · Tab then type to choose another class")


@st.dialog("The original file", width="large")
def zoom(path: Path, sid: str) -> None:
    """The sample's own file at full resolution, in a window over the page (Escape closes it)."""
    st.image(str(path), caption=f"{sid} at full resolution", width="stretch")


def evidence(run: RunDir, info: RunInfo, row: pd.Series) -> None:
    """Why is this here: the reason in words, the score and trust over the epochs, the finished model's
    top 3 classes, and the 3 nearest trusted samples by the model's features (`lsw.evidence`)."""
    import plotly.express as px

    position = int(row.name)
    h = run.history(position)
    score_name = next(k for k in h if k not in ("epoch", "loss", "trust"))
    frame = pd.DataFrame({"epoch": h["epoch"].astype(int), score_name: h[score_name].astype(float),
                          "trust": h["trust"].astype(float)})
    st.caption(f"Why is this here? {reason(row, info.score, info.threshold)}")
    fig = px.line(frame, x="epoch", y=[score_name, "trust"], markers=True, height=170, range_y=(0, 1),
                  labels={"value": "higher = trusted", "variable": ""})
    fig.update_layout(margin=dict(t=5, b=5, l=5, r=5), legend=dict(orientation="h", y=1.15))
    fig.update_xaxes(dtick=1)
    st.plotly_chart(fig, width="stretch", key="focus_history")
    ev = run.evidence(position)
    if ev is None:
        st.caption("The model's top classes and the nearest trusted samples are shown once the run has finished.")
        return
    top = " · ".join(f"{info.classes[int(c)]} {float(p):.0%}" for c, p in zip(ev["top_class"], ev["top_prob"]))
    st.markdown(f"**Model's top 3:** {top}")
    near = [int(r) for r in ev["near_trusted"] if r >= 0]
    if not near:
        return
    st.markdown("**Nearest trusted samples** (by the model's features)")
    labels = runview.row_labels(run)
    for col, r in zip(st.columns(len(near)), near):
        pic = thumbnail_or_reason(info.data, r, info.image_size)
        with col:
            st.image(pic, width=90) if isinstance(pic, bytes) else st.caption(pic)
            st.caption(f"trusted: **{info.classes[int(labels[r])]}**")


def _skip(sid: str) -> None:
    st.session_state.setdefault("focus_skipped", []).append(sid)


def view(df: pd.DataFrame, info: RunInfo, final: dict[str, Decision], latest: dict[str, int]) -> None:
    """The next sample of the queue (flagged, least trusted first) for this reviewer."""
    ok, why = state.may_review()
    if not ok:
        st.warning(why)
        return
    queue = df[df.flagged].sort_values("score", kind="stable")
    skipped = set(st.session_state.get("focus_skipped", []))
    candidates = [str(s) for s in queue.id if str(s) not in skipped]
    given = given_labels(df)  # the labels the decisions are keyed by
    sid = state.store().claim_next(info.dataset, state.reviewer(), candidates, given)
    st.session_state["focus_sid"] = sid
    if sid is None:
        st.success("Nothing left in the queue for you: every flagged sample is reviewed (or held by another "
                   "reviewer right now, or skipped).")
        return
    row = queue[queue.id.astype(str) == sid].iloc[0]
    d = final.get(sid)
    left, right = st.columns([2, 3], gap="large")
    with left:
        pic = thumbnail_or_reason(info.data, int(row.row), info.image_size)
        st.image(pic, width=320) if isinstance(pic, bytes) else st.caption(pic)
        original = original_file(info.data, sid)
        if original is not None:
            if st.button("Zoom: the original file", icon=":material/zoom_in:", key="focus-zoom", shortcut="Z"):
                zoom(original, sid)
        else:
            st.caption(f"`{sid}` (no original file: shown at the training size)")
    with right:
        st.markdown(f"### given **{row.given_name}** · model says **{row.pred_name}** ({row.prob:.0%})")
        st.caption(f"{info.score} {row.score:.3f} · alpha {row.alpha:.3f} · loss {row.loss:.2f} · "
                   f"{len(queue) - len([s for s in queue.id if str(s) in final]):,} left in the queue · "
                   + state_line(d))
        evidence(RunDir(state.current_run().path), info, row)
        item = review_item(row, d, latest)
        guess = info.classes.index(row.pred_name) if info.learning and row.pred_name in info.classes else None
        new = st.selectbox("Relabel to", info.classes, index=guess, key=f"focus-new-{sid}",
                           placeholder="choose the label")
        b = [*st.columns(3, gap="small"), *st.columns(3, gap="small")]
        for col, action in zip(b, KEYS):
            label, key = KEYS[action]
            fields = {**item, "new_label": new} if action == "relabel" else item
            col.button(label, key=f"focus-{action}", shortcut=key, width="stretch", on_click=decide,
                       args=(info, [fields], action), disabled=action == "relabel" and new is None,
                       type="primary" if action == "correct" else "secondary")
        b[4].button("Skip", key="focus-skip", shortcut="S", width="stretch", on_click=_skip, args=(sid,))
        st.caption(SHORTCUTS)
