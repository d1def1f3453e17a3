"""Setup's "Verify a trusted sample first": a stratified sample (N per class) in a fast grid, each image
confirmed or given its right class; the verified samples become the clean set D^c (`lsw.trusted`).

Keyboard: Tab moves between the class boxes (type to filter, Enter picks), Ctrl+Enter confirms the page
and moves to the next one; Left and Right page. Decisions go into the review store like any other.
"""
from __future__ import annotations

import math
import time

import streamlit as st

from app import state
from app.review import notify
from app.thumbs import thumbnail
from lsw.data import Source
from lsw.errors import LswError
from lsw.home import trusted_dir
from lsw.trusted import VERIFIED, TrustedSet, apply_decisions, verify_sample

PAGE = 40  # 8 columns x 5 rows: one screen
COLUMNS = 8
SHORTCUTS = "Ctrl+Enter confirms this page · Left / Right: previous / next page · Tab: next class box"


def sample(src: Source, per_class: int, seed: int) -> tuple[list[str], list[str], list[int]]:
    """(ids, given class names, rows) of the sample to verify."""
    rows = verify_sample(src.train.labels, src.train.num_classes, per_class, seed).tolist()
    ids = [str(src.train.ids[r]) for r in rows]
    names = [src.train.classes[src.train.labels[r]] for r in rows]
    return ids, names, rows


def _final(src: Source, ids: list[str], names: list[str]) -> dict:
    return {k: v for k, v in state.store().final_states(src.fingerprint, dict(zip(ids, names))).items() if k in ids}


def _confirm(src: Source, ids: list[str], names: list[str], page_ids: set[str]) -> None:
    """Record the page: a tile left at its given class is "correct", a changed one "relabel"; a tile
    whose effective decision already says the same is not recorded again."""
    ok, why = state.may_review()
    if not ok:
        notify(why, ":material/lock:")
        return
    final = _final(src, ids, names)
    keep, relabel = [], []
    for sid, given in zip(ids, names):
        if sid not in page_ids:
            continue
        chosen = st.session_state.get(f"vfy-{sid}", given)
        d = final.get(sid)
        now = None if d is None else (d.new_label if d.action == "relabel" else d.old_label or given)
        if d is not None and d.action in ("correct", "relabel") and now == chosen:
            continue
        item = dict(sample_id=sid, old_label=given, given_label=given)
        (keep if chosen == given else relabel).append(item if chosen == given else {**item, "new_label": chosen})
    store, name = state.store(), state.reviewer()
    store.record_many(src.fingerprint, keep, name, "correct", run_id="verify")
    store.record_many(src.fingerprint, relabel, name, "relabel", run_id="verify")
    notify(f"Verified {len(keep) + len(relabel)} sample(s): {len(relabel)} given another class")
    pages = math.ceil(len(ids) / PAGE)
    st.session_state["vfy_page"] = min(pages, st.session_state.get("vfy_page", 1) + 1)


def caption(given: str, decision, chosen: str) -> str:
    """The line under a tile, in full (the class box is too narrow for names like "automobile"): what is
    recorded, or the class picked in the box and not yet confirmed."""
    recorded = None if decision is None else (decision.new_label if decision.action == "relabel" else
                                              given if decision.action == "correct" else None)
    if chosen != (recorded or given):
        return f"{given} → **{chosen}**, not yet confirmed" if chosen != given else f"**{given}**, not yet confirmed"
    if recorded is None:
        return f"given {given}"
    return f"✓ {given}, verified" if recorded == given else f"{given} → {recorded}, verified"


def _turn(delta: int, pages: int) -> None:
    st.session_state["vfy_page"] = min(pages, max(1, st.session_state.get("vfy_page", 1) + delta))


def panel(spec: str, per_class: int, seed: int) -> None:
    """The grid of the sample of source `spec`, page by page, with how many are verified so far."""
    src = state.source(spec)
    if src.train.trusted is not None and src.train.trusted.any():
        st.info(f"This source marks {int(src.train.trusted.sum()):,} trusted rows: they are the clean set, "
                "nothing to verify.")
        return
    ids, names, rows = sample(src, per_class, seed)
    final = _final(src, ids, names)
    pages = max(1, math.ceil(len(ids) / PAGE))
    page = min(st.session_state.get("vfy_page", 1), pages)
    done = sum(1 for s in ids if s in final and final[s].action in ("correct", "relabel"))
    st.progress(done / max(1, len(ids)), text=f"{done} of {len(ids)} verified ({per_class} per class) · "
                                               f"page {page} of {pages}")
    st.caption(SHORTCUTS)
    part = list(range((page - 1) * PAGE, min(len(ids), page * PAGE)))
    classes = src.train.classes
    for start in range(0, len(part), COLUMNS):
        cols = st.columns(COLUMNS, gap="small")
        for col, k in zip(cols, part[start:start + COLUMNS]):
            sid, given = ids[k], names[k]
            d = final.get(sid)
            current = d.new_label if d is not None and d.action == "relabel" else given
            with col.container(border=True):
                st.image(thumbnail(spec, rows[k]), width=72)
                st.selectbox(f"Class of {sid}", classes, index=classes.index(current), key=f"vfy-{sid}",
                             label_visibility="collapsed", help=f"{sid}: given {given}")
                st.caption(caption(given, d, st.session_state[f"vfy-{sid}"]))
    b = st.columns([3, 2, 2])
    b[0].button(f"Confirm these {len(part)}", type="primary", key="vfy_confirm", width="stretch",
                shortcut="Ctrl+Enter", on_click=_confirm, args=(src, ids, names, {ids[k] for k in part}))
    b[1].button("Previous page", key="vfy_prev", shortcut="Left", width="stretch", on_click=_turn, args=(-1, pages),
                disabled=page == 1)
    b[2].button("Next page", key="vfy_next", shortcut="Right", width="stretch", on_click=_turn, args=(1, pages),
                disabled=page == pages)


def trusted_file(spec: str, per_class: int, seed: int) -> str:
    """Write the trusted set of the verified samples of source `spec` and return its path; LswError while a
    class has no verified sample (D^c needs every class)."""
    src = state.source(spec)
    ids, names, _ = sample(src, per_class, seed)
    ts = apply_decisions(TrustedSet(src.fingerprint, VERIFIED), _final(src, ids, names), ids)
    have = set(ts.labels.values())
    missing = [c for c in src.train.classes if c not in have]
    if missing:
        raise LswError(f"no verified sample of class(es) {', '.join(missing[:10])} yet: confirm the grid below "
                       "(or draw the clean set at random, unverified)")
    path = trusted_dir() / f"{src.fingerprint[:16]}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    return str(ts.write(path))
