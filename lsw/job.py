"""A background audit: one thread owns the trainer; anyone may poll `snapshot()`.

`TrainingJob` trains in that thread of this process; the dashboard's `JobRegistry` starts a
`lsw.processjob.ProcessJob` instead, whose thread watches the audit running in a subprocess (see there
why), with the same snapshot.

Nothing here knows about Streamlit. The dashboard keeps one `JobRegistry` per server process (made
once through `st.cache_resource`) so every browser tab and every refresh sees the same job.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from lsw.config import RunConfig
from lsw.errors import AuditFailed, LswError
from lsw.eta import TimeLeft, weight_step_cost
from lsw.events import EpochEvent
from lsw.fold_reading import fold_steps, folded_networks
from lsw.rundir import RunDir
from lsw.second_pass import applies

ACTIVE = ("starting", "running", "stopping")


@dataclass(frozen=True)
class JobSnapshot:
    """A copy of a job's state. status: starting | running | stopping | stopped | done | failed."""

    run_id: str
    run_dir: str
    status: str
    phase: str = "prepare"  # prepare | lsw | retrain
    epoch: int = 0  # epochs finished in the current phase
    epochs: int = 0
    step: int = 0
    steps: int = 0
    started: float = 0.0
    seconds_left: float | None = None
    message: str | None = None
    last_event_epoch: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def fraction(self) -> float:
        if not self.epochs or not self.steps:
            return 0.0
        return min(1.0, (self.epoch + self.step / self.steps) / self.epochs)


class TrainingJob:
    """Runs `lsw.audit.run_audit` in a daemon thread; `stop()` cancels within one batch."""

    def __init__(self, config: RunConfig, run_dir: str | Path, resume: bool = False,
                 run_id: str | None = None) -> None:
        self.config = config
        self.resume = resume
        self.run_dir = Path(run_dir)
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._snap = JobSnapshot(run_id or self.run_dir.name, str(self.run_dir), "starting", started=time.time())
        self._thread = threading.Thread(target=self._work, name=f"lsw-{self._snap.run_id}", daemon=True)
        self.summary: dict | None = None
        self._phase, self._eta = "", TimeLeft()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask a starting or running job to stop within one batch; a finished job stays as it is."""
        with self._lock:
            if not self._snap.active:
                return
            self.cancel.set()
            self._snap = replace(self._snap, status="stopping")

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return self._snap

    def _update(self, **fields: object) -> None:
        with self._lock:
            if self._snap.status == "stopping" and fields.get("status") == "running":
                fields.pop("status")
            self._snap = replace(self._snap, **fields)

    def _on_progress(self, phase: str, epoch: int, epochs: int, step: int, steps: int) -> None:
        """Progress of the phase, with the time left in it (`lsw.eta.TimeLeft`)."""
        if phase != self._phase:
            cost = weight_step_cost(self.config) if phase == "lsw" else 1.0  # "lsw": the audit's training
            first_dear = self.config.first_weight_epoch if cost > 1.0 else None
            self._phase, self._eta = phase, TimeLeft(first_dear=first_dear, cost=cost)
        left = self._eta.update(epoch, epochs, step, steps)
        if left is not None and phase == "lsw" and applies(self.config):  # the second pass still to come
            pass_steps = round(self.config.second_pass * steps)
            left += self._eta.plain_phase(pass_steps * epochs + fold_steps(self.config, pass_steps),
                                          epochs - epochs // 2 + folded_networks(self.config))
        self._update(status="running", phase=phase, epoch=epoch, epochs=epochs, step=step, steps=steps,
                     seconds_left=left)

    def _on_event(self, event: EpochEvent) -> None:
        self._update(last_event_epoch=event.epoch)

    def _work(self) -> None:
        """The audit writes the run's status (`RunDir.write_status`); the snapshot mirrors it for this process."""
        from lsw.audit import run_audit
        from lsw.train import Cancelled

        try:
            self.summary = run_audit(self.config, self.run_dir, resume=self.resume, on_event=self._on_event,
                                     on_progress=self._on_progress, cancel=self.cancel)
            self._update(status="done", seconds_left=0.0, message=None)
        except Cancelled:
            self._update(status="stopped", message="stopped by the user; resume continues from the last epoch")
        except (LswError, AuditFailed) as e:
            self._update(status="failed", message=str(e))
        except Exception as e:  # noqa: BLE001 - the app must stay up (an error before the audit began)
            self._update(status="failed", message=f"{type(e).__name__}: {e}")


class JobRegistry:
    """The jobs of one process, at most one active at a time. Run folders live under `runs_root`."""

    def __init__(self, runs_root: str | Path, in_subprocess: bool = True) -> None:
        """`in_subprocess` False: jobs train in a thread of this process (`TrainingJob`), so a test can patch
        the engine it runs; the dashboard always uses subprocesses."""
        self.runs_root = Path(runs_root)
        self.in_subprocess = in_subprocess
        self._lock = threading.Lock()
        self._job: TrainingJob | None = None

    def current(self) -> TrainingJob | None:
        with self._lock:
            return self._job

    def start(self, config: RunConfig, resume_dir: str | Path | None = None, procs: int = 1) -> TrainingJob:
        """Start a new run (or resume the one in `resume_dir`, with as many processes as trained it).
        The audit runs in a subprocess (`lsw.processjob`, for why), data-parallel through torchrun when
        `procs` > 1. Refuses while another is active."""
        from lsw.processjob import ProcessJob

        def make(run_dir: Path, **kw: object) -> TrainingJob:
            if self.in_subprocess or procs > 1:
                return ProcessJob(config, run_dir, procs, **kw)
            return TrainingJob(config, run_dir, **kw)

        with self._lock:
            if self._job is not None and self._job.snapshot().active:
                raise LswError("a training run is already in progress: stop it first")
            if resume_dir is not None:
                run = RunDir(resume_dir)
                if not run.checkpoint.exists():
                    raise LswError(f"{run.path} has no checkpoint to resume from: start a new run")
                procs = run.config().get("world_size", 1)
                job = make(run.path, resume=True)
            else:
                run_id = RunDir.new_id()
                job = make(self.runs_root / run_id, run_id=run_id)
            self._job = job
            job.start()
            return job

    def runs(self) -> list[RunDir]:
        """The runs on disk, newest first."""
        return RunDir.list(self.runs_root)

    def job_for(self, run: RunDir | None) -> TrainingJob | None:
        """The job of this process that works (or worked) on `run`, if any."""
        job = self.current()
        return job if job is not None and run is not None and Path(job.run_dir) == run.path else None


def set_training_threads() -> None:
    """Give training every core (torch threads are process-wide). Leaving one to the web server made a
    2-core machine train digits in 8.2 s from the dashboard against 1.8 s in the CLI; the pages poll
    lightly (every 2 s, a small JSON read) and the server idles between polls."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
