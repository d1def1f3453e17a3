"""Training monitor: the paper's Fig. 5 live, histograms of alpha and loss per epoch, and the curves."""
from __future__ import annotations

import streamlit as st

from app import rounds, state
from app.charts import alpha_note, curves, histogram
from app.health import health_banner
from app.progress import job_panel
from app.runview import nothing_yet

st.title("Training monitor")
st.caption("Each epoch: how the sample weights alpha, the trust scores and the losses are distributed. With known "
           "true labels the bars split clean vs noisy samples, otherwise kept vs flagged. Higher alpha and trust = "
           "trusted.")
job_panel()

job = state.registry().job_for(state.current_run())
active = job is not None and job.snapshot().active


def _picked(newest: int) -> None:
    """Remember the epoch the user chose; choosing the newest means: follow the newest."""
    value = st.session_state["monitor_epoch"]
    st.session_state["monitor_pick"] = None if value == newest else value


def shown_epoch(newest: int) -> int:
    """The user's chosen epoch, else the newest: while training adds epochs the choice stays."""
    pick = st.session_state.get("monitor_pick")
    epoch = newest if pick is None or pick > newest else pick
    return st.slider("Epoch shown", 1, newest, epoch, key="monitor_epoch", on_change=_picked, args=(newest,))


@st.fragment(run_every=3.0 if active else None)
def charts() -> None:
    run = state.current_run()
    records = run.metrics() if run is not None else []
    if not records:
        st.info(nothing_yet(run, "the first histograms appear"))
        return
    info = run.info()
    last = records[-1]
    health_banner(last)
    cols = st.columns(5)
    second = last.get("phase") == "second pass"
    cols[0].metric("Epoch + second pass" if second else "Epoch",
                   f"{min(last['epoch'], last['epochs'])}/{last['epochs']}",
                   help="After the LSW epochs a second network, trained on the most trusted samples, scores them "
                        "all again, and (by default) copies of both networks, each fine-tuned without a share of "
                        "those samples, read that share (shown as the last epoch); the final trust averages the "
                        "two networks' readings."
                   if second else None)
    held_out = last.get("val_acc") is not None
    cols[1].metric("Validation accuracy", f"{last['val_acc']:.1%}" if held_out else "none",
                   help="On the part of the trusted set held out from training and from the meta-gradient"
                   if held_out else "None held out: every trusted sample is in the clean set (a verified set is used "
                   "whole); the health check reads the clean set itself")
    cols[2].metric("Test accuracy", "-" if last.get("test_acc") is None else f"{last['test_acc']:.1%}")
    cols[3].metric("Detection AUC", "-" if last.get("auc") is None else f"{last['auc']:.3f}",
                   help="Known only with synthetic noise or true labels; higher = better")
    cols[4].metric("Clean-set loss", f"{last['clean_loss']:.3f}", help="lower = better")
    epoch = shown_epoch(last["epoch"]) if len(records) > 1 else last["epoch"]
    record = next(r for r in records if r["epoch"] == epoch)
    hists = record["hist"]  # the method's own score (alpha), trust (runs before 2026-12-02 have none), loss
    keys = [k for k in hists if k not in ("trust", "loss")] + [k for k in ("trust", "loss") if k in hists]
    for column, key in zip(st.columns(len(keys)), keys):  # the flag line sits on the score that flags
        column.plotly_chart(histogram(record, key, info.threshold if key == info.score else None), width="stretch",
                            key=f"hist_{key}")
    note = alpha_note(info) if "alpha" in hists else None
    if note:
        st.caption(note)
    accuracy = curves(records, ["train_acc", "val_acc", "test_acc", "clean_loss", "val_loss"], "Accuracy and loss")
    if last.get("auc") is None:  # no truth known: nothing to draw beside it
        st.plotly_chart(accuracy, width="stretch", key="curve_acc")
    else:
        left, right = st.columns(2)
        left.plotly_chart(curves(records, ["auc", "f1", "recall", "fdr"], "Detection of wrong labels"),
                          width="stretch", key="curve_det")
        right.plotly_chart(accuracy, width="stretch", key="curve_acc")


charts()
if state.current_run() is not None and state.current_run().exists():
    rounds.clean_set_warning(state.current_run())
    rounds.rounds_table(state.current_run())
