"""What the review, map and export pages need of a run: its sample table, its `RunInfo`, and the
review decisions that hold for the labels the run gives its samples."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import streamlit as st

from app import state
from lsw.rundir import DONE, FAILED, RUNNING, RunDir, RunInfo
from lsw.samples import given_labels
from lsw.store import Decision


@st.cache_resource(max_entries=2, show_spinner="Reading the run…")
def _table(run_path: str, epoch: int, trusted: bool = False) -> pd.DataFrame:
    """Shared, not copied (`cache_resource`): a 1M-sample table is read once per epoch shown, and no
    rerun pays for a copy (cache_data's pickle round trip of it took about a second). Read-only: the
    pages filter and sort into new frames."""
    return RunDir(run_path).sample_table(epoch, trusted=trusted)


@st.cache_resource(max_entries=2, show_spinner=False)
def _given(run_path: str, epoch: int) -> Mapping[str, str]:
    """sample id -> the label the run gives it (what a decision must match, see `lsw.store`)."""
    return given_labels(_table(run_path, epoch))


@st.cache_resource(max_entries=2, show_spinner=False)
def _row_labels(run_path: str) -> np.ndarray:
    """int64 (N,): the label training saw for every train row (D^c rows: their trusted labels)."""
    return RunDir(run_path).samples(ids=False)["labels"]


def row_labels(run: RunDir) -> np.ndarray:
    """The labels training saw, by train row (cached; see `_row_labels`)."""
    return _row_labels(str(run.path))


def table(run: RunDir, epoch: int, trusted: bool = False) -> pd.DataFrame:
    """The run's sample table at `epoch` (see `lsw.samples.sample_table`), cached for every page."""
    return _table(str(run.path), epoch, trusted)


def tables(run: RunDir) -> tuple[pd.DataFrame, Mapping[str, str]]:
    """(`run`'s sample table at its last finished epoch, sample id -> its given label), both cached; what
    `lsw.rounds.round_rows` reads of each round."""
    epoch = run.info().epoch
    return _table(str(run.path), epoch), _given(str(run.path), epoch)


def load(run: RunDir | None) -> tuple[pd.DataFrame, RunInfo] | None:
    """(sample table at the last finished epoch, run info) or None when there is nothing to show yet."""
    if run is None or not run.exists() or not run.epochs():
        return None
    info = run.info()
    return _table(str(run.path), info.epoch), info


def _live_job(run: RunDir | None):
    """The job training `run` now, or None."""
    job = state.registry().job_for(run)
    return job if job is not None and job.snapshot().active else None


def nothing_yet(run: RunDir | None, appears: str) -> str:
    """Why a page has nothing of `run` to show (no run, or none of its epochs finished), ending with what
    `appears` after its first epoch ("its samples appear here"). A run still training says so, and where the
    previous round's queue is, rather than asking for a run to be started."""
    job = _live_job(run)
    if job is not None:
        later = job.config.round > 1  # the job's config: the run folder may not be written yet
        which = f"round {job.config.round}" if later else "run"
        earlier = " The earlier rounds stay under **Run shown** in the sidebar." if later else ""
        return f"{run.run_id} ({which}) is training: {appears} after its first epoch.{earlier}"
    if run is None or not run.exists():
        return f"No run yet: start one on the Setup page; {appears} after its first epoch."
    status = run.status()
    how = "unknown" if status is None else "interrupted" if status.state == RUNNING else status.state
    return (f"{run.run_id} has no finished epoch ({how}): start or resume a run on the Setup page; {appears} "
            "after its first epoch.")


def not_final(run: RunDir, info: RunInfo) -> str | None:
    """What to say above a queue read from a run that has not finished (None for a finished run): its scores
    are one epoch's, and the queue will change."""
    status = run.status()
    if status is None or status.state == DONE:
        return None
    live = _live_job(run) is not None
    how = ("is still training" if live else "was interrupted" if status.state == RUNNING
           else "failed" if status.state == FAILED else "was stopped")
    then = ("" if live else " Setup says why it failed." if status.state == FAILED
            else " Press Resume on Setup to finish it.")
    return (f"This run {how}: the queue comes from the scores after epoch {info.epoch}, not the final ones, and "
            f"changes as training goes on. Decisions made now are kept.{then}")


def require() -> tuple[pd.DataFrame, RunInfo]:
    """The current run's table and info, or an explanation and st.stop()."""
    run = state.current_run()
    loaded = load(run)
    if loaded is None:
        st.info(nothing_yet(run, "its samples appear here"))
        st.stop()
    return loaded


def decisions(df: pd.DataFrame, info: RunInfo) -> tuple[dict[str, Decision], dict[str, int]]:
    """(effective decision per sample id, id of its latest log row), for the labels `df` gives."""
    run = state.current_run()
    given = _given(str(run.path), info.epoch) if run is not None else given_labels(df)
    store = state.store()
    return store.final_states(info.dataset, given), store.latest_ids(info.dataset, given)

