"""The review queue's precision, measured from the reviews themselves: of the flagged samples reviewed
so far, the share a reviewer relabelled or excluded (a wrong label found), with a Wilson 95% interval,
and from it the number of wrong labels expected among the flagged samples nobody has reviewed yet.

It assumes the reviewed samples are representative of the rest of the queue; reviewing in queue order
(least trusted first) makes the estimate an upper bound for the unreviewed tail. In a later round the queue
also holds samples decided in an earlier one; they count as reviewed, but the precision is measured from
the decisions made on this round's run only: the earlier ones still flagged after training on the
reviewers' labels are mostly those kept as correct, and would pull it towards 0 (a digits round 2 read 0%
from 7 carried decisions, with 0 wrong labels left).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from lsw.store import Decision

WRONG = ("relabel", "exclude")  # a reviewer found the given label wrong


@dataclass(frozen=True)
class QueueStats:
    """flagged: samples in the queue; reviewed: of those, with an effective decision; measured: of those,
    the decisions the precision is measured from (see the module docstring); wrong: of those, relabelled
    or excluded; precision = wrong / measured with its 95% interval (low, high), None before the first;
    unreviewed = flagged - reviewed; expected_left = unreviewed * precision (and its interval), the wrong
    labels still expected in the queue."""

    flagged: int
    reviewed: int
    measured: int
    wrong: int
    precision: float | None
    low: float | None
    high: float | None
    unreviewed: int
    expected_left: float | None
    left_low: float | None
    left_high: float | None


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float, float]:
    """(k/n, low, high): the Wilson score interval of a proportion, 95% for z = 1.96. n must be > 0."""
    if n <= 0:
        raise ValueError("wilson needs at least one trial")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def queue_stats(flagged_ids: pd.Series | list, final: Mapping[str, Decision], run_id: str | None = None) -> QueueStats:
    """The stats of a queue of sample ids `flagged_ids` given the effective decisions `final`
    (sample id -> Decision, `ReviewStore.final_states`); `run_id`: the run whose queue it is, the precision
    is then measured from the decisions made on it (None: from all)."""
    ids = pd.Series(flagged_ids)
    if pd.api.types.infer_dtype(ids, skipna=True) != "string":
        ids = ids.astype(str)
    # Look the few decisions up among the ids, not every id among the decisions: at 1M flagged samples a
    # loop over the ids took about 0.3 s on every rerun of the Review page.
    decided = [final[s] for s in ids[ids.isin(list(final))]]
    measured = decided if run_id is None else [d for d in decided if d.run_id == run_id]
    n, k = len(measured), sum(d.action in WRONG for d in measured)
    left = len(ids) - len(decided)
    if n == 0:
        return QueueStats(len(ids), len(decided), 0, 0, None, None, None, left, None, None, None)
    p, lo, hi = wilson(k, n)
    return QueueStats(len(ids), len(decided), n, k, p, lo, hi, left, left * p, left * lo, left * hi)
