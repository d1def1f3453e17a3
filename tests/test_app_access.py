"""Who may review and export, through AppTest: loopback and accounts, sign-in, data roots, exports."""
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from lsw.users import Sessions, UserStore

MAIN = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
REVIEW, EXPORT = "../pages/review.py", "../pages/export.py"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One short digits audit, copied into each test's $LSW_HOME/runs."""
    from lsw.audit import run_audit
    from lsw.config import RunConfig

    out = tmp_path_factory.mktemp("run") / "20990101-000000-abcdef"
    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, device="cpu"), out)
    return out


@pytest.fixture
def home(tmp_path, monkeypatch, finished_run):
    home = tmp_path / "home"
    shutil.copytree(finished_run, home / "runs" / finished_run.name)
    monkeypatch.setenv("LSW_HOME", str(home))
    monkeypatch.delenv("LSW_PASSWORD", raising=False)
    monkeypatch.delenv("LSW_DATA_ROOTS", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield home
    st.cache_resource.clear()


@pytest.fixture
def address():
    """Set the server's listening address as `streamlit run --server.address` would."""
    before = st_config.get_option("server.address")

    def set_address(value):
        st_config.set_option("server.address", value)

    set_address("127.0.0.1")
    yield set_address
    st_config.set_option("server.address", before)


def start(page=None):
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def decisions(home):
    """The decisions on the run in `home` (named, not `state.current_run()`: outside a script run that reads
    whatever session state an earlier test left)."""
    from app import state
    from lsw.rundir import RunDir

    return state.store().decisions(RunDir.latest(home / "runs").config()["fingerprint"])


def click_first(at, prefix):
    next(b for b in at.button if (b.key or "").startswith(prefix)).click().run()
    assert not at.exception


def sign_in(at, name, password):
    at.text_input(key="signin_name").set_value(name)
    at.text_input(key="signin_password").set_value(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception
    return at


def test_reachable_server_without_accounts_refuses_review_and_export(home, address):
    address("0.0.0.0")
    at = start(REVIEW)
    message = "reachable from other hosts"
    assert [w.value for w in at.warning if message in w.value] and "python -m lsw users add NAME" in at.warning[0].value
    assert not [t for t in at.sidebar.text_input if t.label == "Reviewer name"]  # no free-text name here
    click_first(at, "correct-")
    assert decisions(home) == []
    at.switch_page(EXPORT).run()
    assert len([w for w in at.warning if message in w.value]) == 1  # one message on the page
    assert at.get("download_button")[0].proto.disabled
    assert next(b for b in at.button if b.label == "Write CSV").disabled
    assert not at.dataframe  # no preview rows reach the browser
    address("")  # Streamlit's default: every interface
    assert any(message in w.value for w in start(REVIEW).warning)


def test_loopback_without_accounts_keeps_the_typed_name(home, address):
    at = start(REVIEW)
    assert any("reviewer name" in w.value for w in at.warning)
    at.sidebar.text_input(key="reviewer").set_value("ann").run()
    click_first(at, "correct-")
    assert [d.reviewer for d in decisions(home)] == ["ann"]


def test_the_retired_shared_password_asks_for_accounts(home, address, monkeypatch):
    monkeypatch.setenv("LSW_PASSWORD", "s3cret")
    at = start(REVIEW)
    assert any("LSW_PASSWORD" in w.value and "users add" in w.value for w in at.warning)
    click_first(at, "correct-")
    assert decisions(home) == []


def test_a_decision_carries_the_signed_in_name_and_no_other(home, address):
    UserStore(home).add("ann", "ann-password")
    UserStore(home).add("bob", "bob-password")
    address("0.0.0.0")  # accounts make a reachable server usable
    at = start(REVIEW)
    assert any("Sign in" in w.value for w in at.warning)
    assert not [t for t in at.sidebar.text_input if t.label == "Reviewer name"]
    click_first(at, "correct-")
    assert decisions(home) == []

    sign_in(at, "ann", "ann-password")
    assert any("Signed in as **ann**" in m.value for m in at.sidebar.markdown)
    at.session_state["reviewer"] = "bob"  # a name typed or set elsewhere does not count
    click_first(at, "exclude-")
    assert [(d.reviewer, d.action) for d in decisions(home)] == [("ann", "exclude")]

    next(b for b in at.button if b.label == "Sign out").click().run()
    click_first(at, "correct-")
    assert len(decisions(home)) == 1
    sign_in(at, "bob", "ann-password")  # ann's password does not sign in as bob
    assert any("Wrong name or password" in e.value for e in at.sidebar.error)
    click_first(at, "correct-")
    assert len(decisions(home)) == 1


def test_removed_account_is_signed_out(home, address):
    UserStore(home).add("ann", "ann-password")
    at = sign_in(start(REVIEW), "ann", "ann-password")
    assert any("Signed in as **ann**" in m.value for m in at.sidebar.markdown)
    UserStore(home).remove("ann")
    UserStore(home).add("bob", "bob-password")
    at.run()
    assert not any("Signed in" in m.value for m in at.sidebar.markdown)
    click_first(at, "correct-")
    assert decisions(home) == []


def test_sign_in_is_restored_from_the_session_cookie(home, address, monkeypatch):
    from app import auth

    UserStore(home).add("ann", "ann-password")
    token = Sessions(home).create("ann")
    monkeypatch.setattr(auth, "cookie_token", lambda: token)  # the cookie a reloaded page sends
    at = start(REVIEW)
    assert any("Signed in as **ann**" in m.value for m in at.sidebar.markdown)
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f"{auth.cookie_name()}={token}" in html  # the browser keeps the cookie
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert Sessions(home).user(token) is None
    assert not any("Signed in" in m.value for m in at.sidebar.markdown)
    assert start(REVIEW).text_input(key="signin_name")  # the old cookie signs nobody in


def test_three_wrong_passwords_in_a_row_slow_the_next_try(home, address):
    UserStore(home).add("ann", "ann-password")
    at = start(REVIEW)
    for i in range(3):
        sign_in(at, "ann", f"wrong-{i}")
        assert "Wrong name or password" in at.sidebar.error[0].value
    assert "Wait 5 s" in at.sidebar.error[0].value
    sign_in(at, "ann", "ann-password")  # the right password, too soon
    assert "Too many wrong passwords for ann: try again in" in at.sidebar.error[0].value
    assert not any("Signed in" in m.value for m in at.sidebar.markdown)
    sign_in(at, "bob", "whatever-pass")  # another name is not held up
    assert "Wrong name or password." == at.sidebar.error[0].value


@pytest.mark.parametrize("where", ["outside", "dotdot", "symlink"])
def test_setup_refuses_data_outside_the_roots(home, address, tmp_path, monkeypatch, where):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "cat").mkdir(parents=True)
    (root / "inside").mkdir(parents=True)
    (root / "link").symlink_to(outside)
    monkeypatch.setenv("LSW_DATA_ROOTS", str(root))
    path = {"outside": str(outside), "dotdot": f"{root}/inside/../../outside", "symlink": str(root / "link")}[where]
    at = start()
    at.selectbox(key="setup_kind").set_value("folder").run()
    at.text_input(key="setup_path").set_value(path).run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    refusal = (f"{path} is outside the data roots ({root.resolve()}): the dashboard opens data only there; set "
               "LSW_DATA_ROOTS to add a folder")
    # the Start button and the verify-a-sample grid (a user's folder verifies first) both refuse it
    assert [e.value for e in at.error] == [f"Cannot start: {refusal}", f"Cannot draw the sample: {refusal}"]
    at.radio(key="setup_clean_by").set_value("random").run()  # the job path below
    at.text_input(key="setup_path").set_value(str(root / "inside")).run()  # inside: the loader has its say
    next(b for b in at.button if b.label == "Start training").click().run()
    deadline = time.time() + 60  # the job checks the data in its thread (issue 13 h): wait for its verdict
    while not any("no class sub-folders" in e.value for e in at.error) and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert any("no class sub-folders" in e.value for e in at.error), [e.value for e in at.error]


def test_export_name_stays_in_the_exports_folder(home, address, tmp_path):
    at = start()
    at.sidebar.text_input(key="reviewer").set_value("ann").run()
    at.switch_page(EXPORT).run()
    assert at.dataframe  # the preview, now that export is allowed
    at.text_input(key="export_name").set_value("../../x.csv").run()
    next(b for b in at.button if b.label == "Write CSV").click().run()
    assert not at.exception and at.success
    assert (home / "exports" / "x.csv").exists()
    assert not (tmp_path / "x.csv").exists() and not (home / "x.csv").exists()
    assert len(pd.read_csv(home / "exports" / "x.csv")) > 0
    (home / "exports" / "mine.csv").write_text("not an export\n")
    at.text_input(key="export_name").set_value("mine.csv").run()
    next(b for b in at.button if b.label == "Write CSV").click().run()
    assert "Not written" in at.error[0].value
    assert (home / "exports" / "mine.csv").read_text() == "not an export\n"


def test_an_unreadable_accounts_file_keeps_review_off(home, address):
    (home / "users.json").write_text("{not json")
    at = start(REVIEW)
    assert any("cannot read the accounts file" in w.value for w in at.warning)
    assert not [t for t in at.sidebar.text_input if t.label == "Reviewer name"]
    click_first(at, "correct-")
    assert decisions(home) == []
