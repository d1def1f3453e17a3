"""Data-parallel LSW on the CPU (gloo, 2 processes): the same step, the same results, the same run folder,
resume after a kill, and a dead process stopping the other (`lsw.dist`)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from lsw.audit import run_audit
from lsw.config import RunConfig
from lsw.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]
# the paper's alpha step: every weight moves, so alpha shows the processes' merge of it
ARGS = ["--data", "digits", "--noise", "symmetric:0.3", "--clean-per-class", "10", "--device", "cpu", "--seed", "0",
        "--alpha-step", "sum", "--eta-alpha", "1"]


def torchrun(*args: str, procs: int = 2) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs),
            "-m", "lsw", "run", *args]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- one step, two processes -------------------------------------------------------------------
class NoBatchNorm(torch.nn.Module):
    """A small classifier without BatchNorm (whose per-process statistics are the one intended difference)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2))
        self.head = torch.nn.Linear(16, 3)

    def features(self, x):
        return torch.flatten(self.body(x), 1)

    def forward(self, x):
        return self.head(self.features(x))


def one_step(meta: str, rows: slice, clean_rows: slice):
    """One LSW step on rows `rows` of a fixed batch (alpha not uniform); returns the parameters after it
    and dLc/dalpha of those rows."""
    from lsw.methods import LSW_STEPS
    from lsw.reweight import plain_step

    torch.manual_seed(0)
    model = NoBatchNorm().double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    x, y = torch.randn(12, 1, 6, 6, dtype=torch.float64), torch.randint(0, 3, (12,))
    xc, yc = torch.randn(8, 1, 6, 6, dtype=torch.float64), torch.randint(0, 3, (8,))
    alpha = torch.linspace(0.2, 0.9, 12, dtype=torch.float64)
    if meta == "plain":  # small-loss's step
        loss = plain_step(model, opt, x[rows], y[rows])
        return [p.detach().clone() for p in model.parameters()], torch.zeros(0), loss
    res = LSW_STEPS[meta](model, opt, x[rows], y[rows], alpha[rows], (xc[clean_rows], yc[clean_rows]), eta=0.1)
    return [p.detach().clone() for p in model.parameters()], res.grad_alpha, res.loss


def _step_worker(rank: int, port: int, meta: str, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from lsw import dist

    dist.start()
    mine = slice(0, 6) if rank == 0 else slice(6, 12)
    params, grad_alpha, loss = one_step(meta, mine, slice(0, 4) if rank == 0 else slice(4, 8))
    torch.save({"params": params, "grad_alpha": grad_alpha, "loss": dist.all_sum(loss)}, f"{out}/{rank}.pt")
    dist.finish()


@pytest.mark.parametrize("meta", ["head", "full", "plain"])
def test_a_step_shared_by_two_processes_is_the_single_process_step(tmp_path, meta):
    """Each process takes half the noisy and half the clean batch: the model after the step, every row's
    dLc/dalpha and the loss are the single-process step's (float64, a model without BatchNorm); "plain" is
    small-loss's step."""
    mp.spawn(_step_worker, args=(free_port(), meta, str(tmp_path)), nprocs=2)
    params, grad_alpha, loss = one_step(meta, slice(None), slice(None))
    parts = [torch.load(tmp_path / f"{r}.pt") for r in (0, 1)]
    for part in parts:
        for p, q in zip(part["params"], params):
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(part["loss"], loss, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(torch.cat([p["grad_alpha"] for p in parts]), grad_alpha, rtol=1e-9, atol=1e-14)


# -- whole audits ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The issue's audit (digits, 30% symmetric noise, 10 clean per class, 10 epochs, seed 0) in one
    process and in two (torchrun, gloo), the latter streaming its batches from the decode cache."""
    root = tmp_path_factory.mktemp("dist")
    single = run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", epochs=10,
                                 seed=0, alpha_step="sum", eta_alpha=1.0), root / "one")
    r = subprocess.run(torchrun(*ARGS, "--epochs", "10", "--data-path", "stream", "--out", str(root / "two")),
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return root, single, json.loads((root / "two" / "summary.json").read_text())


def files_and_shapes(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        if p.suffix == ".npy":
            out[key] = np.load(p).shape
        elif p.suffix == ".npz":
            with np.load(p) as z:
                out[key] = {k: z[k].shape for k in z.files}
        elif p.is_file():
            out[key] = None
    return out


def test_two_processes_detect_as_well_as_one(runs):
    root, one, two = runs
    assert abs(two["auc"] - one["auc"]) <= 0.01, (one["auc"], two["auc"])
    alpha = np.load(root / "two" / "alpha.npy")
    assert np.all(np.abs(alpha[-1] - 0.5) > 1e-6)  # every sample's weight moved away from its start
    assert one["world_size"] == 1 and two["world_size"] == 2
    assert RunDir(root / "one").config()["world_size"] == 1 and RunDir(root / "two").config()["world_size"] == 2
    assert RunDir(root / "two").status().state == "done"


def test_two_processes_write_the_single_process_folder(runs):
    root, _, _ = runs
    assert files_and_shapes(root / "two") == files_and_shapes(root / "one")


def wait_for_epochs(run: RunDir, n: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while len(run.epochs()) < n:
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.poll() is not None else ""
        time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    """The processes under `pid`, read from /proc (torchrun's workers do not stay in its process group)."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    out, todo = [], [pid]
    while todo:
        up = todo.pop()
        children = [c for c, p in parent.items() if p == up]
        out += children
        todo += children
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every process under it, as a crash of the machine would: the workers too."""
    for p in [pid, *descendants(pid)]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_killed_two_process_run_resumes_to_the_uninterrupted_result(runs, tmp_path):
    """Killed after epoch 3, resumed with the same two processes: the alphas of the uninterrupted run
    (which streamed its batches; this one keeps them resident, the same rows in the same order)."""
    root, _, _ = runs
    run = RunDir(tmp_path / "run")
    p = subprocess.Popen(torchrun(*ARGS, "--epochs", "10", "--out", str(run.path)), cwd=ROOT, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    wait_for_epochs(run, 3, p)
    kill_tree(p.pid)
    p.wait(30)
    assert 3 <= len(run.epochs()) < 10 and run.summary() is None
    r = subprocess.run(torchrun("--out", str(run.path), "--resume"), cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert run.epochs() == list(range(1, 12)) and run.status().state == "done"  # 10 epochs, then the second pass
    np.testing.assert_allclose(np.load(run.path / "alpha.npy"), np.load(root / "two" / "alpha.npy"), atol=1e-5)


def test_resume_with_another_number_of_processes_is_refused(runs, tmp_path):
    root, _, _ = runs
    r = subprocess.run([sys.executable, "-m", "lsw", "run", "--out", str(root / "two"), "--resume"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "trained by 2 process(es), not 1" in r.stderr, r.stderr


def worker_pids(parent: int) -> dict[int, int]:
    """rank -> pid of the processes torchrun `parent` started (read from /proc)."""
    ranks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            env = dict(kv.split("=", 1) for kv in (stat.parent / "environ").read_text().split("\0") if "=" in kv)
        except (OSError, ValueError):
            continue
        if "RANK" in env:
            ranks[int(env["RANK"])] = int(stat.parent.name)
    return ranks


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the workers through /proc")
def test_a_dead_process_stops_the_other_with_one_line(tmp_path):
    run = RunDir(tmp_path / "run")
    p = subprocess.Popen(torchrun(*ARGS, "--epochs", "6", "--out", str(run.path)), cwd=ROOT, text=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_epochs(run, 1, p)
    os.kill(worker_pids(p.pid)[1], signal.SIGKILL)
    _, err = p.communicate(timeout=120)  # no hang: gone well within the collectives' timeout
    assert p.returncode != 0
    lines = [line for line in err.splitlines() if line.startswith("error: process 0 of 2")]
    assert len(lines) == 1 and "another process of this run stopped" in lines[0], err[-3000:]
    assert run.status().state == "failed" and "another process" in run.status().message


# -- the dashboard's job -----------------------------------------------------------------------
SMALL = dict(data="digits", noise="symmetric:0.3", clean_per_class=10, device="cpu", max_samples=400)


def wait_job(job, until=lambda snap: not snap.active, timeout=300):
    deadline, seen = time.time() + timeout, []
    while not until(job.snapshot()) and time.time() < deadline:
        seen.append(job.snapshot())
        time.sleep(0.05)
    return job.snapshot(), seen


def test_the_dashboard_job_trains_through_torchrun_with_the_live_view(tmp_path):
    from lsw.job import JobRegistry
    from lsw.processjob import ProcessJob

    job = JobRegistry(tmp_path).start(RunConfig(**SMALL, epochs=2), procs=2)
    assert isinstance(job, ProcessJob)
    snap, seen = wait_job(job)
    assert snap.status == "done" and snap.last_event_epoch == 3, snap  # 2 epochs, then the second pass
    assert any(s.phase == "lsw" and s.steps > 0 and 0 < s.step for s in seen)  # progress came through
    assert job.summary["world_size"] == 2 and RunDir(snap.run_dir).epochs() == [1, 2, 3]
    assert job.summary["second_pass"]["kept"] == round(0.9 * job.summary["n_noisy"])  # rank 0, after the group left


def test_stopping_the_dashboard_job_stops_every_process(tmp_path):
    from lsw.job import JobRegistry

    reg = JobRegistry(tmp_path)
    job = reg.start(RunConfig(**SMALL, epochs=30), procs=2)
    wait_job(job, until=lambda snap: snap.last_event_epoch >= 1 or not snap.active)
    job.stop()
    snap, _ = wait_job(job, timeout=60)
    run = RunDir(snap.run_dir)
    assert snap.status == "stopped" and run.status().state == "stopped", (snap, run.status())
    assert 1 <= len(run.epochs()) < 30
