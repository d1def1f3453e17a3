"""The sidebar on every page: reviewer (or sign-in), which run is shown, the job's status (kept live),
and a warning whenever the run shown trained on synthetic noise."""
from __future__ import annotations

import streamlit as st

from app import auth, state
from lsw.job import JobSnapshot
from lsw.rundir import RunDir

WATCH_SECONDS = 3.0  # each tick of a fragment costs the server about 0.1-0.2 s of CPU (measured, 2 cores)


def status_line(snap: JobSnapshot) -> str:
    """One line on a job: its state, phase and epoch (1-based, of the phase's total)."""
    if snap.active and not snap.epochs:
        return f"Job {snap.run_id}: **{snap.status}** · preparing the data"
    epoch = min(snap.epoch + 1, snap.epochs)  # the epoch in progress (or the last one it reached)
    return f"Job {snap.run_id}: **{snap.status}** · {snap.phase} epoch {epoch}/{snap.epochs}"


@st.fragment(run_every=WATCH_SECONDS)
def job_watch() -> None:
    """Every page follows the current job: the status line refreshes itself, and when a job starts,
    resumes, has written its run's header, or ends (in this tab or any other), the whole page reruns,
    so its charts start or stop polling and show the new run."""
    job = state.registry().current()
    token = None if job is None else (*state.job_token(job), job.snapshot().active, RunDir(job.run_dir).exists())
    seen = st.session_state.get("_watch_token", token)
    st.session_state["_watch_token"] = token
    if seen != token:
        st.rerun()
    if job is not None:
        st.caption(status_line(job.snapshot()))


def _pick() -> None:
    st.session_state["run_dir"] = str(state.runs_root() / st.session_state["run_pick"])


def run_picker() -> None:
    runs = state.run_list()
    if not runs:
        return
    names = [r.run_id for r in runs]
    current = state.current_run()
    if current is not None and current.run_id in names:
        st.session_state["run_pick"] = current.run_id
    st.selectbox("Run shown", names, key="run_pick", on_change=_pick)


def noise_warning() -> None:
    run = state.current_run()
    if run is None or not run.exists():
        return
    noise = run.config().get("noise")
    if noise:
        st.warning(f"Synthetic noise **{noise}** is on in run {run.run_id}: some given labels were flipped "
                   "on purpose to measure detection. The export still writes the source's own labels as "
                   "original_label.", icon=":material/science:")


def sidebar() -> None:
    with st.sidebar:
        auth.sidebar_block()
        run_picker()
        job_watch()
        noise_warning()
