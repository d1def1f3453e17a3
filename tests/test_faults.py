"""Fault injection: crashes in the training thread, out of memory, SIGKILL mid-run, odd manifests."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lsw.config import RunConfig
from lsw.data import load_source
from lsw.errors import LswError
from lsw.job import JobRegistry
from lsw.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", start_steps=0)


def wait_done(job, timeout=120):
    deadline = time.time() + timeout
    while job.snapshot().active and time.time() < deadline:
        time.sleep(0.1)
    return job.snapshot()


def test_exception_in_training_thread_fails_the_job_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    import lsw.train as train

    real = train.Trainer.finish_epoch

    def crash_on_third(self):
        if self.epoch == 3:
            raise RuntimeError("disk on fire")
        real(self)

    monkeypatch.setattr(train.Trainer, "finish_epoch", crash_on_third)
    reg = JobRegistry(tmp_path, in_subprocess=False)  # the patch reaches a job trained in this process
    job = reg.start(RunConfig(**FAST, epochs=5))
    snap = wait_done(job)
    assert snap.status == "failed" and "disk on fire" in snap.message
    assert (Path(snap.run_dir) / "error.log").exists()
    monkeypatch.setattr(train.Trainer, "finish_epoch", real)
    # the last checkpoint (epoch 2) is usable: resume finishes the run
    job = reg.start(RunConfig(**FAST, epochs=5), resume_dir=snap.run_dir)
    assert wait_done(job).status == "done"
    assert RunDir(snap.run_dir).epochs() == [1, 2, 3, 4, 5, 6]  # 5 epochs, then the second pass


def test_user_error_in_the_job_is_reported_and_a_second_start_is_refused(tmp_path):
    reg = JobRegistry(tmp_path)
    job = reg.start(RunConfig(data="folder:/no/such/folder", epochs=1))
    snap = wait_done(job)
    assert snap.status == "failed" and "does not exist" in snap.message
    job = reg.start(RunConfig(**FAST, epochs=30))
    with pytest.raises(LswError, match="already in progress"):
        reg.start(RunConfig(**FAST, epochs=1))
    job.stop()
    assert wait_done(job).status == "stopped"


def test_a_crash_in_the_dashboards_training_process_fails_the_job_with_its_reason(tmp_path):
    reg = JobRegistry(tmp_path)  # the dashboard's: the audit runs in a subprocess (`lsw.processjob`)
    job = reg.start(RunConfig(**{**FAST, "lr": 1e6, "start_epoch": 0}, epochs=3))
    snap = wait_done(job, timeout=300)
    assert snap.status == "failed" and "lower the learning rate" in snap.message, snap
    assert RunDir(snap.run_dir).status().state == "failed"


def test_out_of_memory_says_what_to_do(tmp_path, monkeypatch):
    import lsw.methods as methods

    def oom(*a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setitem(methods.LSW_STEPS, "full", oom)
    monkeypatch.setitem(methods.LSW_STEPS, "head", oom)
    from lsw.audit import run_audit

    with pytest.raises(LswError, match="out of GPU memory at batch size 128: try a smaller batch size"):
        run_audit(RunConfig(**FAST, epochs=4), tmp_path / "run")


def test_sigkill_mid_run_then_resume(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "lsw", "run", "--data", "digits", "--noise", "symmetric:0.3", "--clean-per-class",
           "10", "--epochs", "60", "--device", "cpu", "--out", str(out)]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = RunDir(out)
    deadline = time.time() + 120
    while time.time() < deadline and not (run.checkpoint.exists() and len(run.epochs()) >= 3):
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    done = run.epochs()
    assert 3 <= len(done) < 60 and run.summary() is None
    r = subprocess.run([*cmd[:4], "--out", str(out), "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert run.epochs() == list(range(1, 62))  # 60 epochs, then the second pass
    assert json.loads((out / "summary.json").read_text())["epochs"] == 60


labels = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s != "")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(labels, st.sampled_from(["0", "1", "", "yes", "2"])), min_size=2, max_size=6))
def test_manifests_load_or_refuse_cleanly(tmp_path, rows):
    """Any manifest either loads with the labels it states or raises LswError naming the row."""
    import csv
    import tempfile

    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # hypothesis replays examples: a fresh folder each time
    with open(folder / "m.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "trusted"])
        for i, (label, trusted) in enumerate(rows):
            Image.new("L", (4, 4), i * 10).save(folder / f"{i}.png")
            w.writerow([f"{i}.png", label, trusted])
    try:
        s = load_source(f"csv:{folder}/m.csv", cache_dir=tmp_path / "cache", progress=False)
    except LswError as e:
        assert "row" in str(e) or "trusted" in str(e)
        return
    assert [s.train.classes[k] for k in s.train.labels] == [label for label, _ in rows]
    assert all(t in ("0", "1", "") for _, t in rows)
    assert s.train.images.dtype == np.uint8


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_training_process_stops_when_the_dashboard_process_dies():
    parent = ("import subprocess, sys, time\n"
              "from lsw.processjob import _stop_with_parent\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True,"
              " preexec_fn=_stop_with_parent)\n"
              "print(p.pid, flush=True)\n")
    pid = int(subprocess.run([sys.executable, "-c", parent], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout)
    deadline = time.time() + 10
    state = "gone"
    while time.time() < deadline:
        try:
            state = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                         if line.startswith("State:"))
        except FileNotFoundError:
            state = "gone"
        if state in ("gone", "Z"):
            break
        time.sleep(0.1)
    assert state in ("gone", "Z")  # dead (a zombie until init reaps it), not sleeping on
