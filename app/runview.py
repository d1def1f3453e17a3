"""What the review, map and export pages need of a run: its sample table, its `RunInfo`, and the
review decisions that hold for the labels the run gives its samples."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from lsw.rundir import RunDir, RunInfo
from lsw.store import Decision


@st.cache_data(max_entries=8, show_spinner=False)
def _table(run_path: str, epoch: int) -> pd.DataFrame:
    return RunDir(run_path).sample_table(epoch)


def load(run: RunDir | None) -> tuple[pd.DataFrame, RunInfo] | None:
    """(sample table at the last finished epoch, run info) or None when there is nothing to show yet."""
    if run is None or not run.exists() or not run.epochs():
        return None
    info = run.info()
    return _table(str(run.path), info.epoch), info


def require() -> tuple[pd.DataFrame, RunInfo]:
    """The current run's table and info, or an explanation and st.stop()."""
    loaded = load(state.current_run())
    if loaded is None:
        st.info("No finished epoch yet: start a run on the Setup page. Samples appear here after the first epoch.")
        st.stop()
    return loaded


def decisions(df: pd.DataFrame, info: RunInfo) -> tuple[dict[str, Decision], dict[str, int]]:
    """(effective decision per sample id, id of its latest log row), for the labels `df` gives."""
    given = dict(zip(df["id"].astype(str), df["label_name"]))
    store = state.store()
    return store.final_states(info.dataset, given), store.latest_ids(info.dataset, given)
