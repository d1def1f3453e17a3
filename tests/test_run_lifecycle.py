"""A run's life through the job and the run folder: status after a restart, stop on a finished job,
wall time over resumes, and what the folder offers to resume."""
import threading
import time

import pytest

from lsw.audit import run_audit
from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.job import JobRegistry
from lsw.rundir import RunDir
from lsw.train import Cancelled

FAST = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", seed=0, start_steps=0)


def wait_done(job, timeout=120):
    deadline = time.time() + timeout
    while job.snapshot().active and time.time() < deadline:
        time.sleep(0.05)
    return job.snapshot()


def test_stop_on_a_finished_job_keeps_it_done_and_a_new_run_starts(tmp_path):
    # bug c: stop() after the end left the job "stopping" for good and every new run was refused
    reg = JobRegistry(tmp_path)
    job = reg.start(RunConfig(**FAST, epochs=1))
    assert wait_done(job).status == "done"
    job.stop()
    assert job.snapshot().status == "done" and not job.snapshot().active
    job2 = reg.start(RunConfig(**FAST, epochs=1))
    assert wait_done(job2).status == "done"


def test_a_failed_run_reads_as_failed_after_a_restart_and_is_not_offered_to_resume(tmp_path):
    # bug e: after a restart a failed run (a NaN loss) was offered as "interrupted, resume"
    with pytest.raises(LswError, match="lower the learning rate"):
        run_audit(RunConfig(**FAST, epochs=4, start_epoch=0, lr=1e6), tmp_path / "nan")
    run = RunDir(tmp_path / "nan")  # what a fresh process sees
    status = run.status()
    assert status.state == "failed" and "lower the learning rate" in status.message
    assert not run.resumable()


def test_status_of_done_stopped_and_interrupted_runs(tmp_path):
    run_audit(RunConfig(**FAST, epochs=1), tmp_path / "done")
    assert RunDir(tmp_path / "done").status().state == "done" and not RunDir(tmp_path / "done").resumable()
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        run_audit(RunConfig(**FAST, epochs=3), tmp_path / "stopped", on_event=lambda e: cancel.set(), cancel=cancel)
    stopped = RunDir(tmp_path / "stopped")
    assert stopped.status().state == "stopped" and stopped.resumable()
    stopped.write_status("running")  # the process died while it was running
    assert stopped.resumable()
    assert [r.run_id for r in RunDir.list(tmp_path)] == ["stopped", "done"]


def test_summary_seconds_cover_every_process_of_a_resumed_run(tmp_path):
    # bug k: after a resume, summary.json had seconds (this process only) < lsw_seconds (all epochs)
    cfg = RunConfig(**FAST, epochs=10)
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        run_audit(cfg, tmp_path / "run", on_event=lambda e: e.epoch == 9 and cancel.set(), cancel=cancel)
    s = run_audit(cfg, tmp_path / "run", resume=True)
    assert s["seconds"] >= s["lsw_seconds"], s


def test_a_run_started_over_an_earlier_one_keeps_none_of_its_records(tmp_path):
    """--force, or compare again into the same folder: the new run's epochs alone are listed (the earlier run's
    were kept beside them, so the stacks had the wrong rows), and its second-pass readings and trusted set go."""
    first = RunDir(tmp_path)
    run_audit(RunConfig(**FAST, epochs=3, second_pass=0.9, fold_reading=2), tmp_path)
    assert first.epochs() == [1, 2, 3, 4] and first.readings()
    first.trusted_path.write_text("{}")  # as if the earlier run had learnt from a trusted set
    (tmp_path / "notes.txt").write_text("mine")  # not the run's: left alone
    run_audit(RunConfig(**FAST, epochs=2, second_pass=0), tmp_path)
    run = RunDir(tmp_path)
    assert run.epochs() == [1, 2] and sorted(p.name for p in (tmp_path / "epochs").iterdir()) == ["0001", "0002"]
    assert run.readings() == {} and not run.trusted_path.exists() and (tmp_path / "notes.txt").read_text() == "mine"
    assert len(run.stack("trust")) == 2
