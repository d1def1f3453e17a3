"""The typed reviewer name (open, account-less server) survives a page reload: it is kept in a cookie of
this browser (`lsw_reviewer`, a year, SameSite=Strict) and read back when a new session starts. With
accounts the sign-in cookie does this (`app.auth`)."""
from __future__ import annotations

from urllib.parse import quote, unquote

import streamlit as st

COOKIE = "lsw_reviewer"
MAX_AGE = 365 * 24 * 3600


def restore_name() -> None:
    """A new session starts with the name this browser last typed; a session whose name box state was
    dropped (Streamlit forgets a widget's value after a run that did not draw it) gets it back, so the
    name is neither lost nor its cookie deleted."""
    if "reviewer" in st.session_state:
        return
    if "_name_cookie" in st.session_state:
        if st.session_state["_name_cookie"]:
            st.session_state["reviewer"] = st.session_state["_name_cookie"]
        return
    try:
        raw = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (a bare script run)
        raw = None
    saved = unquote(raw).strip()[:100] if isinstance(raw, str) else ""  # AppTest gives a stand-in object
    st.session_state["_name_cookie"] = saved
    if saved:
        st.session_state["reviewer"] = saved


def keep_name() -> None:
    """Write the cookie of the typed name (percent-encoded: no quote reaches the script). Written on every
    run while a name is set, not only on the run where it changed: a script element that a quick rerun
    replaces may never run, and the name was then lost on the next reload. An emptied name deletes it."""
    name = (st.session_state.get("reviewer") or "").strip()
    if not name and not st.session_state.get("_name_cookie"):
        return
    st.session_state["_name_cookie"] = name
    secure = "+(location.protocol==='https:'?'; Secure':'')"
    st.html(f"<script>document.cookie='{COOKIE}={quote(name, safe='')}; Path=/; Max-Age={MAX_AGE if name else 0}; "
            f"SameSite=Strict'{secure};</script>", unsafe_allow_javascript=True)
