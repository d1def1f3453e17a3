"""Recording review decisions from the page: one card or many, with conflict notices and undo."""
from __future__ import annotations

import streamlit as st

from app import state
from lsw.rundir import RunInfo
from lsw.store import Decision

ACTION_LABELS = {"relabel": "Relabel", "correct": "Keep label", "exclude": "Exclude", "ambiguous": "Ambiguous"}


def current_label(given: str, d: Decision | None) -> str:
    """The label a sample has now: the latest effective relabel, else the given one."""
    return d.new_label if d is not None and d.action == "relabel" else given


def notify(msg: str, icon: str = ":material/check_circle:") -> None:
    st.session_state.setdefault("flash", []).append((msg, icon))


def show_notices() -> None:
    for msg, icon in st.session_state.pop("flash", []):
        st.toast(msg, icon=icon)
        if icon == ":material/warning:":
            st.warning(msg)


def decide(info: RunInfo, items: list[dict], action: str) -> None:
    """Record `action` on each item (dicts with sample_id, old_label, given_label, new_label, alpha, loss,
    expected_last_id; see `app.cards.review_item`) for the run `info`."""
    ok, why = state.may_review()
    if not ok:
        notify(why, ":material/lock:")
        return
    results = state.store().record_many(info.dataset, items, state.reviewer(), action, run_id=info.run_id)
    for r in results:
        if r.conflict is not None:
            c = r.conflict
            change = c.action + (f" to {c.new_label}" if c.new_label else "")
            notify(f"{r.decision.sample_id} was changed by {c.reviewer} at {c.ts} ({change}); "
                   "your decision was recorded after it.", ":material/warning:")
    fresh = sum(not r.repeated for r in results)
    notify(f"{ACTION_LABELS[action]}: {fresh} sample(s) recorded"
           + (f"; {len(results) - fresh} already had this decision" if fresh < len(results) else ""))


def undo(info: RunInfo) -> None:
    ok, why = state.may_review()
    if not ok:
        notify(why, ":material/lock:")
        return
    d = state.store().undo_last(info.dataset, state.reviewer())
    notify(f"Undid your last decision on {d.sample_id}" if d else "Nothing of yours to undo", ":material/undo:")
