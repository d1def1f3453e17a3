"""The grid's selection and paging: select all on a page, a range as shift-click selects one, clear after a
bulk action, page turns; all with keyboard shortcuts (listed on the page by `SHORTCUTS`)."""
from __future__ import annotations

import streamlit as st

from app.review import ACTION_LABELS, decide
from lsw.rundir import RunInfo

BULK_KEYS = {"correct": "Shift+K", "relabel": "Shift+L", "exclude": "Shift+X", "ambiguous": "Shift+A"}
SHORTCUTS = ("Keyboard: ← / → page · Shift+S select all on the page · Shift+E select the range between the last "
             "two cards ticked · Shift+N clear the selection · "
             "Shift+K keep label · Shift+L relabel · Shift+X exclude · Shift+A ambiguous (on the selection) · "
             "U undo my last decision · focused mode: K, L, X, A, S")


def selected(ids: list[str]) -> list[str]:
    return [s for s in ids if st.session_state.get(f"sel-{s}")]


def ticked(sid: str) -> None:
    """A card's select box changed: remember the last two cards ticked on, the ends of a range."""
    if st.session_state.get(f"sel-{sid}"):
        st.session_state["_sel_trail"] = [*st.session_state.get("_sel_trail", [])[-1:], sid]


def range_ids(shown_ids: list[str]) -> list[str]:
    """The cards of this page from the one ticked before last to the last one, both included and in page
    order (shift-click in a file list); [] until two cards of this page were ticked."""
    ends = [e for e in st.session_state.get("_sel_trail", []) if e in shown_ids]
    if len(ends) < 2:
        return []
    a, b = sorted(shown_ids.index(e) for e in ends)
    return shown_ids[a:b + 1]


def _set(ids: list[str], value: bool) -> None:
    for s in ids:
        st.session_state[f"sel-{s}"] = value


def _bulk(info: RunInfo, items: list[dict], action: str) -> None:
    decide(info, items, action)
    _set([i["sample_id"] for i in items], False)  # a bulk action clears the selection it used


def _turn(delta: int, pages: int) -> None:
    st.session_state["f_page"] = min(pages, max(1, int(st.session_state.get("f_page", 1)) + delta))


def paging(pages: int) -> None:
    c = st.columns(2, gap="small")
    c[0].button("Previous page", key="page_prev", shortcut="Left", on_click=_turn, args=(-1, pages), width="stretch",
                icon=":material/chevron_left:")
    c[1].button("Next page", key="page_next", shortcut="Right", on_click=_turn, args=(1, pages), width="stretch",
                icon=":material/chevron_right:")


def bulk_bar(info: RunInfo, shown_ids: list[str], items_for: callable) -> None:
    """Select all / clear, and each action on the selected cards of this page (`items_for(ids, action)` gives
    the decision fields)."""
    chosen = selected(shown_ids)
    span = range_ids(shown_ids)
    c = [*st.columns([2, 2, 2, 3], gap="small", vertical_alignment="bottom"), *st.columns(4, gap="small")]
    c = [c[0], c[2], c[4], c[5], c[6], c[7], c[3], c[1]]  # all, clear, the 4 actions, relabel class, range
    c[0].button("Select all", key="sel_all", shortcut="Shift+S", on_click=_set, args=(shown_ids, True),
                width="stretch")
    c[7].button(f"Select range ({len(span)})" if span else "Select range", key="sel_range", shortcut="Shift+E",
                on_click=_set, args=(span, True), width="stretch", disabled=not span,
                help="tick a card, then another: this selects every card between them, as shift-click does")
    c[1].button("Clear", key="sel_none", shortcut="Shift+N", on_click=_set, args=(shown_ids, False), width="stretch",
                disabled=not chosen)
    for col, action in zip(c[2:6], BULK_KEYS):
        col.button(f"{ACTION_LABELS[action]} ({len(chosen)})", key=f"bulk_{action}_go", shortcut=BULK_KEYS[action],
                   width="stretch", disabled=not chosen, on_click=_bulk, args=(info, items_for(chosen, action), action),
                   help=f"{ACTION_LABELS[action]} every selected card on this page")
    c[6].selectbox("Relabel the selection to", info.classes, key="bulk_label")
