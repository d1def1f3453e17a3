"""The trusted set a run learns from, when the source marks no trusted rows: verified by a reviewer
before the first run, or grown from reviews between rounds.

A `TrustedSet` is a small JSON file (its path is `RunConfig.trusted`; each run keeps a copy, see
`lsw.rundir`). It names samples by id, never by row, so it survives a subset or an exclusion:

    labels      id -> class name: the trusted samples and the label a reviewer confirmed or gave them
                (these rows become D^c, plus its validation part, with these labels): a representative
                sample (verified before the first run, or the source's trusted rows)
    reviewed    id -> class name: samples a reviewer decided from a round's queue or galleries, and the
                label they confirmed or gave; the next round trains on that label, and they stay in D^n
                (their decisions apply, so the queue counts them reviewed). They are not added to D^c: the
                queue is the least typical part of a collection (the samples a model doubts), and as the
                meta-gradient's target it steered round 2 away from the rest (CIFAR-10N, GPU: AUC 0.936 in
                round 1, 0.797 in round 2 with the 300 reviews in D^c; see the README)
    excluded    ids dropped from the run altogether (a reviewer's "exclude")
    ambiguous   ids kept out of D^c (they stay in the audited set D^n)
    unverified  ids among `labels` whose label no reviewer checked (carried over from a round whose
                clean set was drawn at random from the source's labels); the pages and the CLI warn

Decisions map onto it: "correct" keeps the label the reviewer saw, "relabel" takes the new label (in
`labels` for a sample of the verify sample or of D^c, in `reviewed` for one of D^n), "exclude" drops the
sample, "ambiguous" keeps it out of D^c.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lsw.atomic import write_json
from lsw.errors import LswError
from lsw.store import Decision

VERIFIED, REVIEWS = "verified", "reviews"
# how D^c of a run was obtained (RunConfig-independent; recorded in the run's config and summary)
ORIGIN_ROWS, ORIGIN_RANDOM, ORIGIN_EVAL = "trusted rows", "unverified", "evaluation"


@dataclass
class TrustedSet:
    """See the module docstring. dataset: the source fingerprint the ids and decisions belong to;
    origin: "verified" (checked before the first run) or "reviews" (grown from a round's reviews);
    parent_run: the run whose reviews made it (None for a verified set); round: of the run it is for."""

    dataset: str
    origin: str
    labels: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    parent_run: str | None = None
    round: int = 1
    reviewed: dict[str, str] = field(default_factory=dict)

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        write_json(path, asdict(self))
        return path

    @classmethod
    def read(cls, path: str | Path) -> TrustedSet:
        """LswError naming the file when it is missing or not a trusted set."""
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise LswError(f"trusted set {path} does not exist: verify a sample again or start from a run") from None
        except (OSError, json.JSONDecodeError) as e:
            raise LswError(f"trusted set {path} cannot be read ({e}): verify a sample again") from None
        if not isinstance(d, dict) or not isinstance(d.get("labels"), dict) or "dataset" not in d:
            raise LswError(f"{path} is not a trusted set (needs 'dataset' and 'labels')")
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


def verify_sample(labels: np.ndarray, num_classes: int, per_class: int = 10, seed: int = 0) -> np.ndarray:
    """Sorted int64 rows to verify: `per_class` rows of each class drawn at random with `seed`, stratified
    by the given `labels` (int (N,)); a class with fewer rows than `per_class` + 1 gives all but one (the
    audited set keeps some of every class). Classes with no row are skipped."""
    if per_class < 1:
        raise LswError(f"samples to verify per class must be at least 1, got {per_class}")
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts = []
    for c in range(num_classes):
        rows = np.flatnonzero(labels == c)
        take = min(per_class, len(rows) - 1)
        if take > 0:
            parts.append(rng.choice(rows, take, replace=False))
    return np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.array([], dtype=np.int64)


def apply_decisions(ts: TrustedSet, final: Mapping[str, Decision], ids: Iterable[str] | None = None,
                    audited: bool = False) -> TrustedSet:
    """`ts` with the effective decisions `final` (sample id -> Decision, see `ReviewStore.final_states`)
    of the samples `ids` (default: all of `final`) applied: correct -> trusted with the label the
    reviewer saw, relabel -> trusted with the new label, exclude -> dropped, ambiguous -> out of D^c.
    `audited`: the samples were decided from a run's D^n, so a kept or new label goes to `reviewed`
    (trained on, not D^c) instead of `labels`. A decision replaces whatever `ts` said of its sample
    (and makes it verified)."""
    labels, excluded, ambiguous = dict(ts.labels), set(ts.excluded), set(ts.ambiguous)
    reviewed, unverified = dict(ts.reviewed), set(ts.unverified)
    keep = reviewed if audited else labels
    for sid in (final if ids is None else ids):
        d = final.get(str(sid))
        if d is None:
            continue
        sid = str(sid)
        labels.pop(sid, None)
        reviewed.pop(sid, None)
        excluded.discard(sid)
        ambiguous.discard(sid)
        unverified.discard(sid)
        if d.action == "correct":
            keep[sid] = d.old_label or d.given_label or ""
            if not keep[sid]:
                raise LswError(f"the decision 'correct' on {sid} does not say which label it kept")
        elif d.action == "relabel":
            keep[sid] = str(d.new_label)
        elif d.action == "exclude":
            excluded.add(sid)
        elif d.action == "ambiguous":
            ambiguous.add(sid)
    return TrustedSet(ts.dataset, ts.origin, labels, sorted(excluded), sorted(ambiguous), sorted(unverified),
                      ts.parent_run, ts.round, reviewed)


@dataclass
class Applied:
    """A trusted set placed on a train set, over its rows: excluded (bool: rows a reviewer excluded, which
    the run leaves out of both D^n and D^c; they stay in the train set so row numbers keep meaning the
    source's rows), trusted (bool), reviewed (bool: D^n rows a reviewer labeled) and labels (int64, the
    reviewer's label where trusted or reviewed, else -1); unknown: ids of the set that are not in this
    train set (e.g. outside a --max-samples subset)."""

    excluded: np.ndarray
    trusted: np.ndarray
    reviewed: np.ndarray
    labels: np.ndarray
    unknown: list[str]


def place(ts: TrustedSet, ids: list[str], classes: list[str]) -> Applied:
    """Where the trusted set `ts` falls on a train set with sample `ids` and class names `classes`.
    LswError when a trusted label is not one of the classes."""
    index = {str(s): i for i, s in enumerate(ids)}
    class_of = {c: k for k, c in enumerate(classes)}
    excluded = np.zeros(len(ids), dtype=bool)
    excluded[[index[s] for s in ts.excluded if s in index]] = True
    trusted = np.zeros(len(ids), dtype=bool)
    reviewed = np.zeros(len(ids), dtype=bool)
    labels = np.full(len(ids), -1, dtype=np.int64)
    unknown = []
    ambiguous = set(ts.ambiguous)
    for part, mask in ((ts.labels, trusted), (ts.reviewed, reviewed)):
        for sid, name in part.items():
            if sid in ambiguous:
                continue
            if sid not in index or excluded[index[sid]]:
                unknown.append(sid)
                continue
            if name not in class_of:
                raise LswError(f"trusted sample {sid} has label {name!r}, which is not a class of this data set "
                               f"({', '.join(classes[:10])}{'…' if len(classes) > 10 else ''})")
            mask[index[sid]], labels[index[sid]] = True, class_of[name]
    return Applied(excluded, trusted, reviewed, labels, unknown)
