"""Gallery cards: the image, given and predicted labels, scores, why it is shown, review state, actions."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app.review import current_label, decide
from app.selection import ticked
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
    return dict(sample_id=sid, old_label=current_label(row.given_name, d), given_label=row.given_name,
                alpha=float(row.alpha), loss=float(row.loss), expected_last_id=latest.get(sid, 0))


CARD_CSS = "<style>" + (Path(__file__).resolve().parents[1] / "assets" / "cards.css").read_text() + "</style>"


def card(row: pd.Series, info: RunInfo, final: dict[str, Decision], latest: dict[str, int]) -> None:
    """One sample of the run `info`, with its effective decision from `final`: compact, so that two rows of
    six fit a 1400x900 screen. Keep label / Exclude / Ambiguous record at once; Relabel takes the class
    in "Relabel to" (the model's guess, while the model is learning)."""
    sid = str(row.id)
    d = final.get(sid)
    with st.container(border=True, key=f"card-{sid}"):
        top = st.columns([1, 1], gap="small", vertical_alignment="center")
        pic = thumbnail_or_reason(info.data, int(row.row), info.image_size)
        top[0].image(pic, width=72) if isinstance(pic, bytes) else top[0].caption(pic)
        top[1].checkbox("select", key=f"sel-{sid}", help="select for a bulk action", on_change=ticked, args=(sid,))
        st.markdown(f"**{row.given_name}** → {row.pred_name} ({row.prob:.0%})",
                    help=f"given {row.given_name}; model {row.pred_name}. {reason(row, info.score, info.threshold)}."
                         f" alpha {row.alpha:.3f} · trust {row.trust:.3f} · loss {row.loss:.2f} · `{sid}`")
        st.caption(f"{info.score} {row.score:.2f} · {state_line(d) if d else 'not reviewed'}")
        item = review_item(row, d, latest)
        # The model's guess is offered as the new label only while the model is learning (lsw.health).
        guess = info.classes.index(row.pred_name) if info.learning and row.pred_name in info.classes else None
        new = st.selectbox("Relabel to", info.classes, index=guess, key=f"new-{sid}", placeholder="choose the label")
        st.button("Keep label", key=f"correct-{sid}", width="stretch", on_click=decide, args=(info, [item], "correct"),
                  icon=":material/check:", help="the given label is right")
        st.button("Relabel", key=f"relabel-{sid}", width="stretch", on_click=decide, disabled=new is None,
                  args=(info, [{**item, "new_label": new}], "relabel"), icon=":material/edit:")
        st.button("Exclude", key=f"exclude-{sid}", width="stretch", on_click=decide, args=(info, [item], "exclude"),
                  icon=":material/block:", help="drop the sample from the data set")
        st.button("Ambiguous", key=f"ambiguous-{sid}", width="stretch", on_click=decide, icon=":material/help:",
                  args=(info, [item], "ambiguous"), help="no single class fits; kept out of the clean set")


def grid(rows: pd.DataFrame, info: RunInfo, final: dict[str, Decision], latest: dict[str, int],
         per_row: int = 6) -> None:
    st.html(CARD_CSS)
    for start in range(0, len(rows), per_row):
        cols = st.columns(per_row, gap="small")
        for col, (_, row) in zip(cols, rows.iloc[start:start + per_row].iterrows()):
            with col:
                card(row, info, final, latest)


def paged_grid(rows: pd.DataFrame, info: RunInfo, final: dict[str, Decision], latest: dict[str, int], key: str,
               size: int = 24) -> None:
    """`grid` over all of `rows`, `size` per page, with its own page box (`key`)."""
    pages = max(1, -(-len(rows) // size))
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = pages
    page = st.number_input(f"Page (of {pages}, {size} per page)", 1, pages, key=key)
    grid(rows.iloc[(page - 1) * size: page * size], info, final, latest)
