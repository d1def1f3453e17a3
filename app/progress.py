"""The progress of the run shown: a live bar while its job works, else its stored status (`RunDir.status`)."""
from __future__ import annotations

import streamlit as st

from app import state
from lsw.rundir import DONE, FAILED, RUNNING, STOPPED, RunDir


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "estimating…"
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def stored_status(run: RunDir) -> None:
    """A run no job of this process works on: finished, failed, stopped, or interrupted by a restart."""
    status = run.status()
    if status is None:
        return
    epochs = run.epochs()
    done = epochs[-1] if epochs else 0
    if status.state == DONE:
        st.success(f"Run {run.run_id} finished.")
    elif status.state == FAILED:
        st.error(f"Run {run.run_id} failed: {status.message}")
    elif status.state == STOPPED and run.resumable():
        st.warning(f"Run {run.run_id} was stopped after epoch {done}: press **Resume** to continue it.")
    elif status.state == RUNNING and run.resumable():
        st.warning(f"Run {run.run_id} was interrupted after epoch {done}: press **Resume** to continue it.")
    elif status.state == RUNNING:
        st.warning(f"Run {run.run_id} was interrupted before its first epoch: start a new run.")


def job_panel() -> None:
    """Progress bar, status and any failure message of the run shown; polls while its job runs."""
    job = state.registry().job_for(state.current_run())
    active = job is not None and job.snapshot().active

    @st.fragment(run_every=2.0 if active else None)
    def panel() -> None:
        run = state.current_run()
        job = state.registry().job_for(run)
        if job is None:
            if run is None:
                st.caption("No run yet: choose the data and press **Start training**.")
            else:
                stored_status(run)
            return
        snap = job.snapshot()
        label = (f"{snap.phase}: epoch {min(snap.epoch + 1, snap.epochs)}/{snap.epochs}, step {snap.step}/{snap.steps}"
                 f" · time left {_fmt_seconds(snap.seconds_left)}") if snap.epochs else "preparing the data…"
        if snap.status == "done":
            st.success(f"Run {snap.run_id} finished.")
        elif snap.status == "failed":
            st.error(f"Run {snap.run_id} failed: {snap.message}")
        elif snap.status == "stopped":
            st.warning(f"Run {snap.run_id} stopped: {snap.message}")
        else:
            st.progress(snap.fraction, text=label)

    panel()
