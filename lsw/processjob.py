"""The dashboard's background audit: `python -m lsw run` in a subprocess, watched like an in-process job.

Why a subprocess and not a thread of the web server: the same training ran 1.5x to 1.9x slower in a
thread than in a process's main thread (digits, 10 epochs: 3.3 to 4.5 s of training against 2.1 to 2.5
s, `python bench/dashboard_speed.py`; a tinynet step's backward alone 1.5x slower in a thread), and a
thread shares the interpreter with every page's rerun. A subprocess trains exactly as the CLI does, and
a crash in it (out of memory) leaves the dashboard up.

With `procs` > 1 (Setup offers "use all N GPUs" when the machine has several, `gpu_count`) the
subprocess is `torchrun --standalone --nproc-per-node N -m lsw run ...` instead. Either way it runs with
`--progress-lines`: it (its rank 0) prints one JSON line per step and per epoch, which become the
`JobSnapshot` the monitor shows. Stop sends SIGTERM to the subprocess's session: the process (every
worker, agreeing at the next step) stops and records "stopped" (`lsw.dist.stop_on_signals`). A failure
is the run's own status message, or the subprocess's last `error:` line.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from lsw.config import RunConfig
from lsw.job import TrainingJob
from lsw.rundir import DONE, FAILED, STOPPED, RunDir

ROOT = Path(__file__).resolve().parents[1]


def gpu_count() -> int:
    """The GPUs of this machine (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _stop_with_parent() -> None:
    """In the child, before it runs: on Linux, kill it when the dashboard's process dies, so a killed server
    leaves no training behind writing a run that a new server offers to resume. SIGKILL, as the server
    got: the run reads "interrupted" (every file of a run folder is written atomically) and resumes from
    its last checkpoint."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ProcessJob(TrainingJob):
    """`TrainingJob`'s interface over a subprocess: `python -m lsw run`, or torchrun with `procs` processes
    (one a GPU; the CPU with gloo in tests). Its OpenMP threads spin less when idle (`lsw.__main__`)."""

    def __init__(self, config: RunConfig, run_dir: str | Path, procs: int = 1, resume: bool = False,
                 run_id: str | None = None) -> None:
        super().__init__(config, run_dir, resume, run_id)
        self.procs = procs
        self._proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(self.procs)]
        cmd = [sys.executable, *(launcher if self.procs > 1 else []),
               "-m", "lsw", "run", "--out", str(self.run_dir), "--progress-lines"]
        return cmd + (["--resume"] if self.resume else ["--config-json", json.dumps(self.config.to_dict())])

    def stop(self) -> None:
        super().stop()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)

    def _work(self) -> None:
        with tempfile.TemporaryFile("w+") as err:
            self._proc = subprocess.Popen(self.command(), cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True,
                                          start_new_session=True, preexec_fn=_stop_with_parent)
            if self.cancel.is_set():  # stopped while starting
                os.killpg(self._proc.pid, signal.SIGTERM)
            for line in self._proc.stdout:
                self._read(line)
            code = self._proc.wait()
            err.seek(0)
            self._finish(code, err.read())

    def _read(self, line: str) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return  # the results table printed at the end
        if "progress" in message:
            self._on_progress(*message["progress"])
        elif "epoch" in message:
            self._update(last_event_epoch=message["epoch"])

    def _finish(self, code: int, stderr: str) -> None:
        status = RunDir(self.run_dir).status()
        if code == 0 and status is not None and status.state == DONE:
            self.summary = RunDir(self.run_dir).summary()
            self._update(status="done", seconds_left=0.0, message=None)
        elif self.cancel.is_set() or (status is not None and status.state == STOPPED):
            self._update(status="stopped", message="stopped by the user; resume continues from the last epoch")
        elif status is not None and status.state == FAILED and status.message:
            self._update(status="failed", message=status.message)
        else:
            errors = [line for line in stderr.splitlines() if line.startswith("error:")]
            last = errors[-1] if errors else (stderr.strip().splitlines() or [f"exit code {code}"])[-1]
            who = f"torchrun with {self.procs} processes" if self.procs > 1 else "the training process"
            self._update(status="failed", message=f"{who} stopped: {last}")
