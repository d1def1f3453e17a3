"""Rounds in the dashboard: "Start next round" (Review page) and the rounds side by side (monitor)."""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from app import runview, state
from lsw.errors import LswError
from lsw.home import trusted_dir
from lsw.rounds import lineage, next_round, round_rows
from lsw.rundir import RunDir


def start_next_round(run: RunDir) -> None:
    """Start the round after `run` with every review made on it (`lsw.rounds.next_round`)."""
    try:
        path = trusted_dir() / f"{run.run_id}-next-{time.strftime('%Y%m%d-%H%M%S')}.json"
        config = next_round(run, state.store(), path)
        job = state.registry().start(config)
        st.session_state["run_dir"] = str(job.run_dir)
        st.session_state["flash"] = [(f"Round {config.round} started from {run.run_id}", ":material/replay:")]
    except LswError as e:
        st.session_state["flash"] = [(f"Cannot start the next round: {e}", ":material/warning:")]


def next_round_button(run: RunDir, active: bool) -> None:
    st.button("Start next round", key="next_round", icon=":material/replay:", on_click=start_next_round, args=(run,),
              disabled=active, help="Train again on every sample kept or relabelled "
              "(with its new label), drops the excluded ones and keeps ambiguous ones out. "
              + ("A run is in progress: wait for it to end." if active else ""))


def rounds_table(run: RunDir) -> None:
    """The rounds of `run`'s lineage, side by side (nothing for a first round with no later one)."""
    if len(lineage(run)) < 2:  # a first round alone: nothing to set side by side, nothing to read
        return
    rows = round_rows(run, state.store(), runview.tables)
    if len(rows) < 2:
        return
    st.subheader("Rounds")
    frame = pd.DataFrame([{"round": r.round, "run": r.run_id, "trusted set": r.trusted, "flagged": r.flagged,
                           "reviewed": r.reviewed,
                           # "-" until a review of this round's queue measures its precision (`lsw.queue`)
                           "wrong labels left (est.)": "-" if r.expected_left is None else f"{r.expected_left:,.0f}",
                           "AUC": "-" if r.auc is None else f"{r.auc:.4f}"} for r in rows])
    if all(r.auc is None for r in rows):  # known only with synthetic noise or true labels
        frame = frame.drop(columns="AUC")
    st.dataframe(frame, hide_index=True, width="stretch")


def clean_set_warning(run: RunDir | None) -> None:
    """Say plainly when the run shown learnt from a clean set whose labels no one checked."""
    if run is None or not run.exists():
        return
    cfg = run.config()
    n = int(cfg.get("unverified") or 0)
    if n:
        st.warning(f"**The clean set of this run is taken from unverified labels** ({n} samples drawn from the "
                   "data's own labels): wrong labels there steer the weights. Review the queue and start the next "
                   "round, or verify a trusted sample on Setup.", icon=":material/gpp_maybe:")
