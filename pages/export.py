"""Export: every sample with its final label, as a browser download or a file on the server."""
from __future__ import annotations

import streamlit as st

from app import runview, state
from lsw.export import export_rows, to_csv_bytes, write_csv

st.title("Export")
st.caption("One row per audited sample: original and final label, the decision with who and when, alpha, loss, "
           "the model's prediction and whether it was flagged. Cells that a spreadsheet would run as a formula "
           "are quoted.")
df, ctx = runview.require()
frame = df.rename(columns={"label_name": "label_given"}).assign(path=df["id"], label=df["label_name"],
                                                                 pred=df["pred_name"])
out = export_rows(frame, state.store().final_states(ctx["dataset"]))
c = st.columns(3)
c[0].metric("Rows", f"{len(out):,}")
c[1].metric("Decisions", f"{int((out.action != '').sum()):,}")
c[2].metric("Relabelled", f"{int((out.action == 'relabel').sum()):,}")
st.dataframe(out.head(200), width="stretch", hide_index=True)
ok, why = state.may_review()
if not ok:
    st.warning(why)
st.download_button("Download CSV", to_csv_bytes(out), file_name=f"labels-{ctx['run_id']}.csv", mime="text/csv",
                   disabled=not ok, type="primary")
default = str(state.lsw_home() / "exports" / f"labels-{ctx['run_id']}.csv")
path = st.text_input("Or write to a path on the server", value=default, key="export_path")
if st.button("Write CSV", disabled=not ok):
    try:
        written = write_csv(out, path)
        st.success(f"Wrote {len(out):,} rows to {written}")
    except OSError as e:
        st.error(f"Could not write {path}: {e.strerror or e}")
