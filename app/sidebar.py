"""The sidebar on every page: reviewer (or sign-in), which run is shown, and the job's status."""
from __future__ import annotations

import streamlit as st

from app import auth, state


def sidebar() -> None:
    with st.sidebar:
        auth.sidebar_block()
        runs = state.run_list()
        job = state.registry().current()
        if runs and (job is None or not job.snapshot().active):
            names = [p.name for p in runs]
            current = state.current_run()
            index = names.index(current.path.name) if current and current.path.name in names else 0
            picked = st.selectbox("Run shown", names, index=index)
            st.session_state["run_dir"] = str(runs[names.index(picked)])
        if job is not None:
            snap = job.snapshot()
            st.caption(f"Job {snap.run_id}: **{snap.status}** · {snap.phase} epoch "
                       f"{min(snap.epoch + 1, snap.epochs) if snap.epochs else 0}/{snap.epochs}")
