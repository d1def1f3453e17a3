"""The review database: an append-only log of reviewers' decisions, and the runs, in SQLite.

WAL mode, one transaction per decision (`BEGIN IMMEDIATE` ... `COMMIT`), a connection per thread and
retries on a busy database: a decision acknowledged by `record` survives a SIGKILL right after, and
several threads or processes may write at once without losing any. Rows are never updated or
deleted; an "undo" is a new row naming the decision it cancels.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lsw.errors import LswError

ACTIONS = ("relabel", "correct", "exclude", "ambiguous", "undo")

SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL, sample_id TEXT NOT NULL, reviewer TEXT NOT NULL, ts TEXT NOT NULL,
    action TEXT NOT NULL, old_label TEXT, new_label TEXT, alpha REAL, loss REAL, run_id TEXT, undoes INTEGER
);
CREATE INDEX IF NOT EXISTS decisions_sample ON decisions (dataset, sample_id, id);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, dataset TEXT, config TEXT, run_dir TEXT, created TEXT, status TEXT, message TEXT
);
"""


@dataclass(frozen=True)
class Decision:
    """One row of the log. ts: UTC ISO-8601 ending in Z. undoes: for action "undo", the id cancelled."""

    id: int
    dataset: str
    sample_id: str
    reviewer: str
    ts: str
    action: str
    old_label: str | None
    new_label: str | None
    alpha: float | None
    loss: float | None
    run_id: str | None
    undoes: int | None


@dataclass(frozen=True)
class RecordResult:
    """The decision written, and `conflict`: someone else's decision on the same sample made after
    the one the caller had seen (`expected_last_id`), or None."""

    decision: Decision
    conflict: Decision | None


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ReviewStore:
    """The decisions of every reviewer on every data set (keyed by the source fingerprint)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)  # CREATE ... IF NOT EXISTS: safe from several processes

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    class _Tx:
        def __init__(self, store: "ReviewStore") -> None:
            self.c = store._conn()

        def __enter__(self) -> sqlite3.Connection:
            for attempt in range(50):
                try:
                    self.c.execute("BEGIN IMMEDIATE")
                    return self.c
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) and "busy" not in str(e):
                        raise
                    time.sleep(0.02 * (attempt + 1))
            raise LswError("the review database stayed locked for too long: try again")

        def __exit__(self, exc_type, exc, tb) -> None:
            self.c.execute("COMMIT" if exc_type is None else "ROLLBACK")

    def _tx(self) -> "ReviewStore._Tx":
        return ReviewStore._Tx(self)

    # -- decisions -----------------------------------------------------------------------------
    def record(self, dataset: str, sample_id: str, reviewer: str, action: str, *, old_label: str | None = None,
               new_label: str | None = None, alpha: float | None = None, loss: float | None = None,
               run_id: str | None = None, expected_last_id: int | None = None, undoes: int | None = None
               ) -> RecordResult:
        """Append one decision in its own transaction and return it (with any conflict).

        expected_last_id: the id of the sample's latest log row as the caller saw it (0 = it saw
        none); None skips the conflict check.
        """
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise LswError("a reviewer name is required for every decision")
        if len(reviewer) > 100:
            raise LswError(f"reviewer name is {len(reviewer)} characters long: keep it under 100")
        if action not in ACTIONS:
            raise LswError(f"unknown review action '{action}': use one of {', '.join(ACTIONS[:-1])}")
        if action == "relabel" and not new_label:
            raise LswError(f"relabel of {sample_id} needs the new label")
        with self._tx() as c:
            last = c.execute("SELECT * FROM decisions WHERE dataset=? AND sample_id=? ORDER BY id DESC LIMIT 1",
                             (dataset, sample_id)).fetchone()
            cur = c.execute(
                "INSERT INTO decisions (dataset, sample_id, reviewer, ts, action, old_label, new_label, alpha, loss,"
                " run_id, undoes) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (dataset, sample_id, reviewer, utc_now(), action, old_label, new_label,
                 None if alpha is None else float(alpha), None if loss is None else float(loss), run_id, undoes))
            row = c.execute("SELECT * FROM decisions WHERE id=?", (cur.lastrowid,)).fetchone()
        conflict = None
        if last is not None and expected_last_id is not None and last["id"] > expected_last_id \
                and last["reviewer"] != reviewer:
            conflict = _decision(last)
        return RecordResult(_decision(row), conflict)

    def record_many(self, dataset: str, items: list[dict], reviewer: str, action: str, **common: object
                    ) -> list[RecordResult]:
        """One action on several samples; each item holds sample_id and per-sample fields
        (old_label, new_label, alpha, loss, expected_last_id). One transaction per decision."""
        return [self.record(dataset, it["sample_id"], reviewer, action,
                            **{**common, **{k: v for k, v in it.items() if k != "sample_id"}}) for it in items]

    def undo_last(self, dataset: str, reviewer: str) -> Decision | None:
        """Cancel `reviewer`'s latest decision not already undone, by appending an undo row."""
        effective = self._effective(self.decisions(dataset))
        mine = [d for d in effective if d.reviewer == reviewer.strip()]
        if not mine:
            return None
        target = max(mine, key=lambda d: d.id)
        return self.record(dataset, target.sample_id, reviewer, "undo", old_label=target.new_label,
                           new_label=target.old_label, run_id=target.run_id, undoes=target.id).decision

    def decisions(self, dataset: str, sample_id: str | None = None) -> list[Decision]:
        """The log, oldest first (all samples, or one)."""
        c = self._conn()
        if sample_id is None:
            rows = c.execute("SELECT * FROM decisions WHERE dataset=? ORDER BY id", (dataset,)).fetchall()
        else:
            rows = c.execute("SELECT * FROM decisions WHERE dataset=? AND sample_id=? ORDER BY id",
                             (dataset, sample_id)).fetchall()
        return [_decision(r) for r in rows]

    @staticmethod
    def _effective(log: list[Decision]) -> list[Decision]:
        undone = {d.undoes for d in log if d.action == "undo"}
        return [d for d in log if d.action != "undo" and d.id not in undone]

    def final_states(self, dataset: str) -> dict[str, Decision]:
        """Per sample id: the latest decision that is not undone (an undo brings back the one before)."""
        out: dict[str, Decision] = {}
        for d in self._effective(self.decisions(dataset)):
            out[d.sample_id] = d
        return out

    def latest_ids(self, dataset: str) -> dict[str, int]:
        """Per sample id: the id of its latest log row of any kind (for `expected_last_id`)."""
        rows = self._conn().execute("SELECT sample_id, MAX(id) AS id FROM decisions WHERE dataset=? GROUP BY sample_id",
                                    (dataset,)).fetchall()
        return {r["sample_id"]: r["id"] for r in rows}

    # -- runs ----------------------------------------------------------------------------------
    def register_run(self, run_id: str, dataset: str, config_json: str, run_dir: str) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO runs (run_id, dataset, config, run_dir, created, status) "
                      "VALUES (?,?,?,?,?,?)", (run_id, dataset, config_json, run_dir, utc_now(), "created"))

    def set_run_status(self, run_id: str, status: str, message: str | None = None) -> None:
        with self._tx() as c:
            c.execute("UPDATE runs SET status=?, message=? WHERE run_id=?", (status, message, run_id))

    def runs(self, dataset: str | None = None) -> list[dict]:
        q = "SELECT * FROM runs" + (" WHERE dataset=?" if dataset else "") + " ORDER BY created DESC"
        return [dict(r) for r in self._conn().execute(q, (dataset,) if dataset else ()).fetchall()]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _decision(r: sqlite3.Row) -> Decision:
    return Decision(**{k: r[k] for k in r.keys()})
