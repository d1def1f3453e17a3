"""Export: every sample with its final label, as a browser download or a file in $LSW_HOME/exports."""
from __future__ import annotations

import streamlit as st

from app import queue, runview, state
from app.exporting import PREVIEW_ROWS, csv_download, export_state, preview, write_form
from lsw.export import decision_counts, export_rows

st.title("Export")
st.caption("One row per sample, audited and trusted: the source's own label, the label the audit was given (the "
           "one reviewers saw), the final label, the decision with who and when, alpha, trust, loss, the model's "
           "prediction and whether it was flagged. Cells that a spreadsheet would run as a formula are quoted.")
df, info = runview.require()
thr = queue.chosen(info)
if thr is not None:
    st.info(f"Flagged by the Review page's threshold {thr:.2f} (the run was trained with {info.threshold:.2f}).")
frame, final, given = export_state(state.current_run(), info, thr)
decided, relabelled = decision_counts(final, given)
c = st.columns(3)
c[0].metric("Rows", f"{len(frame):,}")
c[1].metric("Decisions", f"{decided:,}")
c[2].metric("Relabelled", f"{relabelled:,}")
ok, why = state.may_review()
if not ok:
    st.warning(why)
preview(export_rows(frame.head(PREVIEW_ROWS), final), ok)
st.download_button("Download CSV", csv_download(frame, final) if ok else b"",  # served only when ok
                   file_name=f"labels-{info.run_id}.csv", mime="text/csv", disabled=not ok, type="primary")
write_form(info, thr, ok)
