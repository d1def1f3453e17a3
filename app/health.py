"""The model-health warning (see `lsw.health`), shown on the monitor and the Review page."""
from __future__ import annotations

import streamlit as st


def health_banner(record: dict | None) -> bool:
    """Warn when the epoch `record` (one of `RunDir.metrics()`) says the model is not learning.
    Returns True when it is learning or nothing is known yet."""
    health = (record or {}).get("health")
    if not health or health.get("ok", True):
        return True
    st.error(f"**The model did not learn**: {health['reason']}. Its flags are no better than chance, so "
             f"reviewing them is not worth your time. What to do: {health['advice']}, then start a new run.",
             icon=":material/warning:")
    return False
