"""Who may review and export, and who is signed in.

Three modes, decided on every run:
- "accounts": reviewer accounts exist ($LSW_HOME/users.json, `python -m lsw users add NAME`). A
  reviewer signs in with name and password; decisions carry that name and no other. The sign-in is
  kept in a cookie holding a random session token (`lsw.users.Sessions`), so it survives a page
  reload; signing out ends the session on the server.
- "open": no accounts, the server listens on the loopback interface only, and no shared password is
  set: the reviewer types a name, as on a personal machine.
- "locked": no accounts, and the server is reachable from other hosts (or the retired LSW_PASSWORD
  is still set, asking for a protection that is now accounts): review and export are refused with
  one message saying how to add an account.

The cookie is written by a line of JavaScript (`st.html`): Streamlit 1.64 reads cookies
(`st.context.cookies`, sent with the page's WebSocket) but has no call to set one.
"""
from __future__ import annotations

import hashlib
import ipaddress
import math
import os

import streamlit as st

from lsw.errors import LswError
from lsw.home import lsw_home
from lsw.users import SESSION_SECONDS, Sessions, SignInThrottle, UserStore

LOOPBACK_NAMES = ("localhost",)
ADD_HINT = "add one on the server with `python -m lsw users add NAME`, then reload this page"


def server_address() -> str:
    """The address the server listens on ("" = every interface, Streamlit's default)."""
    return str(st.get_option("server.address") or "").strip()


def served_locally(address: str | None = None) -> bool:
    """Whether `address` (default: the server's) is a loopback address, so only this machine can connect."""
    address = server_address() if address is None else address
    if address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # "" (all interfaces) or a host name: reachable from elsewhere


def legacy_password_set() -> bool:
    """Whether the retired shared password is still configured ($LSW_PASSWORD or secrets `password`)."""
    try:
        secret = st.secrets.get("password")
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        secret = None
    return bool(secret or os.environ.get("LSW_PASSWORD"))


@st.cache_resource
def _users(home: str) -> UserStore:
    return UserStore(home)


@st.cache_resource
def _sessions(home: str) -> Sessions:
    return Sessions(home)


@st.cache_resource
def throttle() -> SignInThrottle:
    """One per server process: failed sign-ins count across every tab and browser."""
    return SignInThrottle()


def users() -> UserStore:
    return _users(str(lsw_home()))


def sessions() -> Sessions:
    return _sessions(str(lsw_home()))


def cookie_name() -> str:
    """Per $LSW_HOME, so two dashboards on one host (cookies ignore the port) keep their own sign-in."""
    return "lsw_session_" + hashlib.sha256(str(lsw_home().resolve()).encode()).hexdigest()[:12]


def cookie_token() -> str | None:
    """The session token the browser sent when the page connected."""
    try:
        token = st.context.cookies.get(cookie_name())
    except Exception:  # noqa: BLE001 - no request context (e.g. a bare script run)
        return None
    return token if isinstance(token, str) else None


def accounts_problem() -> str | None:
    """Why the accounts file cannot be read (it is then treated as locked: fail closed), else None."""
    try:
        users().names()
    except LswError as e:
        return str(e)
    return None


def mode() -> str:
    """"accounts", "open" or "locked" (see the module docstring)."""
    if accounts_problem():
        return "locked"
    if users().exists():
        return "accounts"
    if served_locally() and not legacy_password_set():
        return "open"
    return "locked"


def locked_message() -> str:
    problem = accounts_problem()
    if problem:
        return f"Review and export are off: {problem}."
    if not served_locally():
        where = server_address() or "every network interface"
        return (f"This server is reachable from other hosts (it listens on {where}), so review and export are off "
                f"until reviewer accounts exist: {ADD_HINT}.")
    return (f"LSW_PASSWORD is set, but the shared password is retired in favour of reviewer accounts: review and "
            f"export are off until an account exists: {ADD_HINT} (and unset LSW_PASSWORD).")


def signed_in() -> str | None:
    """The signed-in reviewer's name, once their session and account are checked; None otherwise."""
    ss = st.session_state
    name, token = ss.get("auth_user"), ss.get("auth_token")
    if name is None:
        token = cookie_token()
        if ss.get("auth_signed_out") == token:
            return None
        name = sessions().user(token)
        if name is None:
            return None
        ss["auth_user"], ss["auth_token"] = name, token
    if sessions().user(token) != name or name not in users().names():  # signed out elsewhere or removed
        ss.pop("auth_user", None)
        ss.pop("auth_token", None)
        return None
    return name


def reviewer() -> str:
    """The name a decision is recorded under: the signed-in reviewer's when accounts exist, else the
    typed name on an open (loopback, account-less) server, else ""."""
    m = mode()
    if m == "accounts":
        return signed_in() or ""
    if m == "open":
        return (st.session_state.get("reviewer") or "").strip()
    return ""


def may_review() -> tuple[bool, str]:
    """Whether review actions and export are allowed now, and why not."""
    m = mode()
    if m == "locked":
        return False, locked_message()
    if m == "accounts":
        if signed_in():
            return True, ""
        return False, "Sign in (in the sidebar) to review and export."
    if not reviewer():
        return False, "Enter your reviewer name in the sidebar to record decisions."
    return True, ""


def sign_in(name: str, password: str) -> str | None:
    """Check `name` and `password`; on success start a session and return None, else the reason."""
    name = (name or "").strip()
    if not name or not password:
        return "Enter your name and password."
    wait = throttle().wait(name)
    if wait > 0:
        return f"Too many wrong passwords for {name}: try again in {math.ceil(wait)} s."
    if not users().verify(name, password):
        delay = throttle().failed(name)
        later = f" Wait {math.ceil(delay)} s before the next try." if delay else ""
        return "Wrong name or password." + later
    throttle().succeeded(name)
    ss = st.session_state
    ss["auth_user"], ss["auth_token"] = name, sessions().create(name)
    ss.pop("auth_signed_out", None)
    return None


def sign_out() -> None:
    ss = st.session_state
    sessions().revoke(ss.get("auth_token"))
    ss["auth_signed_out"] = cookie_token()  # the cookie this page connected with is no sign-in any more
    ss.pop("auth_user", None)
    ss.pop("auth_token", None)


def _set_cookie(value: str, max_age: int) -> None:
    secure = "+(location.protocol==='https:'?'; Secure':'')"
    st.html(f"<script>document.cookie='{cookie_name()}={value}; Path=/; Max-Age={max_age}; SameSite=Strict'"
            f"{secure};</script>", unsafe_allow_javascript=True)


def _sign_in_form() -> None:
    with st.form("signin", clear_on_submit=True, border=False):
        name = st.text_input("Reviewer", key="signin_name", autocomplete="username")
        password = st.text_input("Password", key="signin_password", type="password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", icon=":material/login:")
    if submitted:
        why = sign_in(name, password)
        if why:
            st.error(why)
        else:
            st.rerun()


def sidebar_block() -> None:
    """The sidebar's reviewer part: a name box (open), the sign-in form or who is signed in (accounts)."""
    m = mode()
    if m == "open":
        from app import remember

        remember.restore_name()
        st.text_input("Reviewer name", key="reviewer", help="Recorded with every decision you make; this browser "
                      "remembers it.")
        remember.keep_name()
        return
    if m == "locked":
        why = "the accounts file cannot be read" if accounts_problem() else "no reviewer accounts yet"
        st.caption(f":material/lock: Review and export are off: {why}.")
        return
    name = signed_in()
    if name is None:
        _sign_in_form()
        if st.session_state.get("auth_signed_out"):
            _set_cookie("", 0)
        return
    c1, c2 = st.columns([3, 2], vertical_alignment="center")
    c1.markdown(f":material/person: Signed in as **{name}**")
    c2.button("Sign out", on_click=sign_out, key="signout")
    _set_cookie(st.session_state["auth_token"], SESSION_SECONDS)
