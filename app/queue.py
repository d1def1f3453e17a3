"""The Review page's queue: the threshold it flags by (movable after training; the run keeps its own)
and the queue's precision measured from the reviews so far (`lsw.queue`)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lsw.queue import queue_stats
from lsw.rundir import RunInfo
from lsw.store import Decision


def threshold(info: RunInfo) -> float:
    """The threshold chosen on the page for this run (the run's own until moved). The Export page reads it
    too (`chosen`)."""
    if st.session_state.get("_review_thr_run") != info.run_id:  # another run: start from its own value
        st.session_state["_review_thr_run"] = info.run_id
        st.session_state["review_thr"] = float(info.threshold)
    return st.slider(f"Flag threshold ({info.score} below it is flagged)", 0.01, 0.99, step=0.01, key="review_thr",
                     help=f"The run was trained with {info.threshold:.2f}; moving this changes the queue, the "
                          "counts and the export, not the run.")


def chosen(info: RunInfo) -> float | None:
    """The Review page's threshold for run `info` when it differs from the run's, else None."""
    if st.session_state.get("_review_thr_run") != info.run_id:
        return None
    value = st.session_state.get("_kept_review_thr", st.session_state.get("review_thr"))
    return None if value is None or float(value) == float(info.threshold) else float(value)


def metrics(df: pd.DataFrame, final: dict[str, Decision], info: RunInfo, thr: float) -> None:
    """Audited, flagged, reviewed, and the queue's precision with the wrong labels still expected in it."""
    q = queue_stats(df.loc[df.flagged, "id"], final, info.run_id)
    m = st.columns(6)
    second = info.phase == "second pass"  # recorded as one more epoch after the last (`lsw.second_pass`)
    if second:
        m[5].metric("Scores from", "pass 2", help=f"The second pass after epoch {info.epoch - 1}: a second network, "
                    "trained on the samples the run trusts most, scored them all again (by default, copies of it "
                    "and of the run's network, each fine-tuned without a share of those samples, read that share)")
    else:
        m[5].metric("Shown from epoch", info.epoch)
    m[0].metric("Samples audited", f"{len(df):,}")
    m[1].metric(f"Flagged ({info.score} < {thr:.2f})", f"{q.flagged:,}",
                help="trust: how strongly the LSW-trained model holds to the given label (the mean of its "
                     "probability against all classes and against the strongest rival); alpha: the learned weight")
    m[2].metric("Reviewed (of flagged)", f"{q.reviewed:,}")
    if q.precision is None:
        m[3].metric("Queue precision", "-", help="Shown after the first review of a flagged sample in this run")
        m[4].metric("Wrong labels left (est.)", "-")
        return
    m[3].metric("Queue precision", f"{q.precision:.0%}",
                help=f"Of the {q.measured} flagged samples reviewed in this run, {q.wrong} were relabelled or "
                     f"excluded; 95% interval {q.low:.0%} to {q.high:.0%} (Wilson)")
    st.caption(f"Queue precision {q.precision:.0%} (95% interval {q.low:.0%}–{q.high:.0%}, from {q.measured} "
               f"reviews in this run): about {q.expected_left:,.0f} wrong labels ({q.left_low:,.0f}–"
               f"{q.left_high:,.0f}) are expected among the {q.unreviewed:,} flagged samples not reviewed yet.")
    m[4].metric("Wrong labels left (est.)", f"{q.expected_left:,.0f}",
                help=f"{q.unreviewed:,} unreviewed flagged × precision; 95% interval "
                     f"{q.left_low:,.0f} to {q.left_high:,.0f}")
