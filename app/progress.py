"""The job's progress, polled: a fragment that reruns itself while the job is active."""
from __future__ import annotations

import streamlit as st

from app import state


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "estimating…"
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


def job_panel() -> None:
    """Progress bar, status and any failure message of the current job; polls while it runs."""
    job = state.registry().current()
    active = job is not None and job.snapshot().active

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        job = state.registry().current()
        if job is None:
            latest = state.current_run()
            if latest is None:
                st.caption("No run yet: choose the data and press **Start training**.")
            elif latest.summary() is None and latest.checkpoint.exists():
                done = latest.epochs()[-1] if latest.epochs() else 0
                st.warning(f"Run {latest.path.name} was interrupted after epoch {done}: "
                           "press **Resume latest run** to continue it.")
            return
        snap = job.snapshot()
        label = (f"{snap.phase}: epoch {min(snap.epoch + 1, snap.epochs)}/{snap.epochs}, step {snap.step}/{snap.steps}"
                 f" · time left {_fmt_seconds(snap.seconds_left)}") if snap.epochs else "preparing data…"
        if snap.status == "done":
            st.success(f"Run {snap.run_id} finished.")
        elif snap.status == "failed":
            st.error(f"Run {snap.run_id} failed: {snap.message}")
        elif snap.status == "stopped":
            st.warning(f"Run {snap.run_id} stopped: {snap.message}")
        else:
            st.progress(snap.fraction, text=label)
        if not snap.active and st.session_state.get("_polling"):
            st.session_state["_polling"] = False
            st.rerun()
        st.session_state["_polling"] = snap.active

    panel()
