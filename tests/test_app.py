"""The dashboard through streamlit's AppTest: every screen, a real short job, a relabel, the export."""
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
PAGES = ["../pages/setup.py", "../pages/monitor.py", "../pages/review.py", "../pages/embedding.py",
         "../pages/export.py", "../pages/compare.py"]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("LSW_HOME", str(tmp_path))
    monkeypatch.delenv("LSW_PASSWORD", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    yield at
    from app import state

    job = state.registry().current()
    if job is not None:
        job.stop()
        job.join(30)
    st.cache_resource.clear()


def run_short_job(at, epochs=4):  # alpha moves from epoch 3 (start_epoch 2)
    at.sidebar.text_input[0].set_value("ann").run()
    at.number_input(key="setup_epochs").set_value(epochs).run()
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.error, [e.value for e in at.error]
    from app import state

    deadline = time.time() + 300  # the job trains in a subprocess, which starts in seconds (more under load)
    while time.time() < deadline:
        snap = state.registry().current().snapshot()
        if not snap.active:
            break
        time.sleep(0.5)
        at.run()
    assert snap.status == "done", snap
    return at.run()


def test_every_screen_renders_on_the_default_data(app):
    assert not app.exception
    assert app.title[0].value == "Setup"
    assert "digits" in [o for o in app.selectbox(key="setup_kind").options]
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, page
        assert app.title, page


def test_short_job_produces_histograms_and_pages(app):
    at = run_short_job(app)
    at.switch_page("../pages/monitor.py").run()
    charts = at.get("plotly_chart")
    assert len(charts) >= 2
    spec = json.loads(charts[0].proto.spec)
    assert spec["data"][0]["type"] == "bar"
    assert {t["name"].split(" ")[0] for t in spec["data"]} == {"clean", "noisy"}
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page


def test_head_meta_gradient_is_chosen_on_setup_and_runs(app):
    app.selectbox(key="setup_meta").set_value("head").run()
    at = run_short_job(app, epochs=3)
    from app import state

    job = state.registry().current()
    assert job.config.meta == "head"
    assert json.loads((Path(job.snapshot().run_dir) / "config.json").read_text())["meta"] == "head"
    assert not at.exception
    # the embedding map can be coloured by the run's flag score (trust by default)
    at.switch_page("../pages/embedding.py").run()
    deadline = time.time() + 120
    while not at.get("plotly_chart") and time.time() < deadline:
        time.sleep(1)
        at.run()
    at.radio(key="map_colour").set_value("flag score").run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["coloraxis"]["colorbar"]["title"]["text"] == "trust (higher = trusted)"


def test_relabel_writes_one_row_and_export_holds_it(app, tmp_path):
    at = run_short_job(app)
    at.switch_page("../pages/review.py").run()
    relabels = [b for b in at.button if (b.key or "").startswith("relabel-")]
    assert relabels, "the flagged gallery is empty"
    sid = relabels[0].key.removeprefix("relabel-")
    new_label = at.selectbox(key=f"new-{sid}").value
    relabels[0].click().run()
    assert not at.exception
    from app import state

    run = state.current_run()
    dataset = run.config()["fingerprint"]
    log = state.store().decisions(dataset)
    assert len(log) == 1
    d = log[0]
    assert (d.sample_id, d.action, d.new_label, d.reviewer) == (sid, "relabel", new_label, "ann")
    assert d.alpha is not None and d.loss is not None and d.ts.endswith("Z")
    assert "relabelled" in " ".join(m.value for m in [*at.markdown, *at.caption])

    at.switch_page("../pages/export.py").run()
    at.text_input(key="export_name").set_value("labels.csv").run()
    next(b for b in at.button if b.label == "Write CSV").click().run()
    assert not at.exception and at.success
    out = tmp_path / "exports" / "labels.csv"  # $LSW_HOME/exports
    df = pd.read_csv(out, keep_default_na=False, dtype=str)
    row = df[df.id == sid].iloc[0]
    assert (row.action, row.final_label, row.reviewer) == ("relabel", new_label, "ann")


def test_a_big_export_is_written_in_the_background_with_progress(app, tmp_path, monkeypatch):
    """More rows than one piece (CHUNK, 100,000 in the product; 7 here): the click answers at once, a
    progress bar follows the write, and the file (under the name typed just before the click) holds every
    row once with the decisions in it."""
    import time

    from app import exporting

    at = run_short_job(app)
    monkeypatch.setattr(exporting, "CHUNK", 7)
    from lsw import export

    slow = export.export_rows
    monkeypatch.setattr(export, "export_rows", lambda *a: (time.sleep(0.05), slow(*a))[1])
    at.switch_page("../pages/review.py").run()
    exclude = next(b for b in at.button if (b.key or "").startswith("exclude-"))
    sid = exclude.key.removeprefix("exclude-")
    exclude.click().run()
    at.switch_page("../pages/export.py").run()
    at.text_input(key="export_name").set_value("big.csv")  # typed, then the click: one rerun with both
    next(b for b in at.button if b.label == "Write CSV").click().run()
    assert not at.exception and at.get("progress") and not at.success
    assert next(b for b in at.button if b.label == "Write CSV").disabled  # one write at a time
    for _ in range(200):
        if at.success:
            break
        time.sleep(0.1)
        at.run()
    assert at.success and not at.get("progress")
    rows = int(at.metric[0].value.replace(",", ""))
    df = pd.read_csv(tmp_path / "exports" / "big.csv", keep_default_na=False, dtype=str)
    assert len(df) == rows > 7 and df.id.is_unique
    assert df.loc[df.id == sid, "action"].item() == "exclude"


def test_bulk_action_and_undo(app):
    at = run_short_job(app)
    at.switch_page("../pages/review.py").run()
    boxes = [c for c in at.checkbox if (c.key or "").startswith("sel-")][:2]
    for box in boxes:
        box.check().run()
    exclude = next(b for b in at.button if b.key == "bulk_exclude_go")
    assert exclude.label == "Exclude (2)" and exclude.proto.shortcut
    exclude.click().run()
    assert not at.exception
    assert not any(c.value for c in at.checkbox if (c.key or "").startswith("sel-"))  # the selection is cleared
    from app import state

    dataset = state.current_run().config()["fingerprint"]
    log = state.store().decisions(dataset)
    assert sorted(d.sample_id for d in log) == sorted(b.key.removeprefix("sel-") for b in boxes)
    assert {d.action for d in log} == {"exclude"}
    next(b for b in at.button if b.key == "undo").click().run()
    assert len(state.store().final_states(dataset)) == 1


def test_select_range_selects_the_cards_between_the_last_two_ticked(app):
    at = run_short_job(app)
    at.switch_page("../pages/review.py").run()
    boxes = [c.key for c in at.checkbox if (c.key or "").startswith("sel-")]
    assert len(boxes) >= 6, "the flagged gallery has too few cards"
    assert at.button(key="sel_range").disabled  # nothing ticked yet
    at.checkbox(key=boxes[4]).check().run()
    at.checkbox(key=boxes[1]).check().run()  # the range runs either way
    span = at.button(key="sel_range")
    assert span.label == "Select range (4)" and span.proto.shortcut
    span.click().run()
    assert [k for k in boxes if at.checkbox(key=k).value] == boxes[1:5]
    keep = at.button(key="bulk_correct_go")
    assert keep.label == "Keep label (4)"
    keep.click().run()
    from app import state

    log = state.store().decisions(state.current_run().config()["fingerprint"])
    assert sorted(d.sample_id for d in log) == sorted(k.removeprefix("sel-") for k in boxes[1:5])


def test_review_requires_a_name_and_the_retired_password_asks_for_accounts(app, monkeypatch):
    at = run_short_job(app)
    at.sidebar.text_input[0].set_value("").run()
    at.switch_page("../pages/review.py").run()
    assert any("reviewer name" in w.value for w in at.warning)
    monkeypatch.setenv("LSW_PASSWORD", "s3cret")  # retired: accounts replace it (tests/test_app_access.py)
    at.sidebar.text_input[0].set_value("ann").run()
    at.run()
    assert any("LSW_PASSWORD" in w.value for w in at.warning)
    btn = next(b for b in at.button if (b.key or "").startswith("correct-"))
    btn.click().run()
    from app import state

    assert state.store().decisions(state.current_run().config()["fingerprint"]) == []
    monkeypatch.delenv("LSW_PASSWORD")
    at.run()
    next(b for b in at.button if (b.key or "").startswith("correct-")).click().run()
    assert len(state.store().decisions(state.current_run().config()["fingerprint"])) == 1


def test_compare_page_shows_a_comparison(app, tmp_path):
    pytest.importorskip("cleanlab")
    from lsw.config import RunConfig
    from lsw.research.compare import run_compare

    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, device="cpu")
    run_compare(cfg, ["lsw", "small-loss"], tmp_path / "compare" / "demo")
    app.switch_page("../pages/compare.py").run()
    assert not app.exception
    assert list(app.dataframe[0].value["method"]) == ["lsw", "small-loss", "small-loss (averaged)",
                                                      "small-loss (averaged + second pass)"]
    assert len(app.get("plotly_chart")) == 2


def test_setup_values_survive_visiting_other_pages(app):
    app.number_input(key="setup_epochs").set_value(7).run()
    app.selectbox(key="setup_noise_type").set_value("instance").run()
    app.switch_page("../pages/monitor.py").run()
    app.switch_page("../pages/setup.py").run()
    assert app.number_input(key="setup_epochs").value == 7
    assert app.selectbox(key="setup_noise_type").value == "instance"


def wait_for_job(at, timeout=300):
    from app import state

    deadline = time.time() + timeout
    while state.registry().current().snapshot().active and time.time() < deadline:
        time.sleep(0.3)
    return at.run()


def test_bad_folder_shows_a_message_and_keeps_the_form(app, tmp_path):
    app.selectbox(key="setup_kind").set_value("folder").run()
    app.text_input(key="setup_path").set_value(str(tmp_path / "missing")).run()
    assert app.radio(key="setup_clean_by").value == "verify"  # a user's folder: verify a sample first
    assert any("does not exist" in e.value for e in app.error)  # the verify grid says why it cannot draw one
    app.radio(key="setup_clean_by").set_value("random").run()
    next(b for b in app.button if b.label == "Start training").click().run()
    at = wait_for_job(app)  # the job checks the data (bug h: once, not also in the button handler)
    assert not at.exception
    assert "does not exist" in at.error[0].value
    assert at.text_input(key="setup_path").value == str(tmp_path / "missing")


def test_synthetic_noise_is_off_for_the_users_own_data(app):
    # bug a: "symmetric 0.3" stayed on when the source was switched to a folder or a manifest
    assert app.selectbox(key="setup_noise_type").value == "symmetric"  # the digits demo evaluates on known noise
    assert any("Synthetic noise" in w.value for w in app.warning)
    for kind in ("folder", "csv"):
        app.selectbox(key="setup_kind").set_value(kind).run()
        assert app.selectbox(key="setup_noise_type").value == "none", kind
        assert not any("Synthetic noise" in w.value for w in app.warning)
    app.selectbox(key="setup_noise_type").set_value("instance").run()  # asked for explicitly: kept
    assert app.selectbox(key="setup_noise_type").value == "instance"
    assert any("Synthetic noise **instance:0.3** is on" in w.value for w in app.warning)


def test_every_page_says_when_the_run_shown_has_synthetic_noise(app):
    at = run_short_job(app, epochs=1)
    for page in PAGES:
        at.switch_page(page).run()
        assert any("Synthetic noise **symmetric:0.3** is on" in w.value for w in at.sidebar.warning), page


def test_setup_prepares_the_data_once_in_the_job(app, monkeypatch):
    # bug h: the button handler decoded and prepared the data, threw it away, and the job prepared again.
    # The job now trains in its own process (`lsw.processjob`), so the page's process prepares nothing.
    import lsw.audit
    import lsw.prepare

    calls = []
    real = lsw.prepare.prepare

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(lsw.prepare, "prepare", counting)
    monkeypatch.setattr(lsw.audit, "prepare", counting)
    app.sidebar.text_input[0].set_value("ann").run()
    next(b for b in app.button if b.label == "Start training").click().run()
    assert app.get("progress") or app.success  # the bar shows at once (or the tiny run is already done)
    at = wait_for_job(app)
    from app import state

    assert state.registry().current().snapshot().status == "done" and not at.exception
    assert calls == []


def stopped_run(home, run_id, epochs=3):
    """A run on disk that was stopped after its first epoch, as an earlier process left it."""
    import threading

    from lsw.audit import run_audit
    from lsw.config import RunConfig
    from lsw.train import Cancelled

    cancel = threading.Event()
    cfg = RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=epochs, device="cpu")
    with pytest.raises(Cancelled):
        run_audit(cfg, home / "runs" / run_id, on_event=lambda e: cancel.set(), cancel=cancel)
    return home / "runs" / run_id


def test_the_sidebar_pick_wins_over_a_finished_job_and_an_older_run_resumes(app, tmp_path):
    # bug d: once any job existed in the process, the sidebar's run picker was ignored
    old = stopped_run(tmp_path, "20000101-000000-old000")
    at = run_short_job(app, epochs=2)
    from app import state

    shown = lambda: next(m.value for m in at.metric if m.label in ("Shown from epoch", "Scores from"))  # noqa: E731
    at.switch_page("../pages/review.py").run()
    assert shown() == "pass 2"  # the job's run, which ended with its second pass
    at.sidebar.selectbox[0].set_value(old.name).run()
    assert shown() == "1"  # the older run, stopped after epoch 1
    at.switch_page("../pages/setup.py").run()
    assert any("was stopped after epoch 1" in w.value for w in at.warning)
    resume = next(b for b in at.button if b.label == "Resume")
    assert not resume.disabled
    resume.click().run()
    wait_for_job(at)
    assert str(state.registry().current().run_dir) == str(old)
    assert state.registry().current().snapshot().status == "done"


def test_after_a_restart_a_failed_run_is_shown_as_failed_not_interrupted(tmp_path, monkeypatch):
    # bug e: after a restart a failed run (a NaN loss) was offered as "interrupted, resume"
    from lsw.audit import run_audit
    from lsw.config import RunConfig
    from lsw.errors import LswError

    with pytest.raises(LswError):
        run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, start_epoch=0,
                            lr=1e6, device="cpu"), tmp_path / "runs" / "20000101-000000-nan000")
    monkeypatch.setenv("LSW_HOME", str(tmp_path))
    st.cache_resource.clear()  # a fresh server process
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    assert not at.exception
    assert any("failed" in e.value and "lower the learning rate" in e.value for e in at.error)
    assert not any("interrupted" in w.value for w in at.warning)
    assert next(b for b in at.button if b.label == "Resume").disabled
    st.cache_resource.clear()


def test_the_chosen_epoch_stays_while_training_adds_epochs(app, tmp_path):
    # bug i: the epoch slider jumped back to the newest epoch at every refresh while training
    from lsw.audit import run_audit
    from lsw.config import RunConfig
    from lsw.rundir import RunDir

    run = RunDir(tmp_path / "runs" / "20000101-000000-mon000")
    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, device="cpu",
                        second_pass=0), run.path)  # epochs 1 to 3, then "training" adds epochs 4 and 5 below
    at = app.switch_page("../pages/monitor.py").run()
    assert at.slider(key="monitor_epoch").value == 3
    at.slider(key="monitor_epoch").set_value(1).run()
    record = run.metrics()[-1]
    run.write_epoch(4, {**{k: v for k, v in record.items() if k != "hist"}, "epoch": 4}, record["hist"],
                    **run.epoch_arrays(3))  # training finishes another epoch
    at.run()
    assert at.slider(key="monitor_epoch").value == 1 and at.slider(key="monitor_epoch").max == 4
    at.slider(key="monitor_epoch").set_value(4).run()  # back to the newest: follow the newest again
    run.write_epoch(5, {**{k: v for k, v in record.items() if k != "hist"}, "epoch": 5}, record["hist"],
                    **run.epoch_arrays(3))
    at.run()
    assert at.slider(key="monitor_epoch").value == 5


def test_the_pages_say_when_scores_come_from_the_second_pass(app, tmp_path):
    from lsw.audit import run_audit
    from lsw.config import RunConfig

    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, device="cpu"),
              tmp_path / "runs" / "20000101-000000-sp0000")
    at = app.switch_page("../pages/monitor.py").run()
    assert not at.exception
    assert [(m.label, m.value) for m in at.metric][0] == ("Epoch + second pass", "3/3")
    assert [m.value for m in at.metric if m.label == "Validation accuracy"][0].endswith("%")
    at.switch_page("../pages/review.py").run()
    assert ("Scores from", "pass 2") in [(m.label, m.value) for m in at.metric]
    assert not any("not the final ones" in i.value for i in at.info)  # a finished run's queue is final


def test_the_review_page_says_when_the_queue_is_not_final(app, tmp_path):
    from lsw.audit import run_audit
    from lsw.config import RunConfig
    from lsw.rundir import RunDir

    run = RunDir(tmp_path / "runs" / "20000101-000000-nf0000")
    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=2, device="cpu"), run.path)
    for state, said in [("running", "was interrupted"), ("stopped", "was stopped"), ("failed", "failed")]:
        run.write_status(state)  # "running" with no live job: a run a crash or a restart cut short
        at = app.switch_page("../pages/review.py").run()
        shown = " ".join(i.value for i in at.info)
        assert f"This run {said}: the queue comes from the scores after epoch 3" in shown, shown


def test_the_monitor_says_when_no_trusted_sample_is_held_out(app, tmp_path):
    from lsw.audit import run_audit
    from lsw.config import RunConfig

    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, val_frac=0, epochs=2, device="cpu",
                        second_pass=0), tmp_path / "runs" / "20000101-000000-nv0000")
    at = app.switch_page("../pages/monitor.py").run()
    shown = [m for m in at.metric if m.label == "Validation accuracy"][0]
    assert shown.value == "none" and "health check reads the clean set" in shown.help


def test_the_monitor_says_why_alpha_sits_at_one_half_under_the_evidence_step(app, tmp_path):
    from lsw.audit import run_audit
    from lsw.config import RunConfig

    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, device="cpu",
                        second_pass=0), tmp_path / "runs" / "20000101-000000-ev0000")
    at = app.switch_page("../pages/monitor.py").run()
    assert any("Alpha stays at 0.5" in c.value for c in at.caption)
    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=3, device="cpu",
                        second_pass=0, alpha_step="sum", eta_alpha=1), tmp_path / "runs" / "20000101-000001-sm0000")
    at = app.switch_page("../pages/monitor.py").run()  # the newest run: the paper's step, no such note
    assert not any("Alpha stays at 0.5" in c.value for c in at.caption)


def test_the_training_image_size_chosen_on_setup_reaches_the_run_and_its_thumbnails(app, tmp_path):
    from PIL import Image

    from app import state

    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(40):  # 10 a class go to the clean set
            pixels = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "photos" / c / f"{i}.jpg")
    app.selectbox(key="setup_kind").set_value("folder").run()
    app.text_input(key="setup_path").set_value(str(tmp_path / "photos")).run()
    app.radio(key="setup_clean_by").set_value("random").run()
    app.number_input(key="setup_image_size").set_value(48).run()
    app.number_input(key="setup_epochs").set_value(1).run()
    next(b for b in app.button if b.label == "Start training").click().run()
    at = wait_for_job(app)
    assert not at.exception and not at.error, [e.value for e in at.error]
    run = state.current_run()
    assert run.config()["image_size"] == 48
    assert state.source(run.config()["data"], 48).train.images.shape[1:] == (3, 48, 48)  # 96x128 centre-cropped
    at.switch_page("../pages/review.py").run()
    assert not at.exception
