"""Review: galleries of samples worth a human look; relabel, keep, exclude or mark ambiguous."""
from __future__ import annotations

import math

import streamlit as st

from app import runview, state
from app.cards import grid
from app.health import health_banner
from app.review import ACTION_LABELS, current_label, decide, show_notices, undo

st.title("Review")
show_notices()
df, ctx = runview.require()
health_banner({"health": ctx["health"]})
store = state.store()
final = store.final_states(ctx["dataset"])
latest = store.latest_ids(ctx["dataset"])
thr = ctx["threshold"]

m = st.columns(4)
m[0].metric("Samples audited", f"{len(df):,}")
m[1].metric(f"Flagged ({ctx['score']} < {thr:.2f})", f"{int(df.flagged.sum()):,}",
            help="trust: the LSW-trained model's probability of the given label; alpha: the learned weight")
m[2].metric("Reviewed", f"{sum(1 for s in df.id if str(s) in final):,}")
m[3].metric("Shown from epoch", ctx["epoch"])
ok, why = state.may_review()
if not ok:
    st.warning(why)

GALLERIES = {
    "flagged": "Flagged: every sample whose score is under the threshold",
    "noisy-high": "Noisy but kept: the model disagrees with the label (or it is known wrong), yet it is not flagged",
    "clean-low": "Clean but flagged: the model agrees with the label (or it is known right), yet it is flagged",
}
gallery = st.radio("Gallery", list(GALLERIES), format_func=GALLERIES.get, key="gallery")
agrees = df.pred == df.label
if gallery == "flagged":
    view = df[df.flagged]
elif gallery == "noisy-high":
    wrong = (~agrees) | (df.is_noisy if "is_noisy" in df else False)
    view = df[wrong & ~df.flagged]
else:
    right = agrees | (~df.is_noisy if "is_noisy" in df else False)
    view = df[right & df.flagged]

f1, f2, f3, f4 = st.columns([2, 2, 2, 1])
given = f1.multiselect("Given label", ctx["classes"], key="f_given")
pred = f2.multiselect("Predicted label", ctx["classes"], key="f_pred")
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
top[2].button("Undo my last decision", icon=":material/undo:", on_click=undo, args=(ctx,), width="stretch")

with st.expander("Apply one action to the selected cards"):
    selected = [r for _, r in shown.iterrows() if st.session_state.get(f"sel-{r.id}")]
    action = st.selectbox("Action", list(ACTION_LABELS), format_func=ACTION_LABELS.get, key="bulk_action")
    target = st.selectbox("New label (for relabel)", ctx["classes"], key="bulk_label", disabled=action != "relabel")
    items = []
    for r in selected:
        items.append(dict(sample_id=str(r.id), old_label=current_label(r.label_name, final.get(str(r.id))),
                          new_label=target if action == "relabel" else None, alpha=float(r.alpha),
                          loss=float(r.loss), expected_last_id=latest.get(str(r.id), 0)))
    st.button(f"Apply to {len(items)} selected", disabled=not items, on_click=decide, args=(ctx, items, action))

if shown.empty:
    st.info("Nothing in this gallery with these filters.")
else:
    grid(shown, ctx, final, latest)
