"""The review database: an append-only log of reviewers' decisions, and the runs, in SQLite.

Guarantees:

- Keyed by sample and label: a decision belongs to (data set, sample id, the label the sample was
  given when it was made). With synthetic noise or another noise seed the same sample can be given
  another label; a decision made on one given label does not apply to the other. Rows written
  before `given_label` existed (NULL) apply whatever the label.
- Append-only: decision rows are never updated or deleted. An "undo" is a new row whose `undoes`
  names the decision it cancels; `final_states` works the effective state out of the log.
- Durable: every write is its own `BEGIN IMMEDIATE` ... `COMMIT` in WAL mode with
  `synchronous=FULL`, so a decision that `record` has returned survives a SIGKILL (or a power cut)
  right after.
- Concurrent: one connection per thread (and per process: a forked child opens its own), a busy
  timeout inside SQLite, and on top of it a retry with jittered backoff of the whole transaction
  when the database is locked, so several threads and processes can write at once without losing
  a decision. A transaction that failed was rolled back, so a retry never writes twice.
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from lsw.errors import LswError

ACTIONS = ("relabel", "correct", "exclude", "ambiguous", "undo")
MAX_REVIEWER_LEN = 100
BUSY_TIMEOUT_S = 10.0  # SQLite's own wait for a lock, per statement
LEASE_S = 120.0  # how long a sample served in focused mode is held for its reviewer
LOCK_WAIT_S = 30.0  # our retries on top of it, per transaction, before giving up with an LswError

SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL, sample_id TEXT NOT NULL, reviewer TEXT NOT NULL, ts TEXT NOT NULL,
    action TEXT NOT NULL, old_label TEXT, new_label TEXT, alpha REAL, loss REAL, run_id TEXT, undoes INTEGER,
    given_label TEXT
);
CREATE INDEX IF NOT EXISTS decisions_sample ON decisions (dataset, sample_id, id);
CREATE INDEX IF NOT EXISTS decisions_reviewer ON decisions (dataset, reviewer, id);
CREATE INDEX IF NOT EXISTS decisions_undoes ON decisions (undoes) WHERE undoes IS NOT NULL;
CREATE TABLE IF NOT EXISTS leases (
    dataset TEXT NOT NULL, sample_id TEXT NOT NULL, reviewer TEXT NOT NULL, until REAL NOT NULL,
    PRIMARY KEY (dataset, sample_id)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, dataset TEXT, config TEXT, run_dir TEXT, created TEXT, status TEXT, message TEXT
);
"""

# A decision is effective when it is not an undo and no undo row names it.
_NOT_UNDONE = ("action <> 'undo' AND NOT EXISTS "
               "(SELECT 1 FROM decisions u WHERE u.undoes = d.id AND u.action = 'undo')")
_INSERT = ("INSERT INTO decisions (dataset, sample_id, reviewer, ts, action, old_label, new_label, alpha,"
           " loss, run_id, undoes, given_label) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
_ITEM_KEYS = frozenset({"sample_id", "old_label", "new_label", "alpha", "loss", "run_id", "expected_last_id",
                        "given_label"})

T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    """One row of the log. ts: UTC ISO-8601 ending in Z. undoes: for action "undo", the id cancelled.
    old_label: the sample's label as the reviewer saw it (a relabel shows); given_label: the label the
    data gave the sample when the decision was made (None in rows from before it was kept)."""

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
    given_label: str | None = None

    def applies_to(self, given_label: str | None) -> bool:
        """Whether this decision holds for a sample given `given_label` (None: any label)."""
        return given_label is None or self.given_label is None or self.given_label == given_label


@dataclass(frozen=True)
class RecordResult:
    """The decision written, and `conflict`: another reviewer's decision on the same sample made after
    the one the caller had seen (`expected_last_id`), or None. `repeated`: the decision was already the
    sample's effective one, by the same reviewer in the same run, so nothing was written and `decision`
    is that earlier row (a click delivered twice records once)."""

    decision: Decision
    conflict: Decision | None
    repeated: bool = False


@dataclass(frozen=True)
class _Pending:
    """A validated decision, not written yet."""

    sample_id: str
    action: str
    old_label: str | None
    new_label: str | None
    alpha: float | None
    loss: float | None
    run_id: str | None
    undoes: int | None
    expected_last_id: int | None
    given_label: str | None


def labels_for(given: Mapping[str, str] | None, ids: Iterable[str]) -> Mapping[str, str] | None:
    """`given` (sample id -> the label the data gives it) for `ids`: in one batch when `given` can
    (`lsw.samples.GivenLabels.lookup`, over a run's whole id column), else `given` itself."""
    lookup = getattr(given, "lookup", None)
    return given if lookup is None else lookup(ids)


def utc_now() -> str:
    """Now, UTC, ISO-8601 with microseconds and a trailing Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clean_reviewer(reviewer: str | None) -> str:
    """The reviewer name stripped; LswError when it is empty or longer than 100 characters."""
    name = (reviewer or "").strip()
    if not name:
        raise LswError("a reviewer name is required for every decision: enter your name")
    if len(name) > MAX_REVIEWER_LEN:
        raise LswError(f"reviewer name '{name[:20]}…' is {len(name)} characters long: "
                       f"keep it to {MAX_REVIEWER_LEN}")
    return name


def _is_busy(e: sqlite3.OperationalError) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED (and extended codes)
        return True
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


def _opt_float(name: str, value: object, sample_id: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LswError(f"{name} of {sample_id} must be a number, not {value!r}") from None


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


class ReviewStore:
    """The decisions of every reviewer on every data set (keyed by the source fingerprint).

    Safe to share between threads (each thread gets its own connection) and to open from several
    processes on the same file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._generation = 0  # bumped by close(): connections of an older generation are reopened
        try:
            self._retry(lambda c: c.executescript(SCHEMA))  # IF NOT EXISTS: safe from several processes
            self._retry(_add_given_label)
        except sqlite3.DatabaseError as e:
            raise LswError(f"cannot open the review database {self.path}: {e}") from e

    # -- connections and transactions ------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == os.getpid() and local.generation == self._generation:
            return conn
        if conn is not None and local.pid == os.getpid():
            conn.close()
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except BaseException:
            conn.close()
            raise
        conn.row_factory = sqlite3.Row
        local.conn, local.pid, local.generation = conn, os.getpid(), self._generation
        return conn

    def _drop_conn(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def _retry(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """fn(connection), again after a short jittered pause while the database is locked."""
        deadline = time.monotonic() + LOCK_WAIT_S
        delay = 0.005
        while True:
            try:
                return fn(self._conn())
            except sqlite3.OperationalError as e:
                if not _is_busy(e):
                    raise
                if time.monotonic() > deadline:
                    raise LswError(f"the review database {self.path} stayed locked for over "
                                   f"{LOCK_WAIT_S:.0f} s: another program holds it; try again") from e
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """fn(connection) inside BEGIN IMMEDIATE ... COMMIT; rolled back on error, retried when locked."""

        def tx(c: sqlite3.Connection) -> T:
            c.execute("BEGIN IMMEDIATE")
            try:
                out = fn(c)
                c.execute("COMMIT")
            except BaseException:
                try:
                    if c.in_transaction:
                        c.execute("ROLLBACK")
                except sqlite3.Error:
                    self._drop_conn()  # never reuse a connection stuck in a transaction
                raise
            return out

        return self._retry(tx)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._retry(lambda c: c.execute(sql, params).fetchall())

    # -- decisions -------------------------------------------------------------------------------
    def _validate(self, sample_id: object, action: str, fields: Mapping[str, Any]) -> _Pending:
        if action not in ACTIONS:
            raise LswError(f"unknown review action '{action}': use one of {', '.join(ACTIONS[:-1])}")
        sid = "" if sample_id is None else str(sample_id)
        if not sid:
            raise LswError(f"a sample id is required for a decision ({action})")
        new_label = _opt_str(fields.get("new_label"))
        if action == "relabel" and not new_label:
            raise LswError(f"relabel of {sid} needs the new label")
        undoes = fields.get("undoes")
        if action == "undo" and undoes is None:
            raise LswError(f"an undo of {sid} must name the decision it cancels: use undo_last")
        expected = fields.get("expected_last_id")
        return _Pending(sid, action, _opt_str(fields.get("old_label")), new_label,
                        _opt_float("alpha", fields.get("alpha"), sid),
                        _opt_float("loss", fields.get("loss"), sid),
                        _opt_str(fields.get("run_id")), None if undoes is None else int(undoes),
                        None if expected is None else int(expected), _opt_str(fields.get("given_label")))

    @staticmethod
    def _insert(c: sqlite3.Connection, dataset: str, reviewer: str, p: _Pending) -> RecordResult:
        """Write one validated decision inside the caller's transaction."""
        if p.action == "undo":
            target = c.execute("SELECT * FROM decisions WHERE id=? AND dataset=? AND sample_id=?",
                               (p.undoes, dataset, p.sample_id)).fetchone()
            if target is None or target["action"] == "undo":
                raise LswError(f"decision {p.undoes} is not a decision on {p.sample_id} that can be undone")
            if c.execute("SELECT 1 FROM decisions WHERE undoes=? AND action='undo'", (p.undoes,)).fetchone():
                raise LswError(f"decision {p.undoes} on {p.sample_id} is already undone")
        if p.action != "undo":
            same = c.execute(f"SELECT * FROM decisions d WHERE dataset=? AND sample_id=? AND {_NOT_UNDONE}"
                             " ORDER BY id DESC LIMIT 1", (dataset, p.sample_id)).fetchone()
            if same is not None and (same["reviewer"], same["action"], same["new_label"], same["run_id"],
                                     same["given_label"]) == (reviewer, p.action, p.new_label, p.run_id,
                                                              p.given_label):
                return RecordResult(_decision(same), None, repeated=True)
        conflict = None
        if p.expected_last_id is not None:
            other = c.execute("SELECT * FROM decisions WHERE dataset=? AND sample_id=? AND id>?"
                              " AND reviewer<>? AND (? IS NULL OR given_label IS NULL OR given_label=?)"
                              " ORDER BY id DESC LIMIT 1",
                              (dataset, p.sample_id, p.expected_last_id, reviewer, p.given_label,
                               p.given_label)).fetchone()
            conflict = None if other is None else _decision(other)
        ts = utc_now()  # taken under the write lock: ts order follows id order
        cur = c.execute(_INSERT, (dataset, p.sample_id, reviewer, ts, p.action, p.old_label, p.new_label,
                                  p.alpha, p.loss, p.run_id, p.undoes, p.given_label))
        d = Decision(int(cur.lastrowid or 0), dataset, p.sample_id, reviewer, ts, p.action, p.old_label,
                     p.new_label, p.alpha, p.loss, p.run_id, p.undoes, p.given_label)
        return RecordResult(d, conflict)

    def record(self, dataset: str, sample_id: str, reviewer: str, action: str, *,
               old_label: str | None = None, new_label: str | None = None, alpha: float | None = None,
               loss: float | None = None, run_id: str | None = None, expected_last_id: int | None = None,
               undoes: int | None = None, given_label: str | None = None) -> RecordResult:
        """Append one decision in its own transaction; when this returns, it is on disk.

        expected_last_id: the id of the sample's latest log row as the caller saw it (0: it saw none);
        when another reviewer has written a row on this sample since, the decision is still recorded
        (the later one sets the final label) and `conflict` holds that reviewer's latest decision.
        None skips the check. A reviewer's own later rows are never a conflict.
        undoes: only for action "undo" (prefer `undo_last`): the id of the decision to cancel.
        given_label: the label the data gives the sample now; the decision holds only while it does.
        """
        name = clean_reviewer(reviewer)
        fields = dict(old_label=old_label, new_label=new_label, alpha=alpha, loss=loss, run_id=run_id,
                      expected_last_id=expected_last_id, undoes=undoes, given_label=given_label)
        p = self._validate(sample_id, action, fields)
        return self._write(lambda c: self._insert(c, dataset, name, p))

    def record_many(self, dataset: str, items: list[dict[str, Any]], reviewer: str, action: str,
                    **common: Any) -> list[RecordResult]:
        """One action on several samples, all in ONE transaction: either every decision is written or
        none is (a bad item raises LswError before anything is written).

        items: dicts with sample_id and optionally old_label, new_label, alpha, loss, run_id,
        expected_last_id, given_label; `common` gives defaults for those keys (e.g. run_id, new_label).
        Results come in the order of `items`.
        """
        name = clean_reviewer(reviewer)
        pending = []
        if action == "undo":
            raise LswError("record_many cannot undo: use undo_last")
        for i, item in enumerate(items):
            fields = {**common, **item}
            unknown = set(fields) - _ITEM_KEYS
            if unknown:
                raise TypeError(f"record_many item {i}: unknown field(s) {', '.join(sorted(unknown))}")
            pending.append(self._validate(fields.get("sample_id"), action, fields))
        if not pending:
            return []
        return self._write(lambda c: [self._insert(c, dataset, name, p) for p in pending])

    def undo_last(self, dataset: str, reviewer: str) -> Decision | None:
        """Cancel `reviewer`'s latest decision that is not already undone, by appending an "undo" row.

        Returns the undo row, or None when the reviewer has nothing left to undo. The sample's previous
        effective decision (if any) is effective again. Lookup and write share one transaction, so two
        concurrent undos never cancel the same decision.
        """
        name = clean_reviewer(reviewer)

        def tx(c: sqlite3.Connection) -> Decision | None:
            t = c.execute(f"SELECT * FROM decisions d WHERE dataset=? AND reviewer=? AND {_NOT_UNDONE}"
                          " ORDER BY id DESC LIMIT 1", (dataset, name)).fetchone()
            if t is None:
                return None
            p = _Pending(t["sample_id"], "undo", t["old_label"], None, t["alpha"], t["loss"], t["run_id"],
                         t["id"], None, t["given_label"])
            return self._insert(c, dataset, name, p).decision

        return self._write(tx)

    def decisions(self, dataset: str, sample_id: str | None = None) -> list[Decision]:
        """The log, oldest first (all samples of `dataset`, or one), undo rows included."""
        if sample_id is None:
            rows = self._read("SELECT * FROM decisions WHERE dataset=? ORDER BY id", (dataset,))
        else:
            rows = self._read("SELECT * FROM decisions WHERE dataset=? AND sample_id=? ORDER BY id",
                              (dataset, str(sample_id)))
        return [_decision(r) for r in rows]

    def final_states(self, dataset: str, given: Mapping[str, str] | None = None) -> dict[str, Decision]:
        """Per sample id: its latest effective decision (not an undo, not undone). Undoing a sample's
        latest decision makes the one before it (if any) effective again; samples whose every decision
        was undone are absent.

        given: sample id -> the label the data gives it now; decisions made on another given label
        are left out (see the module docstring). None keeps every decision."""
        rows = self._read(f"SELECT * FROM decisions d WHERE dataset=? AND {_NOT_UNDONE} ORDER BY id",
                          (dataset,))
        out = {}
        given = labels_for(given, (r["sample_id"] for r in rows))
        for r in rows:
            d = _decision(r)
            if given is None or d.applies_to(given.get(d.sample_id)):
                out[d.sample_id] = d
        return out

    def latest_ids(self, dataset: str, given: Mapping[str, str] | None = None) -> dict[str, int]:
        """Per sample id: the id of its latest log row of any kind (pass it as `expected_last_id`);
        `given` as in `final_states`."""
        rows = self._read("SELECT sample_id, id, given_label FROM decisions WHERE dataset=? ORDER BY id",
                          (dataset,))
        out = {}
        given = labels_for(given, (r["sample_id"] for r in rows))
        for r in rows:
            label = r["given_label"]
            if given is None or label is None or given.get(r["sample_id"], label) == label:
                out[r["sample_id"]] = int(r["id"])
        return out

    # -- leases: two reviewers in focused mode are not served the same sample ----------------------
    def claim_next(self, dataset: str, reviewer: str, candidates: list[str],
                   given: Mapping[str, str] | None = None, ttl_s: float = LEASE_S) -> str | None:
        """The first of `candidates` (sample ids in queue order) that has no effective decision (on its
        `given` label, as in `final_states`) and no live lease of another reviewer; leased to `reviewer`
        for `ttl_s` seconds, replacing the reviewer's earlier lease. None when the queue is done for them.
        Lookup and lease share one transaction, so two reviewers never claim the same sample."""
        name = clean_reviewer(reviewer)

        def tx(c: sqlite3.Connection) -> str | None:
            now = time.time()
            c.execute("DELETE FROM leases WHERE dataset=? AND (reviewer=? OR until<=?)", (dataset, name, now))
            held = {r[0] for r in c.execute("SELECT sample_id FROM leases WHERE dataset=?", (dataset,))}
            done = set()
            rows = c.execute(f"SELECT sample_id, given_label FROM decisions d WHERE dataset=? AND {_NOT_UNDONE}",
                             (dataset,)).fetchall()
            labels = labels_for(given, (r[0] for r in rows))
            for r in rows:
                if labels is None or r[1] is None or labels.get(r[0], r[1]) == r[1]:
                    done.add(r[0])
            for sid in candidates:
                sid = str(sid)
                if sid not in held and sid not in done:
                    c.execute("INSERT INTO leases (dataset, sample_id, reviewer, until) VALUES (?,?,?,?)",
                              (dataset, sid, name, now + ttl_s))
                    return sid
            return None

        return self._write(tx)

    def release(self, dataset: str, reviewer: str) -> None:
        """Drop `reviewer`'s lease (leaving focused mode); an expired lease needs no release."""
        name = clean_reviewer(reviewer)
        self._write(lambda c: c.execute("DELETE FROM leases WHERE dataset=? AND reviewer=?", (dataset, name)))

    # -- runs ------------------------------------------------------------------------------------
    def register_run(self, run_id: str, dataset: str, config_json: str, run_dir: str | Path) -> None:
        """Add a run (status "created"); registering it again updates dataset, config and folder and
        keeps its creation time and status."""
        if not run_id:
            raise LswError("a run needs a run id")
        self._write(lambda c: c.execute(
            "INSERT INTO runs (run_id, dataset, config, run_dir, created, status) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT (run_id) DO UPDATE SET dataset=excluded.dataset, config=excluded.config,"
            " run_dir=excluded.run_dir",
            (run_id, dataset, config_json, str(run_dir), utc_now(), "created")))

    def set_run_status(self, run_id: str, status: str, message: str | None = None) -> None:
        """Set a registered run's status (e.g. running, done, failed) and message; LswError if unknown."""
        n = self._write(lambda c: c.execute("UPDATE runs SET status=?, message=? WHERE run_id=?",
                                            (status, message, run_id)).rowcount)
        if n == 0:
            raise LswError(f"no run '{run_id}' is registered in {self.path}")

    def runs(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """The runs (of one data set, or all), newest first: dicts with run_id, dataset, config,
        run_dir, created, status, message."""
        if dataset is None:
            rows = self._read("SELECT * FROM runs ORDER BY created DESC, run_id")
        else:
            rows = self._read("SELECT * FROM runs WHERE dataset=? ORDER BY created DESC, run_id", (dataset,))
        return [dict(r) for r in rows]

    # -- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close this thread's connection; other threads' connections are reopened on their next use
        (the old ones close when those threads end). The store stays usable."""
        self._generation += 1
        self._drop_conn()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _add_given_label(c: sqlite3.Connection) -> None:
    """Databases made before decisions were keyed by their given label get the column (NULL in old rows)."""
    columns = {row[1] for row in c.execute("PRAGMA table_info(decisions)")}
    if "given_label" not in columns:
        try:
            c.execute("ALTER TABLE decisions ADD COLUMN given_label TEXT")
        except sqlite3.OperationalError as e:  # another process added it first
            if "duplicate column" not in str(e).lower():
                raise


def _decision(r: sqlite3.Row) -> Decision:
    return Decision(**{k: r[k] for k in r.keys()})
