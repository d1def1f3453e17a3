"""Gallery cards: the image, given and predicted labels, alpha, loss, why it is shown, review state, actions."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.review import ACTION_LABELS, current_label, decide
from app.thumbs import thumbnail
from lsw.store import Decision

BADGES = {"relabel": ":blue-background[relabelled", "correct": ":green-background[kept as correct",
          "exclude": ":red-background[excluded", "ambiguous": ":orange-background[ambiguous"}


def reason(row: pd.Series, threshold: float, score: str = "alpha") -> str:
    """Why the sample is in a gallery; `score` names the run's flag score (see `lsw.scoring`)."""
    known = "is_noisy" in row.index
    if row.flagged:
        why = f"flagged: {score} {row.score:.2f} < {threshold}"
        if row.pred == row.label:
            why += " though the model agrees with the label"
        return why
    if known and row.is_noisy:
        return "label known to be wrong, yet weight is high"
    if row.pred != row.label:
        return "model disagrees with the label, yet weight is high"
    return "kept"


def state_line(d: Decision | None) -> str:
    if d is None:
        return "not reviewed"
    text = BADGES.get(d.action, "[" + d.action)
    if d.action == "relabel":
        text += f" → {d.new_label}"
    return f"{text}] by {d.reviewer}"


def card(row: pd.Series, ctx: dict, final: dict[str, Decision], latest: dict[str, int]) -> None:
    """One sample. ctx: dataset, run_id, spec, classes, threshold, score."""
    sid = str(row.id)
    d = final.get(sid)
    current = current_label(row.label_name, d)
    with st.container(border=True):
        st.image(thumbnail(ctx["spec"], int(row.row)), width=112)
        st.markdown(f"given **{row.label_name}** · model **{row.pred_name}** ({row.prob:.0%})")
        st.caption(f"alpha {row.alpha:.3f} · trust {row.trust:.3f} · "
                   f"loss {row.loss:.2f}  \n{reason(row, ctx['threshold'], ctx['score'])}  \n`{sid}`")
        st.markdown(state_line(d))
        item = dict(sample_id=sid, old_label=current, alpha=float(row.alpha), loss=float(row.loss),
                    expected_last_id=latest.get(sid, 0))
        classes = ctx["classes"]
        # The model's guess is offered as the new label only while the model is learning (lsw.health).
        guess = classes.index(row.pred_name) if ctx["learning"] else None
        new = st.selectbox("New label", classes, index=guess, key=f"new-{sid}", placeholder="choose the label",
                           label_visibility="collapsed")
        c1, c2 = st.columns(2)
        c1.button("Relabel", key=f"relabel-{sid}", width="stretch", on_click=decide, disabled=new is None,
                  args=(ctx, [{**item, "new_label": new}], "relabel"))
        c2.button("Correct", key=f"correct-{sid}", width="stretch", on_click=decide, args=(ctx, [item], "correct"),
                  help=ACTION_LABELS["correct"])
        c1, c2 = st.columns([2, 3])
        c1.button("Exclude", key=f"exclude-{sid}", width="stretch", on_click=decide, args=(ctx, [item], "exclude"))
        c2.button("Ambiguous", key=f"ambiguous-{sid}", width="stretch", on_click=decide,
                  args=(ctx, [item], "ambiguous"))
        st.checkbox("select", key=f"sel-{sid}")


def grid(rows: pd.DataFrame, ctx: dict, final: dict[str, Decision], latest: dict[str, int], per_row: int = 4) -> None:
    for start in range(0, len(rows), per_row):
        cols = st.columns(per_row)
        for col, (_, row) in zip(cols, rows.iloc[start:start + per_row].iterrows()):
            with col:
                card(row, ctx, final, latest)
