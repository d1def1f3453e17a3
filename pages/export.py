"""Export: every sample with its final label, as a browser download or a file on the server."""
from __future__ import annotations

import streamlit as st

from app import runview, state
from lsw.export import corrected_labels, to_csv_bytes, write_csv
from lsw.home import exports_dir

st.title("Export")
st.caption("One row per sample, audited and trusted: the source's own label, the label the audit trained on, "
           "the final label, the decision with who and when, alpha, trust, loss, the model's prediction and "
           "whether it was flagged. Cells that a spreadsheet would run as a formula are quoted.")
df, info = runview.require()
out = corrected_labels(state.current_run(), state.store())
c = st.columns(3)
c[0].metric("Rows", f"{len(out):,}")
c[1].metric("Decisions", f"{int((out.action != '').sum()):,}")
c[2].metric("Relabelled", f"{int((out.action == 'relabel').sum()):,}")
st.dataframe(out.head(200), width="stretch", hide_index=True)
ok, why = state.may_review()
if not ok:
    st.warning(why)
st.download_button("Download CSV", to_csv_bytes(out), file_name=f"labels-{info.run_id}.csv", mime="text/csv",
                   disabled=not ok, type="primary")
default = str(exports_dir() / f"labels-{info.run_id}.csv")
path = st.text_input("Or write to a path on the server", value=default, key="export_path")
if st.button("Write CSV", disabled=not ok):
    try:
        written = write_csv(out, path)
        st.success(f"Wrote {len(out):,} rows to {written}")
    except OSError as e:
        st.error(f"Could not write {path}: {e.strerror or e}")
