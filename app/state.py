"""Process-wide objects of the dashboard, made once: the job registry, the review store, loaded data.

Every page imports them from here (one module, so `st.cache_resource` gives one registry per
server process: every tab and every refresh sees the same job).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from lsw import home
from lsw.data import Source, load_source
from lsw.job import JobRegistry, set_training_threads
from lsw.rundir import RunDir
from lsw.store import ReviewStore

ROOT = Path(__file__).resolve().parents[1]


def lsw_home() -> Path:
    """$LSW_HOME, default <repo>/.lsw: runs/, reviews.sqlite, users.json, exports/ (lsw.home)."""
    return home.lsw_home()


@st.cache_resource
def registry() -> JobRegistry:
    set_training_threads()
    return JobRegistry(lsw_home() / "runs")


@st.cache_resource
def store() -> ReviewStore:
    return ReviewStore(lsw_home() / "reviews.sqlite")


@st.cache_resource(max_entries=4, show_spinner="Loading images…")
def source(spec: str) -> Source:
    return load_source(spec, progress=False)


def current_run() -> RunDir | None:
    """The run the pages show: the active job's, else the one picked in the sidebar, else the newest."""
    job = registry().current()
    if job is not None:
        return RunDir(job.run_dir)
    picked = st.session_state.get("run_dir")
    if picked and RunDir(picked).exists():
        return RunDir(picked)
    latest = registry().latest_run_dir()
    return RunDir(latest) if latest else None


def run_list() -> list[Path]:
    root = lsw_home() / "runs"
    if not root.exists():
        return []
    return sorted((p for p in root.iterdir() if (p / "config.json").exists()), key=lambda p: p.name, reverse=True)


KEPT = ("setup_", "f_", "gallery", "map_colour", "export_name", "bulk_", "reviewer")


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
