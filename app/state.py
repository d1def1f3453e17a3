"""Process-wide objects of the dashboard, made once: the job registry, the review store, loaded data;
and which run this browser session shows.

Every page imports them from here (one module, so `st.cache_resource` gives one registry per
server process: every tab and every refresh sees the same job).
"""
from __future__ import annotations

import streamlit as st

from lsw.data import Source, load_source
from lsw.home import lsw_home, reviews_path, runs_root
from lsw.imagesize import image_size_for
from lsw.job import JobRegistry, TrainingJob, set_training_threads
from lsw.rundir import RunDir
from lsw.store import ReviewStore

__all__ = ["lsw_home", "runs_root", "registry", "store", "source", "current_run", "run_list", "job_token"]


@st.cache_resource
def registry() -> JobRegistry:
    set_training_threads()
    return JobRegistry(runs_root())


@st.cache_resource
def store() -> ReviewStore:
    return ReviewStore(reviews_path())


@st.cache_resource(max_entries=4, show_spinner="Loading images…")
def source(spec: str, image_size: int | None = None) -> Source:
    """The source at the run's training size: its images are a memory map of the decode cache the run
    trained from, so thumbnails read that one copy (nothing decoded twice, nothing held in RAM)."""
    return load_source(spec, progress=False, image_size=image_size_for(image_size))


def job_token(job: TrainingJob | None) -> tuple | None:
    """What identifies a job: its run and when it started (a resume is a new job on the same run)."""
    if job is None:
        return None
    snap = job.snapshot()
    return snap.run_id, snap.started


def follow_job() -> None:
    """A job this session has not seen yet (started here, in another tab, or resumed) becomes the
    run shown; afterwards the sidebar's pick is respected until the next new job."""
    token = job_token(registry().current())
    if token is not None and st.session_state.get("_followed_job") != token:
        st.session_state["_followed_job"] = token
        st.session_state["run_dir"] = str(registry().current().run_dir)


def current_run() -> RunDir | None:
    """The run the pages show: the one picked in the sidebar (a new job replaces the pick once, see
    `follow_job`), else the current job's, else the newest on disk."""
    follow_job()
    job = registry().current()
    picked = st.session_state.get("run_dir")
    if picked and (RunDir(picked).exists() or (job is not None and str(job.run_dir) == picked)):
        return RunDir(picked)
    if job is not None:
        return RunDir(job.run_dir)
    return RunDir.latest(runs_root())


def run_list() -> list[RunDir]:
    return RunDir.list(runs_root())


KEPT = ("setup_", "f_", "gallery", "map_colour", "export_name", "bulk_", "reviewer", "review_thr", "focus_mode")


def keep_widget_values() -> None:
    """Streamlit forgets a widget's value once its page is left. Keep a shadow copy of the form
    fields and put a value back only when its widget state is gone, so a rerun never overwrites
    what the user is typing."""
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(KEPT):
            st.session_state["_kept_" + key] = st.session_state[key]
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith("_kept_") and key[6:] not in st.session_state:
            st.session_state[key[6:]] = st.session_state[key]


def reviewer() -> str:
    """The name decisions are recorded under (the signed-in reviewer's when accounts exist): app.auth."""
    from app import auth

    return auth.reviewer()


def may_review() -> tuple[bool, str]:
    """Whether review actions and export are allowed now, and why not: app.auth."""
    from app import auth

    return auth.may_review()
