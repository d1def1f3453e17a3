"""Export: every sample with its final label, as a browser download or a file in $LSW_HOME/exports."""
from __future__ import annotations

import streamlit as st

from app import queue, runview, state
from app.exporting import preview, write_form
from lsw.export import corrected_labels, to_csv_bytes

st.title("Export")
st.caption("One row per sample, audited and trusted: the source's own label, the label the audit trained on, "
           "the final label, the decision with who and when, alpha, trust, loss, the model's prediction and "
           "whether it was flagged. Cells that a spreadsheet would run as a formula are quoted.")
df, info = runview.require()
thr = queue.chosen(info)
out = corrected_labels(state.current_run(), state.store(), thr)
if thr is not None:
    st.info(f"Flagged by the Review page's threshold {thr:.2f} (the run was trained with {info.threshold:.2f}).")
c = st.columns(3)
c[0].metric("Rows", f"{len(out):,}")
c[1].metric("Decisions", f"{int((out.action != '').sum()):,}")
c[2].metric("Relabelled", f"{int((out.action == 'relabel').sum()):,}")
ok, why = state.may_review()
if not ok:
    st.warning(why)
preview(out, ok)
st.download_button("Download CSV", to_csv_bytes(out) if ok else b"",  # the file is served only when ok
                   file_name=f"labels-{info.run_id}.csv", mime="text/csv", disabled=not ok, type="primary")
write_form(out, info.run_id, ok)
