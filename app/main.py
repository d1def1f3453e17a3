"""`streamlit run app/main.py`: the LSW label-audit dashboard."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so `lsw` and `app` import from a fresh clone

import streamlit as st  # noqa: E402

from app import state  # noqa: E402
from app.sidebar import sidebar  # noqa: E402

ASSETS = Path(__file__).resolve().parents[1] / "assets"
PAGES = Path(__file__).resolve().parents[1] / "pages"
st.set_page_config(page_title="LSW label audit", page_icon=str(ASSETS / "icon.png"), layout="wide")
st.logo(str(ASSETS / "logo.svg"), icon_image=str(ASSETS / "icon.png"))
nav = st.navigation([
    st.Page(PAGES / "setup.py", title="Setup", icon=":material/tune:", default=True),
    st.Page(PAGES / "monitor.py", title="Training monitor", icon=":material/monitoring:"),
    st.Page(PAGES / "review.py", title="Review", icon=":material/fact_check:"),
    st.Page(PAGES / "embedding.py", title="Embedding map", icon=":material/scatter_plot:"),
    st.Page(PAGES / "export.py", title="Export", icon=":material/download:"),
    st.Page(PAGES / "compare.py", title="Compare methods", icon=":material/leaderboard:"),
])
state.registry()
state.keep_widget_values()
sidebar()
nav.run()
