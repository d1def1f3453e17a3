"""The audit loop in headless Chromium: verify a trusted sample first (keyboard), review with the keyboard
in focused mode, the compact grid, and the next round. Screenshots for the README's "An audit, step by
step" go to $LSW_SCREENSHOTS (see tests/test_browser.py)."""
import time

import pytest

from tests.test_browser import (  # noqa: F401
    browser,
    free_port,
    go,
    idle,
    open_app,
    playwright,
    shots_dir,
    snap,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser


def _wait(predicate, timeout=120.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_audit_loop_in_a_browser(browser, tmp_path):  # noqa: F811
    from lsw.rundir import RunDir
    from lsw.store import ReviewStore

    home, shots, port = tmp_path / "home", shots_dir(tmp_path), free_port()
    home.mkdir()
    server = start_server(home, port)
    try:
        page = open_app(browser, port, 900)
        name = page.get_by_role("textbox", name="Reviewer name")
        name.fill("ann")
        name.press("Enter")
        idle(page)
        page.get_by_text("Verify a trusted sample first").click()
        idle(page)
        per_class = page.get_by_role("spinbutton", name="Samples to verify per class")
        per_class.fill("4")
        per_class.press("Enter")
        idle(page)
        epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
        epochs.fill("4")
        epochs.press("Enter")
        idle(page)
        grid = page.get_by_role("button", name="Confirm these 40")
        grid.scroll_into_view_if_needed()
        snap(page, shots / "loop-1-verify.png")
        page.get_by_role("heading", name="Setup").click()  # focus off any input: the page takes the keys
        page.keyboard.press("Control+Enter")  # keyboard: confirm the page
        store = ReviewStore(home / "reviews.sqlite")
        _wait(lambda: len(store.runs()) == 0 and sum(len(store.decisions(d)) for d in _datasets(store)) == 40,
              what="40 verified decisions")
        idle(page)
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("finished").first.wait_for(timeout=120_000)
        run = RunDir(next((home / "runs").iterdir()))
        assert run.config()["clean_set"] == "verified"

        go(page, "Review")
        cards = page.locator("[class*='st-key-card-']")
        cards.first.wait_for(timeout=30_000)
        cards.first.scroll_into_view_if_needed()
        page.evaluate("document.querySelector(\"[class*='st-key-card-']\").scrollIntoView({block: 'start'})")
        time.sleep(0.5)
        visible = page.evaluate("""() => [...document.querySelectorAll("[class*='st-key-card-']")]
            .filter(e => { const r = e.getBoundingClientRect(); return r.top >= -4 && r.bottom <= innerHeight + 1; })
            .length""")
        snap(page, shots / "loop-2-review-grid.png")
        assert visible >= 12, f"only {visible} cards fit a 1400x900 screen"
        clipped = page.evaluate("""() => [...document.querySelectorAll("[class*='st-key-card-'] button *")]
            .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent)""")
        assert not clipped, f"button labels cut off: {clipped[:5]}"

        page.get_by_text("Focused mode: one sample at a time").click()
        page.locator(".st-key-focus-correct button").wait_for(timeout=30_000)
        idle(page)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # the sample's alpha and trust over epochs
        clipped = page.evaluate("""() => [...document.querySelectorAll("[class*='st-key-focus-'] button *")]
            .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent)""")
        assert not clipped, f"button labels cut off: {clipped[:5]}"
        snap(page, shots / "loop-3-focused.png")
        fp = run.config()["fingerprint"]
        before = len(store.decisions(fp))
        for k, key in enumerate("kxakkxakkx"):  # a keyboard-only review of 10 samples
            page.get_by_role("heading", name="Review").click()
            page.keyboard.press(key)
            _wait(lambda n=before + k + 1: len(store.decisions(fp)) == n, what=f"decision {k + 1}")
            idle(page)
        log = store.decisions(fp)[before:]
        assert len({d.sample_id for d in log}) == 10
        assert [d.action for d in log] == ["correct" if c == "k" else "exclude" if c == "x" else "ambiguous"
                                           for c in "kxakkxakkx"]
        page.get_by_role("button", name="Start next round").click()
        _wait(lambda: len(RunDir.list(home / "runs")) == 2, what="the next round's run")
        new = RunDir.list(home / "runs")[0]
        _wait(lambda: new.summary() is not None, timeout=300, what="the next round to finish")
        assert new.config()["parent_run"] == str(run.path.resolve()) and new.config()["round"] == 2
        go(page, "Training monitor")
        try:
            page.get_by_text("Rounds", exact=True).first.wait_for(timeout=60_000)
        except Exception:
            snap(page, shots / "loop-4-failed.png", full_page=True)
            raise
        page.get_by_text("Rounds", exact=True).first.scroll_into_view_if_needed()
        snap(page, shots / "loop-4-rounds.png")
        # the reviewer's name survives a reload
        page.reload()
        page.get_by_role("heading", name="Training monitor").wait_for(timeout=60_000)
        idle(page)
        # the box is drawn first and filled from the cookie a moment later (measured: '' at once, 'ann' 3 s on)
        playwright.expect(page.get_by_role("textbox", name="Reviewer name")).to_have_value("ann", timeout=15_000)
    finally:
        stop_server(server)


def _datasets(store):
    import sqlite3

    with sqlite3.connect(store.path) as c:
        return [r[0] for r in c.execute("SELECT DISTINCT dataset FROM decisions")]
