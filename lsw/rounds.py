"""Rounds: a run whose trusted set is its parent's plus every review made on the parent's samples (the
reviews of its D^n as labels to train on, not as D^c: see `lsw.trusted`).

`next_round` builds the trusted set (`lsw.trusted`) and the config of round k+1 from a finished run
and the review store; `python -m lsw run --from-run DIR` and the Review page's "Start next round" both
call it. The new round audits the same labels its parent saw (`parent_labels`: synthetic noise is
not drawn again), so rounds are comparable and the decisions keyed by those labels still apply.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.images import LabeledImages
from lsw.queue import queue_stats
from lsw.rundir import RunDir
from lsw.samples import given_labels
from lsw.store import ReviewStore
from lsw.trusted import ORIGIN_RANDOM, REVIEWS, TrustedSet, apply_decisions


def parent_labels(parent: str | Path, train: LabeledImages) -> tuple[np.ndarray, np.ndarray | None]:
    """(labels, true_labels) the run in `parent` gave the samples of `train`, by id (int64 (N,); the labels
    its data gave, before any reviewer's; a sample the parent did not hold keeps its source label).
    true_labels is None when the parent had none."""
    run = RunDir(parent)
    if not run.exists():
        raise LswError(f"parent run {parent} does not exist: name a run folder with a config.json")
    s = run.samples()
    index = {str(i): k for k, i in enumerate(s["ids"])}
    rows = np.array([index.get(str(i), -1) for i in train.ids], dtype=np.int64)
    known = rows >= 0
    labels = train.labels.copy()
    labels[known] = s["given_labels"][rows[known]]
    true = None
    if "true_labels" in s:
        true = train.labels.copy() if train.true_labels is None else train.true_labels.copy()
        true[known] = s["true_labels"][rows[known]]
    return labels, true


def next_trusted_set(parent: RunDir, store: ReviewStore) -> TrustedSet:
    """The parent's trusted rows (D^c and validation, with the labels it trained on) and reviewed rows, plus
    the effective decisions on the parent's samples, made on the labels the parent gave them: those on its
    trusted rows stay in D^c, those on the rest go to `reviewed` (`lsw.trusted`)."""
    cfg, s = parent.config(), parent.samples()
    classes = [str(c) for c in s["classes"]]
    ids = [str(i) for i in s["ids"]]
    names = [classes[k] for k in s["labels"]]  # trained on: the reviewers' labels on the trusted rows
    given = [classes[k] for k in s["given_labels"]]  # what the reviewers saw, the decisions' key
    before = parent.trusted_set()
    trusted_rows = np.concatenate([s["clean_index"], s.get("val_index", np.array([], dtype=np.int64))])
    unverified = set(before.unverified) if before else set()
    if cfg.get("clean_set") == ORIGIN_RANDOM:
        unverified |= {ids[r] for r in trusted_rows}
    ts = TrustedSet(cfg["fingerprint"], REVIEWS, {ids[r]: names[r] for r in trusted_rows},
                    list(before.excluded) if before else [], [], sorted(unverified), str(parent.path),
                    int(cfg.get("round", 1)) + 1, dict(before.reviewed) if before else {})
    final = store.final_states(cfg["fingerprint"], dict(zip(ids, given)))
    in_trusted = set(trusted_rows.tolist())
    ts = apply_decisions(ts, final, [ids[r] for r in trusted_rows])
    return apply_decisions(ts, final, [i for r, i in enumerate(ids) if r not in in_trusted], audited=True)


def next_round(parent: RunDir, store: ReviewStore, trusted_path: str | Path) -> RunConfig:
    """The config of the round after `parent` (its config, with the new trusted set written to
    `trusted_path`, the parent named and the round counted). LswError when the parent has no epoch."""
    if not parent.exists() or not parent.epochs():
        raise LswError(f"{parent.path} holds no finished run to start the next round from")
    ts = next_trusted_set(parent, store)
    ts.write(trusted_path)
    cfg = RunConfig.from_dict(parent.config())
    cfg.trusted, cfg.parent_run, cfg.round = str(Path(trusted_path).resolve()), str(parent.path.resolve()), ts.round
    return cfg


@dataclass(frozen=True)
class RoundRow:
    """One round of a lineage: flagged by the run's own threshold, reviewed among them, the expected
    wrong labels left in its queue (`lsw.queue`; None before any review) and the trusted-set size."""

    round: int
    run_id: str
    flagged: int
    reviewed: int
    expected_left: float | None
    trusted: int
    auc: float | None


def lineage(run: RunDir) -> list[RunDir]:
    """`run` and its ancestors, first round first (stops at a parent folder that is gone)."""
    out, seen = [run], {run.path.resolve()}
    while (parent := out[-1].parent()) is not None and parent.exists() and parent.path.resolve() not in seen:
        seen.add(parent.path.resolve())
        out.append(parent)
    return out[::-1]


def read_table(run: RunDir) -> tuple[pd.DataFrame, Mapping[str, str]]:
    """(`run`'s sample table at its last epoch, sample id -> the label it gives), read from disk."""
    table = run.sample_table()
    return table, given_labels(table)


def round_rows(run: RunDir, store: ReviewStore,
               tables: Callable[[RunDir], tuple[pd.DataFrame, Mapping[str, str]]] = read_table) -> list[RoundRow]:
    """A row per round of `run`'s lineage that has a finished epoch; `tables` gives a round's sample table
    and given labels (the dashboard passes its cached ones: at 1M samples a read takes seconds)."""
    rows = []
    for r in lineage(run):
        if not r.epochs():
            continue
        (table, given), cfg = tables(r), r.config()
        stats = queue_stats(table.loc[table.flagged, "id"], store.final_states(cfg["fingerprint"], given), r.run_id)
        s = r.samples(ids=False)
        summary = r.summary() or {}
        rows.append(RoundRow(int(cfg.get("round", 1)), r.run_id, stats.flagged, stats.reviewed, stats.expected_left,
                             len(s["clean_index"]) + len(s.get("val_index", [])), summary.get("auc")))
    return rows
