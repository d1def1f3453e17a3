"""Review: the queue of flagged samples and the other galleries; keep, relabel, exclude or mark ambiguous,
in a compact grid or one sample at a time (focused mode); the next round from here."""
from __future__ import annotations

import math

import streamlit as st

from app import focus, queue, rounds, runview, selection, state
from app.cards import grid, review_item
from app.health import health_banner
from app.review import show_notices, undo
from lsw.galleries import TITLES, gallery
from lsw.samples import with_threshold

st.title("Review")
show_notices()
df, info = runview.require()
health_banner({"health": info.health})
rounds.clean_set_warning(state.current_run())
top = st.columns([3, 1, 1], vertical_alignment="bottom")
with top[0]:
    thr = queue.threshold(info)
df = with_threshold(df, thr)
final, latest = runview.decisions(df, info)
job = state.registry().current()
with top[1]:
    rounds.next_round_button(state.current_run(), job is not None and job.snapshot().active)
top[2].button("Undo my last", key="undo", icon=":material/undo:", shortcut="U", on_click=undo, args=(info,),
              width="stretch")
queue.metrics(df, final, info, thr)
unfinished = runview.not_final(state.current_run(), info)
if unfinished:
    st.info(unfinished, icon=":material/hourglass_top:")
ok, why = state.may_review()
if not ok:
    st.warning(why)

if st.toggle("Focused mode: one sample at a time", key="focus_mode"):
    focus.view(df, info, final, latest)
    st.stop()

name = st.radio("Gallery", list(TITLES), format_func=TITLES.get, key="gallery", horizontal=True)
view = gallery(df, name)
f1, f2, f3, f4, f5 = st.columns([2, 2, 2, 1, 1], vertical_alignment="bottom")
given = f1.multiselect("Given label", info.classes, key="f_given")
pred = f2.multiselect("Predicted label", info.classes, key="f_pred")
SORTS = {"score ↑ (least trusted first)": ("score", True), "alpha ↑": ("alpha", True), "alpha ↓": ("alpha", False),
         "loss ↓ (worst fit first)": ("loss", False), "probability ↓ (most confident model first)": ("prob", False)}
sort = f3.selectbox("Sort by", list(SORTS), key="f_sort")
# At most 48: each card's "Relabel to" box makes Streamlit scan every widget's state, so a decision on a page
# of 96 cards took 0.85 to 1.05 s (48: 0.45 s, 24: 0.25 s; bench/pages_1m.py).
size = f4.selectbox("Per page", [12, 24, 48], index=1, key="f_size")
unreviewed = f5.checkbox("Unreviewed only", key="f_unreviewed")
if given:
    view = view[view.given_name.isin(given)]
if pred:
    view = view[view.pred_name.isin(pred)]
if unreviewed:
    view = view[~view.id.astype(str).isin(final)]
by, asc = SORTS[sort]
view = view.sort_values(by, ascending=asc, kind="stable")
pages = max(1, math.ceil(len(view) / size))
if st.session_state.get("f_page", 1) > pages:
    st.session_state["f_page"] = pages
nav = st.columns([1, 2, 3], vertical_alignment="bottom")
page = nav[0].number_input(f"Page (of {pages})", 1, pages, key="f_page")
shown = view.iloc[(page - 1) * size: page * size]
with nav[1]:
    selection.paging(pages)
nav[2].caption(f"{len(view):,} samples in this gallery; showing {len(shown)}.")
rows = {str(r.id): r for _, r in shown.iterrows()}


def items_for(ids: list[str], action: str) -> list[dict]:
    label = st.session_state.get("bulk_label") if action == "relabel" else None
    return [{**review_item(rows[s], final.get(s), latest), "new_label": label} for s in ids]


selection.bulk_bar(info, list(rows), items_for)
st.caption(selection.SHORTCUTS)
if shown.empty:
    st.info("Nothing in this gallery with these filters.")
else:
    grid(shown, info, final, latest)
