"""What the review, map and export pages need of a run: its sample table and the review context."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from lsw.rundir import RunDir
from lsw.samples import sample_table
from lsw.scoring import run_score


@st.cache_data(max_entries=8, show_spinner=False)
def _table(run_path: str, epoch: int) -> pd.DataFrame:
    return sample_table(RunDir(run_path), epoch)


def load(run: RunDir | None) -> tuple[pd.DataFrame, dict] | None:
    """(sample table at the last finished epoch, ctx) or None when there is nothing to show yet."""
    if run is None or not run.exists() or not run.epochs():
        return None
    cfg = run.config()
    health = run.metrics()[-1].get("health")
    ctx = dict(dataset=cfg["fingerprint"], run_id=run.path.name, spec=cfg["data"], classes=list(cfg["classes"]),
               threshold=cfg["threshold"], score=run_score(cfg), epoch=run.epochs()[-1], health=health,
               learning=health is None or health["ok"])
    return _table(str(run.path), ctx["epoch"]), ctx


def require() -> tuple[pd.DataFrame, dict]:
    """The current run's table and context, or an explanation and st.stop()."""
    loaded = load(state.current_run())
    if loaded is None:
        st.info("No finished epoch yet: start a run on the Setup page. Samples appear here after the first epoch.")
        st.stop()
    return loaded
