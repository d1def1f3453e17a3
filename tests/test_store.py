"""The review log: validation, undo, conflicts, persistence, concurrency and SIGKILL durability."""
import multiprocessing as mp
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsw.errors import LswError
from lsw.export import COLUMNS, export_rows, neutralise, write_csv
from lsw.store import ReviewStore

ROOT = Path(__file__).resolve().parents[1]


def test_record_final_and_undo(tmp_path):
    s = ReviewStore(tmp_path / "r.sqlite")
    s.record("ds", "a", "ann", "relabel", old_label="cat", new_label="dog", alpha=0.1, loss=2.0)
    s.record("ds", "a", "ann", "correct", old_label="cat")
    assert s.final_states("ds")["a"].action == "correct"
    undo = s.undo_last("ds", "ann")
    assert undo.action == "undo"
    assert s.final_states("ds")["a"].action == "relabel"  # the previous decision is effective again
    s.undo_last("ds", "ann")
    assert "a" not in s.final_states("ds")
    assert s.undo_last("ds", "ann") is None
    assert len(s.decisions("ds")) == 4  # append-only: nothing deleted


def test_persists_across_reopen(tmp_path):
    ReviewStore(tmp_path / "r.sqlite").record("ds", "a", "ann", "exclude")
    assert ReviewStore(tmp_path / "r.sqlite").final_states("ds")["a"].reviewer == "ann"


@pytest.mark.parametrize("kwargs,match", [
    (dict(reviewer="  ", action="correct"), "reviewer"),
    (dict(reviewer="x", action="delete"), "delete"),
    (dict(reviewer="x", action="relabel"), "new label"),
    (dict(reviewer="x" * 101, action="correct"), "100"),
])
def test_validation(tmp_path, kwargs, match):
    s = ReviewStore(tmp_path / "r.sqlite")
    with pytest.raises(LswError, match=match):
        s.record("ds", "a", **kwargs)
    assert s.decisions("ds") == []


def test_conflict_reports_the_other_reviewer(tmp_path):
    s = ReviewStore(tmp_path / "r.sqlite")
    seen = s.latest_ids("ds").get("a", 0)
    first = s.record("ds", "a", "alice", "relabel", old_label="cat", new_label="dog", expected_last_id=seen)
    second = s.record("ds", "a", "bob", "correct", old_label="cat", expected_last_id=seen)
    assert first.conflict is None
    assert second.conflict.reviewer == "alice"
    assert s.final_states("ds")["a"].reviewer == "bob"  # the later decision sets the final label


def test_threads_lose_nothing(tmp_path):
    s = ReviewStore(tmp_path / "r.sqlite")

    def work(t):
        for i in range(50):
            s.record("ds", f"t{t}-{i}" if i % 2 else "shared", f"rev{t}", "correct")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = s.decisions("ds")
    assert len(log) == 400 and len({d.id for d in log}) == 400
    shared = [d for d in log if d.sample_id == "shared"]
    assert s.final_states("ds")["shared"].id == max(d.id for d in shared)


def _proc_writer(path, k):
    s = ReviewStore(path)
    for i in range(50):
        s.record("ds", f"p{k}-{i}", f"rev{k}", "exclude")


def test_processes_lose_nothing(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_proc_writer, args=(str(tmp_path / "r.sqlite"), k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(ReviewStore(tmp_path / "r.sqlite").decisions("ds")) == 200


def test_acknowledged_decisions_survive_sigkill(tmp_path):
    db = tmp_path / "r.sqlite"
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from lsw.store import ReviewStore\n"
            f"s = ReviewStore({str(db)!r})\n"
            "i = 0\n"
            "while True:\n"
            "    r = s.record('ds', f's{i}', 'ann', 'correct'); print(r.decision.id, flush=True); i += 1\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    acked = []
    try:
        while len(acked) < 30:
            acked.append(int(p.stdout.readline()))
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    ids = {d.id for d in ReviewStore(db).decisions("ds")}
    assert set(acked) <= ids
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


SAMPLES = pd.DataFrame({"id": ["a", "b", "c", "d"], "path": ["a.png", "b.png", "c.png", "=cmd|' /C calc'!A0"],
                        "label": ["cat", "dog", "cat", "-dog"], "alpha": [0.1, 0.9, 0.2, 0.5],
                        "loss": [-1.5, 0.1, 3.0, 0.2], "pred": ["dog", "dog", "cat", "@x"],
                        "flagged": [True, False, True, False]})


def test_export_final_labels_and_neutralised_cells(tmp_path):
    s = ReviewStore(tmp_path / "r.sqlite")
    s.record("ds", "a", "ann", "relabel", old_label="cat", new_label="dog")
    s.record("ds", "c", "ann", "exclude")
    df = export_rows(SAMPLES, s.final_states("ds"))
    assert list(df.columns) == COLUMNS
    assert list(df["final_label"]) == ["dog", "dog", "", "'-dog"]
    assert list(df["action"]) == ["relabel", "", "exclude", ""]
    assert df.loc[3, "path"].startswith("'=") and df.loc[3, "predicted_label"] == "'@x"
    assert df.loc[0, "loss"] == -1.5  # numbers stay numbers
    path = write_csv(df, tmp_path / "out" / "labels.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert back.loc[0, "final_label"] == "dog" and back.loc[0, "reviewer"] == "ann"


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_no_cell_starts_with_a_formula_character(text):
    out = neutralise(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out.endswith(text)


def test_write_is_atomic(tmp_path, monkeypatch):
    import os

    target = tmp_path / "labels.csv"
    target.write_text("old")

    def boom(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_csv(export_rows(SAMPLES, {}), target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["labels.csv"]
