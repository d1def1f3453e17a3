"""Gallery cards: the image, given and predicted labels, scores, why it is shown, review state, actions."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.review import ACTION_LABELS, current_label, decide
from app.thumbs import thumbnail_or_reason
from lsw.galleries import reason
from lsw.rundir import RunInfo
from lsw.store import Decision

BADGES = {"relabel": ":blue-background[relabelled", "correct": ":green-background[kept as correct",
          "exclude": ":red-background[excluded", "ambiguous": ":orange-background[ambiguous"}


def state_line(d: Decision | None) -> str:
    if d is None:
        return "not reviewed"
    text = BADGES.get(d.action, "[" + d.action)
    if d.action == "relabel":
        text += f" → {d.new_label}"
    return f"{text}] by {d.reviewer}"


def review_item(row: pd.Series, d: Decision | None, latest: dict[str, int]) -> dict:
    """The fields a decision on `row` records (see `ReviewStore.record_many`)."""
    sid = str(row.id)
    return dict(sample_id=sid, old_label=current_label(row.label_name, d), given_label=row.label_name,
                alpha=float(row.alpha), loss=float(row.loss), expected_last_id=latest.get(sid, 0))


def card(row: pd.Series, info: RunInfo, final: dict[str, Decision], latest: dict[str, int]) -> None:
    """One sample of the run `info`, with its effective decision from `final`."""
    sid = str(row.id)
    d = final.get(sid)
    with st.container(border=True):
        pic = thumbnail_or_reason(info.data, int(row.row), info.image_size)
        st.image(pic, width=112) if isinstance(pic, bytes) else st.caption(pic)
        st.markdown(f"given **{row.label_name}** · model **{row.pred_name}** ({row.prob:.0%})")
        st.caption(f"alpha {row.alpha:.3f} · trust {row.trust:.3f} · "
                   f"loss {row.loss:.2f}  \n{reason(row, info.score, info.threshold)}  \n`{sid}`")
        st.markdown(state_line(d))
        item = review_item(row, d, latest)
        # The model's guess is offered as the new label only while the model is learning (lsw.health).
        guess = info.classes.index(row.pred_name) if info.learning else None
        new = st.selectbox("New label", info.classes, index=guess, key=f"new-{sid}", placeholder="choose the label",
                           label_visibility="collapsed")
        c1, c2 = st.columns(2)
        c1.button("Relabel", key=f"relabel-{sid}", width="stretch", on_click=decide, disabled=new is None,
                  args=(info, [{**item, "new_label": new}], "relabel"))
        c2.button("Correct", key=f"correct-{sid}", width="stretch", on_click=decide, args=(info, [item], "correct"),
                  help=ACTION_LABELS["correct"])
        c1, c2 = st.columns([2, 3])
        c1.button("Exclude", key=f"exclude-{sid}", width="stretch", on_click=decide, args=(info, [item], "exclude"))
        c2.button("Ambiguous", key=f"ambiguous-{sid}", width="stretch", on_click=decide,
                  args=(info, [item], "ambiguous"))
        st.checkbox("select", key=f"sel-{sid}")


def grid(rows: pd.DataFrame, info: RunInfo, final: dict[str, Decision], latest: dict[str, int],
         per_row: int = 4) -> None:
    for start in range(0, len(rows), per_row):
        cols = st.columns(per_row)
        for col, (_, row) in zip(cols, rows.iloc[start:start + per_row].iterrows()):
            with col:
                card(row, info, final, latest)
