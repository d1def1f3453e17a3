"""Review: galleries of samples worth a human look; relabel, keep, exclude or mark ambiguous."""
from __future__ import annotations

import math

import streamlit as st

from app import runview, state
from app.cards import grid, review_item
from app.health import health_banner
from app.review import ACTION_LABELS, decide, show_notices, undo
from lsw.galleries import TITLES, gallery

st.title("Review")
show_notices()
df, info = runview.require()
health_banner({"health": info.health})
final, latest = runview.decisions(df, info)

m = st.columns(4)
m[0].metric("Samples audited", f"{len(df):,}")
m[1].metric(f"Flagged ({info.score} < {info.threshold:.2f})", f"{int(df.flagged.sum()):,}",
            help="trust: the LSW-trained model's probability of the given label; alpha: the learned weight")
m[2].metric("Reviewed", f"{runview.reviewed(final, info):,}")
m[3].metric("Shown from epoch", info.epoch)
ok, why = state.may_review()
if not ok:
    st.warning(why)

name = st.radio("Gallery", list(TITLES), format_func=TITLES.get, key="gallery")
view = gallery(df, name)

f1, f2, f3, f4 = st.columns([2, 2, 2, 1])
given = f1.multiselect("Given label", info.classes, key="f_given")
pred = f2.multiselect("Predicted label", info.classes, key="f_pred")
SORTS = {"score ↑ (least trusted first)": ("score", True), "alpha ↑": ("alpha", True), "alpha ↓": ("alpha", False),
         "loss ↓ (worst fit first)": ("loss", False), "probability ↓ (most confident model first)": ("prob", False)}
sort = f3.selectbox("Sort by", list(SORTS), key="f_sort")
size = f4.selectbox("Per page", [8, 16, 32, 64], index=1, key="f_size")
if given:
    view = view[view.label_name.isin(given)]
if pred:
    view = view[view.pred_name.isin(pred)]
by, asc = SORTS[sort]
view = view.sort_values(by, ascending=asc, kind="stable")
pages = max(1, math.ceil(len(view) / size))
top = st.columns([1, 3, 2])
page = top[0].number_input(f"Page (of {pages})", 1, pages, 1, key="f_page")
shown = view.iloc[(page - 1) * size: page * size]
top[1].caption(f"{len(view):,} samples in this gallery; showing {len(shown)}.")
top[2].button("Undo my last decision", icon=":material/undo:", on_click=undo, args=(info,), width="stretch")

with st.expander("Apply one action to the selected cards"):
    selected = [r for _, r in shown.iterrows() if st.session_state.get(f"sel-{r.id}")]
    action = st.selectbox("Action", list(ACTION_LABELS), format_func=ACTION_LABELS.get, key="bulk_action")
    target = st.selectbox("New label (for relabel)", info.classes, key="bulk_label", disabled=action != "relabel")
    items = [{**review_item(r, final.get(str(r.id)), latest), "new_label": target if action == "relabel" else None}
             for r in selected]
    st.button(f"Apply to {len(items)} selected", disabled=not items, on_click=decide, args=(info, items, action))

if shown.empty:
    st.info("Nothing in this gallery with these filters.")
else:
    grid(shown, info, final, latest)
