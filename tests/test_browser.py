"""The dashboard in headless Chromium against a real `streamlit run` server.

Saves a screenshot of each screen to $LSW_SCREENSHOTS (default: the test's tmp folder).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int, address: str | None = "127.0.0.1") -> subprocess.Popen:
    """`streamlit run app/main.py` from the checkout on `port`; `address` None leaves the address to the
    project's .streamlit/config.toml, as the README's command does."""
    env = {**os.environ, "LSW_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("LSW_PASSWORD", None)
    where = [] if address is None else ["--server.address", address]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.headless", "true",
         "--server.port", str(port), *where, "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "ab"), start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy: " + (home / "server.log").read_text()[-2000:])


def stop_server(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(30)


@pytest.fixture
def browser(tmp_path):
    with playwright.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chrome"), executable_path=CHROMIUM, headless=True, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"])
        yield ctx
        ctx.close()


def shots_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("LSW_SCREENSHOTS") or tmp_path / "shots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def snap(page, path: Path, full_page: bool = False) -> None:
    """A screenshot for a person to look at; never a check of the app. Chromium without a GPU on a
    loaded CI machine once took over 30 s to paint a tall page of charts, so a slow full-page capture
    falls back to the viewport, and a capture that still times out is a warning, not a failure."""
    for whole in dict.fromkeys((full_page, False)):
        try:
            page.screenshot(path=str(path), full_page=whole, animations="disabled", timeout=60_000)
            return
        except playwright.TimeoutError:
            continue
    warnings.warn(f"no screenshot {path.name}: Chromium did not paint it in time", stacklevel=2)


def idle(page, timeout=60_000):
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def go(page, title):
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
    idle(page)


def start_run(page, epochs: int):
    name = page.get_by_role("textbox", name="Reviewer name")
    name.fill("ann")
    name.press("Enter")
    idle(page)
    epochs_box = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs_box.fill(str(epochs))
    epochs_box.press("Enter")
    idle(page)
    assert epochs_box.input_value() == str(epochs)
    page.get_by_role("button", name="Start training").click()


def open_app(browser, port: int, height: int):
    """A new tab on the app, once the Setup page has rendered."""
    page = browser.new_page()
    page.set_viewport_size({"width": 1400, "height": height})
    page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
    page.get_by_role("heading", name="Setup").wait_for(timeout=60_000)
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
    idle(page)
    return page


def test_end_to_end_in_a_browser(browser, tmp_path):
    home, shots, port = tmp_path / "home", shots_dir(tmp_path), free_port()
    home.mkdir()
    server = start_server(home, port)
    try:
        page = open_app(browser, port, 2200)
        snap(page, shots / "1-setup.png", full_page=True)
        start_run(page, epochs=4)
        page.get_by_text("finished").first.wait_for(timeout=120_000)
        other = browser.new_page()  # a second tab (new session) sees the same job
        other.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
        other.get_by_text("finished").first.wait_for(timeout=60_000)
        other.reload()
        other.get_by_text("finished").first.wait_for(timeout=60_000)
        other.close()

        go(page, "Training monitor")
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        assert page.locator(".js-plotly-plot").count() >= 2
        snap(page, shots / "2-monitor.png", full_page=True)

        go(page, "Review")
        page.locator("[class*='st-key-relabel-'] button").first.wait_for(timeout=30_000)
        snap(page, shots / "3-review.png", full_page=True)
        page.locator("[class*='st-key-relabel-'] button").first.click()
        page.get_by_text("relabelled →").first.wait_for(timeout=30_000)
        idle(page)
        snap(page, shots / "4-review-after-relabel.png", full_page=True)

        go(page, "Embedding map")
        page.locator(".js-plotly-plot").first.wait_for(timeout=180_000)
        snap(page, shots / "5-embedding.png", full_page=True)

        go(page, "Export")
        out = home / "exports" / "labels.csv"  # the dashboard writes only there
        box = page.get_by_role("textbox", name="Or write a file in")
        box.fill("labels.csv")
        box.press("Enter")
        idle(page)
        page.get_by_role("button", name="Write CSV").click()
        page.get_by_text("Wrote").first.wait_for(timeout=30_000)
        snap(page, shots / "6-export.png", full_page=True)
        df = pd.read_csv(out, keep_default_na=False, dtype=str)
        relabelled = df[df.action == "relabel"]
        assert len(relabelled) == 1 and relabelled.iloc[0].reviewer == "ann"
    finally:
        stop_server(server)


def test_killed_server_resumes_and_keeps_decisions(browser, tmp_path):
    from lsw.rundir import RunDir
    from lsw.store import ReviewStore

    home, shots, port = tmp_path / "home", shots_dir(tmp_path), free_port()
    home.mkdir()
    server = start_server(home, port)
    try:
        page = open_app(browser, port, 1400)
        start_run(page, epochs=20)  # 20 not 40: a loaded 2-core machine trains an epoch in 3-7 s here
        deadline = time.time() + 120
        run_dirs = []
        while time.time() < deadline:
            run_dirs = [p for p in (home / "runs").glob("*") if (p / "checkpoint.pt").exists()]
            if run_dirs and len(RunDir(run_dirs[0]).epochs()) >= 3:
                break
            time.sleep(0.3)
        run = RunDir(run_dirs[0])
        assert run.config()["epochs"] == 20, "the Epochs field was not taken"
        store = ReviewStore(home / "reviews.sqlite")
        acked = store.record(run.config()["fingerprint"], "digits:0", "ann", "exclude").decision.id
    finally:
        stop_server(server, signal.SIGKILL)  # mid-training
    done_before = run.epochs()[-1]
    assert run.summary() is None and done_before < 20

    server = start_server(home, port)
    try:
        page = open_app(browser, port, 1400)
        page.get_by_text("was interrupted").first.wait_for(timeout=60_000)
        snap(page, shots / "7-after-kill.png", full_page=True)
        page.get_by_role("button", name="Resume").click()
        page.get_by_text("finished").first.wait_for(timeout=240_000)
    finally:
        stop_server(server)
    assert run.epochs() == list(range(1, 22))  # 20 epochs, then the second pass
    assert run.summary() is not None
    assert acked in {d.id for d in ReviewStore(home / "reviews.sqlite").decisions(run.config()["fingerprint"])}
    shutil.rmtree(tmp_path / "chrome", ignore_errors=True)


def test_an_open_monitor_follows_jobs_started_stopped_and_resumed_in_another_tab(browser, tmp_path):
    """Bug i: a monitor opened before Start never picked up the run, did not notice a Resume, and its
    sidebar status stayed at "starting, prepare epoch 0/0"; a further viewer saw grey placeholders."""
    home, shots, port = tmp_path / "home", shots_dir(tmp_path), free_port()
    home.mkdir()
    server = start_server(home, port)
    try:
        monitor = open_app(browser, port, 1400)
        go(monitor, "Training monitor")
        monitor.get_by_text("No run yet: start one on the Setup page").wait_for(timeout=30_000)
        setup = open_app(browser, port, 1400)
        start_run(setup, epochs=200)
        # the open monitor tab picks the run up by itself: charts and a live status line
        monitor.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
        monitor.get_by_text(re.compile(r"running · lsw epoch ([3-9]|\d\d+)/200")).first.wait_for(timeout=120_000)
        third = open_app(browser, port, 1400)  # a further viewer sees the charts, not placeholders
        started = time.time()
        go(third, "Training monitor")
        third.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        seen_after = time.time() - started
        third.close()
        setup.get_by_role("button", name="Stop").click()
        monitor.get_by_text(re.compile(r"Run .* stopped")).first.wait_for(timeout=60_000)
        snap(monitor, shots / "8-monitor-stopped.png", full_page=True)
        setup.get_by_role("button", name="Resume").click()
        monitor.get_by_text(re.compile(r"running · lsw epoch")).first.wait_for(timeout=60_000)
        monitor.get_by_role("progressbar").first.wait_for(timeout=60_000)
        setup.get_by_role("button", name="Stop").click()
        monitor.get_by_text(re.compile(r"Run .* stopped")).first.wait_for(timeout=60_000)
    finally:
        stop_server(server)
    assert seen_after < 30
