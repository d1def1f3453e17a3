"""Safe on a shared machine, against a real `streamlit run` server started with the project's configuration:
it listens on the loopback interface only; a reviewer's sign-in survives a reload and ends with sign-out;
decisions carry the signed-in name; the Export preview offers no download of its own.

Saves screenshots to $LSW_SCREENSHOTS (default: the test's tmp folder).
"""
import ipaddress
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser
from test_browser import free_port, snap, stop_server  # noqa: E402
from test_browser import start_server as start_browser_server  # noqa: E402

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def start_server(home: Path, port: int) -> subprocess.Popen:
    return start_browser_server(home, port, address=None)  # the project's configuration decides


def listening_addresses(pid: int) -> list[str]:
    """The local addresses of the TCP sockets process `pid` listens on (what `ss -ltnp` shows), from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            raw = bytes.fromhex(hex_addr)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))  # /proc prints 32-bit words host-endian
            found.append(f"{ipaddress.ip_address(raw)}:{int(hex_port, 16)}")
    return found


def this_machines_other_addresses() -> list[str]:
    """Non-loopback IPv4 addresses of this machine (may be none in a sandbox)."""
    try:
        names = socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        return []
    return sorted({a for a in names if not ipaddress.ip_address(a).is_loopback})


def test_server_with_the_project_configuration_listens_on_loopback_only(tmp_path):
    home, port = tmp_path / "home", free_port()
    home.mkdir()
    server = start_server(home, port)
    try:
        addresses = listening_addresses(server.pid)
        assert addresses == [f"127.0.0.1:{port}"], addresses
        for address in this_machines_other_addresses():  # nobody reaches it through another interface
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from lsw.audit import run_audit
    from lsw.config import RunConfig

    out = tmp_path_factory.mktemp("run") / "20990101-000000-abcdef"
    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, device="cpu"), out)
    return out


def idle(page, timeout=60_000):
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def sign_in(page, name, password):
    page.get_by_role("textbox", name="Reviewer").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    idle(page)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)")
def test_sign_in_survives_a_reload_and_decisions_carry_the_name(tmp_path, finished_run):
    from lsw.rundir import RunDir
    from lsw.store import ReviewStore
    from lsw.users import UserStore

    home, port = tmp_path / "home", free_port()
    shutil.copytree(finished_run, home / "runs" / finished_run.name)
    UserStore(home).add("ann", "ann-password")
    shots = Path(os.environ.get("LSW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    server = start_server(home, port)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)
            idle(page)
            snap(page, shots / "access-1-sign-in.png")
            assert page.get_by_role("textbox", name="Reviewer name").count() == 0  # no free-text name

            sign_in(page, "ann", "ann-password")
            page.get_by_text("Signed in as").wait_for(timeout=30_000)
            # the cookie is written by a script that runs once its element mounts, just after the text shows
            # (a loaded machine can take a moment): a reload before that would be a sign-in never kept
            page.wait_for_function("document.cookie.includes('lsw_session_')", timeout=30_000)
            idle(page)
            page.reload()
            page.get_by_text("Signed in as").wait_for(timeout=60_000)  # the cookie brought it back
            idle(page)

            page.get_by_role("link", name="Review").click()
            page.locator("[class*='st-key-correct-'] button").first.wait_for(timeout=60_000)
            idle(page)
            page.locator("[class*='st-key-correct-'] button").first.click()
            page.get_by_text("kept as correct").first.wait_for(timeout=30_000)
            idle(page)
            snap(page, shots / "access-2-review-signed-in.png", full_page=True)
            dataset = RunDir(home / "runs" / finished_run.name).config()["fingerprint"]
            assert [(d.reviewer, d.action) for d in ReviewStore(home / "reviews.sqlite").decisions(dataset)] == [
                ("ann", "correct")]

            page.get_by_role("link", name="Export").click()
            grid = page.locator("[data-testid='stDataFrame']").first
            grid.wait_for(timeout=60_000)
            idle(page)
            grid.hover()
            toolbar = page.locator("[data-testid='stElementToolbar']").first
            toolbar.get_by_role("button", name="Search").wait_for(timeout=10_000)  # the toolbar is shown
            assert toolbar.get_by_role("button", name="Download as CSV").count() == 0
            assert page.locator("button[aria-label*='Download' i]").count() == 0
            snap(page, shots / "access-3-export-toolbar.png")

            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
            idle(page)
            page.reload()
            page.get_by_role("button", name="Sign in").wait_for(timeout=60_000)  # signed out stays out
            idle(page)
            assert page.get_by_text("Signed in as").count() == 0
            assert page.get_by_role("button", name="Download CSV").is_disabled()

            for i in range(3):
                sign_in(page, "ann", f"wrong-{i}")
            page.get_by_text("Wait 5 s before the next try").wait_for(timeout=10_000)
            sign_in(page, "ann", "ann-password")
            page.get_by_text("Too many wrong passwords for ann").wait_for(timeout=10_000)
            snap(page, shots / "access-4-slowed.png")
            assert page.get_by_text("Signed in as").count() == 0
            browser.close()
    finally:
        stop_server(server)
