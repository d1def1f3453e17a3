"""One whole audit, the path shared by the CLI and the dashboard's job: prepare the data, train
with LSW, score again with a second network (`lsw.second_pass`), optionally retrain the final classifier,
and write the summary and the stacked arrays.

The run's status (`RunDir.write_status`) is kept here, so a CLI run and a dashboard run read the
same after a restart: running while it works, then done, stopped (cancelled) or failed with the
reason; an unexpected error also leaves its traceback in the run's error log.

Started by torchrun (`lsw.dist`), every process calls `run_audit`: they prepare the data and train
together, and rank 0 alone writes the run folder, its status, the summary and any retraining (after the
other processes have left); the folder is the one a single process writes, its config and summary
recording `world_size`.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lsw import dist, evidence
from lsw.config import RunConfig
from lsw.errors import AuditFailed, LswError
from lsw.events import EpochEvent
from lsw.fold_reading import first_fold_count, reads_first
from lsw.metrics import detection_metrics
from lsw.prepare import Problem, prepare
from lsw.recorder import RunRecorder
from lsw.retrain import retrain
from lsw.rundir import DONE, FAILED, RUNNING, STOPPED, RunDir
from lsw.scoring import flag_score, run_score
from lsw.second_pass import PHASE, applies, epochs_of, second_pass
from lsw.train import Cancelled, Trainer

Progress = Callable[[str, int, int, int, int], None]  # phase, epoch, epochs, step, steps


def run_audit(config: RunConfig, out: str | Path, *, resume: bool = False,
              on_event: Callable[[EpochEvent], None] | None = None,
              on_progress: Progress | None = None, cancel: threading.Event | None = None,
              problem: Problem | None = None, progress_bars: bool = False) -> dict:
    """Run (or resume) the audit described by `config` into folder `out`; returns the summary.

    on_progress(phase, epoch, epochs, step, steps) is called every step, phase "lsw", "second pass" or
    "retrain".
    A set `cancel` stops within one batch by raising `lsw.train.Cancelled` (status "stopped"). A
    user error raises LswError (status "failed" with its message); any other error is logged to the
    run's error log and raised as AuditFailed (status "failed").
    """
    run = RunDir(out)
    dist.start()
    if not dist.is_main():
        return _audit(config, run, resume, None, None, cancel, problem, False)
    run.write_status(RUNNING)
    try:
        summary = _audit(config, run, resume, on_event, on_progress, cancel, problem, progress_bars)
    except Cancelled:
        run.write_status(STOPPED, "stopped by the user; resume continues from the last epoch")
        raise
    except LswError as e:
        run.write_status(FAILED, str(e))
        raise
    except Exception as e:
        log = run.write_error_log(traceback.format_exc())
        message = f"{type(e).__name__}: {e}" + (f" (details in {log})" if log else "")
        run.write_status(FAILED, message)
        raise AuditFailed(message) from e
    run.write_status(DONE)
    return summary


def _audit(config: RunConfig, run: RunDir, resume: bool, on_event: Callable[[EpochEvent], None] | None,
           on_progress: Progress | None, cancel: threading.Event | None, problem: Problem | None,
           progress_bars: bool) -> dict:
    started = time.perf_counter()
    main = dist.is_main()
    if resume:
        config = RunConfig.from_dict(dist.from_main(lambda: saved_config(run)))
    if problem is None:
        problem = dist.each_machine_first(lambda: prepare(config, progress=progress_bars))

    def lsw_progress(epoch: int, step: int, steps: int) -> None:
        if on_progress is not None:
            on_progress("lsw", epoch, config.epochs, step, steps)

    recorder = RunRecorder(run, config, problem)
    observers = [recorder] + ([] if on_event is None else [on_event]) if main else []
    trainer = Trainer(config, problem, run.checkpoint, observers=observers, on_progress=lsw_progress, cancel=cancel,
                      started=started)
    if resume:
        trainer.load_checkpoint()
        if main:
            recorder.resume_from(trainer.epoch)
    elif main:
        recorder.start(str(trainer.device), dist.world_size())
    trainer.run()
    dist.finish()  # the other processes are done; rank 0 goes on alone
    if not main:
        return {}
    model, trust, extra = trainer.model, trainer.last_trust, {"second_pass": None}
    if applies(config):
        model, trust, extra["second_pass"] = _second_pass(config, problem, trainer, observers, on_progress,
                                                          cancel, run)
    run.write_evidence(**evidence.compute(model, trainer.data, problem.split.noisy, problem.split.clean,
                                          config.seed))  # every process holds the whole set (`lsw.dist`)
    weight = trainer.method_score()
    score = flag_score(run_score(config.to_dict()), weight, trust)
    summary = summarize(config, problem, run, score, str(trainer.device))
    summary["lsw_seconds"] = round(trainer.elapsed, 3)
    summary.update(extra)
    if config.retrain_epochs > 0:
        def retrain_progress(epoch: int, step: int, steps: int) -> None:
            if on_progress is not None:
                on_progress("retrain", epoch, config.retrain_epochs, step, steps)

        setting = "filtered" if config.retrain == "none" else config.retrain
        result = retrain(config, problem, weight, setting, on_progress=retrain_progress, cancel=cancel,
                         keep_by=score)
        summary.update(retrain_test_acc=result.test_acc, retrain_setting=setting, retrain_n_train=result.n_train,
                       retrain_seconds=round(result.seconds, 3))
    run.write_stacks()
    summary["seconds"] = round(trainer.wall_seconds(), 3)  # every process that worked on the run
    run.write_summary(summary)
    return summary


def _second_pass(config: RunConfig, problem: Problem, trainer: Trainer, observers: list,
                 on_progress: Progress | None, cancel: threading.Event | None, run: RunDir):
    """The second network (`lsw.second_pass`) after the LSW epochs, recorded as one more epoch, numbered
    epochs + 1 with phase "second pass", whose trust is the run's final one. Returns (its model, the final
    trust, the summary's "second_pass" entry); the readings behind that trust go to `run.write_readings`."""
    def progress(epoch: int, step: int, steps: int) -> None:
        if on_progress is not None:
            on_progress(PHASE, epoch, epochs_of(config), step, steps)

    sp = second_pass(config, problem, trainer.data, trainer.last_trust, progress, cancel, first=trainer.model)
    run.write_readings(**{name: value for name, value in [("first", trainer.last_trust), ("second", sp.own),
                                                           ("second_folds", sp.folds), ("first_folds", sp.first_folds)]
                          if value is not None})
    event = trainer.evaluator(sp.model, trainer.method.scores, config.epochs + 1, trainer.elapsed + sp.seconds,
                              0.0, 0.0, trust=sp.trust)
    event.phase = PHASE
    for observe in observers:
        observe(event)
    return sp.model, sp.trust, {"kept": sp.n_kept, "of": int(len(problem.split.noisy)),
                                "teacher_weight": config.teacher_weight, "folds": config.fold_reading,
                                "fold_first": reads_first(config),
                                "first_folds": first_fold_count(config) if reads_first(config) else 0,
                                "fold_keep": config.fold_keep,
                                "seconds": round(sp.seconds, 3)}


def saved_config(run: RunDir) -> dict:
    """The config of the run to resume; LswError when this many processes did not train it."""
    saved = run.config()
    if saved.get("world_size", 1) != dist.world_size():
        raise LswError(f"{run.path} was trained by {saved.get('world_size', 1)} process(es), not "
                       f"{dist.world_size()}: resume it with the same number (torchrun --nproc-per-node ... "
                       "--nnodes ...; without torchrun for 1)")
    return saved


def summarize(config: RunConfig, problem: Problem, run: RunDir, score: np.ndarray, device: str) -> dict:
    """The run summary's keys the issue asks for; detection figures (by the flag `score`) are None
    without true labels."""
    last = run.metrics()[-1]
    det = {"auc": None, "f1": None, "fdr": None, "recall": None}
    if problem.is_noisy is not None:
        d = detection_metrics(problem.is_noisy, score, config.threshold)
        det = {k: d[k] for k in det}
    return {
        **det,
        "health": last.get("health"),
        "val_acc": last.get("val_acc"),
        "val_loss": last.get("val_loss"),
        "test_acc": last.get("test_acc"),
        "retrain_test_acc": None,
        "noise_rate": problem.noise_rate,
        "n_noisy": int(len(problem.split.noisy)),
        "n_clean": int(len(problem.split.clean)),
        "n_val": int(len(problem.split.val)),
        "clean_set": problem.clean_origin,
        "unverified": problem.unverified,
        "round": config.round,
        "parent_run": config.parent_run,
        "n_flagged": int((score < config.threshold).sum()),
        "score": config.score,
        "threshold": config.threshold,
        "epochs": config.epochs,
        "device": device,
        "world_size": dist.world_size(),
        "data": config.data,
        "noise": config.noise,
        "model": config.model,
        "skipped": [list(item) for item in problem.source.train.skipped],
    }
