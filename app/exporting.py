"""The Export page's preview and its file on the server (lsw.exports: a name in $LSW_HOME/exports)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import state
from lsw.errors import LswError
from lsw.exports import exports_dir, safe_name, write_export

PREVIEW_ROWS = 200


def preview(out: pd.DataFrame, allowed: bool) -> None:
    """The first rows, only for a reviewer who may export: the rows reach the browser only then. The
    dataframe's own CSV download is off (`client.disableDataExport` in .streamlit/config.toml), so the
    download button below, behind the same check, is the one way out."""
    if not allowed:
        st.caption("The preview shows once you may export.")
        return
    st.dataframe(out.head(PREVIEW_ROWS), width="stretch", hide_index=True)


def write_form(out: pd.DataFrame, run_id: str, allowed: bool) -> None:
    """A file name (not a path) and a button writing the CSV under $LSW_HOME/exports."""
    folder = exports_dir(state.lsw_home())
    name = st.text_input(f"Or write a file in {folder} on the server", value=f"labels-{run_id}.csv",
                         key="export_name", help="A file name: folders are not accepted, other characters "
                         "become _. A file is replaced only when it is an earlier export the dashboard wrote.")
    if st.button("Write CSV", disabled=not allowed):
        try:
            written = write_export(out, name, state.lsw_home())
            st.success(f"Wrote {len(out):,} rows to {written}")
        except LswError as e:
            st.error(f"Not written: {e}")
        except OSError as e:
            st.error(f"Could not write {folder / safe_name(name)}: {e.strerror or e}")
