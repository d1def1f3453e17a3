"""The review log: basics, undo, conflicts, validation, persistence, concurrency, SIGKILL durability,
locked-database retries and runs."""
import multiprocessing as mp
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsw import store as store_mod
from lsw.errors import LswError
from lsw.store import ReviewStore

ROOT = Path(__file__).resolve().parents[1]
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def s(tmp_path):
    store = ReviewStore(tmp_path / "r.sqlite")
    yield store
    store.close()


# -- basics ---------------------------------------------------------------------------------------
def test_record_returns_the_row_as_stored(s):
    r = s.record("ds", "a", "  ann  ", "relabel", old_label="cat", new_label="dog", alpha=0.1, loss=2.0,
                 run_id="run1")
    d = r.decision
    assert r.conflict is None
    assert (d.dataset, d.sample_id, d.reviewer, d.action, d.old_label, d.new_label) == \
        ("ds", "a", "ann", "relabel", "cat", "dog")  # reviewer name stripped
    assert (d.alpha, d.loss, d.run_id, d.undoes) == (0.1, 2.0, "run1", None)
    assert TS.match(d.ts)
    assert s.decisions("ds") == [d]
    assert s.decisions("other") == [] and s.final_states("other") == {}


def test_relabel_then_correct_final_is_correct(s):
    s.record("ds", "a", "ann", "relabel", old_label="cat", new_label="dog")
    s.record("ds", "b", "ann", "exclude")
    last = s.record("ds", "a", "ann", "correct", old_label="cat").decision
    final = s.final_states("ds")
    assert final["a"] == last and final["b"].action == "exclude"
    assert [d.sample_id for d in s.decisions("ds", "a")] == ["a", "a"]
    assert s.latest_ids("ds") == {"a": last.id, "b": last.id - 1}


def test_undo_last_restores_the_previous_decision(s):
    first = s.record("ds", "a", "ann", "relabel", old_label="cat", new_label="dog").decision
    second = s.record("ds", "a", "ann", "correct", old_label="cat").decision
    assert s.final_states("ds")["a"] == second
    undo = s.undo_last("ds", "ann")
    assert (undo.action, undo.undoes, undo.sample_id, undo.reviewer) == ("undo", second.id, "a", "ann")
    assert s.final_states("ds")["a"] == first  # the previous decision is effective again
    assert s.undo_last("ds", "ann").undoes == first.id
    assert "a" not in s.final_states("ds")
    assert s.undo_last("ds", "ann") is None  # nothing left to undo
    assert [d.action for d in s.decisions("ds")] == ["relabel", "correct", "undo", "undo"]  # append-only


def test_undo_of_nothing_returns_none(s):
    assert s.undo_last("ds", "ann") is None
    s.record("ds", "a", "bob", "exclude")
    assert s.undo_last("ds", "ann") is None  # bob's decision is not ann's to undo
    assert s.final_states("ds")["a"].reviewer == "bob"


def test_undo_cancels_only_the_reviewers_own_decision(s):
    mine = s.record("ds", "a", "ann", "relabel", old_label="cat", new_label="dog").decision
    bobs = s.record("ds", "a", "bob", "correct", old_label="cat").decision
    s.record("ds", "b", "bob", "exclude")
    assert s.undo_last("ds", " ann ").undoes == mine.id
    assert s.final_states("ds")["a"] == bobs  # bob's later decision still holds
    assert s.undo_last("ds", "bob").sample_id == "b"


def test_undo_via_record_is_checked(s):
    d = s.record("ds", "a", "ann", "exclude").decision
    with pytest.raises(LswError, match="undo_last"):
        s.record("ds", "a", "ann", "undo")
    with pytest.raises(LswError, match="999"):
        s.record("ds", "a", "ann", "undo", undoes=999)
    with pytest.raises(LswError, match=str(d.id)):
        s.record("ds", "b", "ann", "undo", undoes=d.id)  # another sample's decision
    s.record("ds", "a", "ann", "undo", undoes=d.id)
    with pytest.raises(LswError, match="already undone"):
        s.record("ds", "a", "ann", "undo", undoes=d.id)
    assert len(s.decisions("ds")) == 2


def test_persists_across_reopen(tmp_path):
    with ReviewStore(tmp_path / "sub" / "dir" / "r.sqlite") as a:  # parent folders are created
        a.record("ds", "a", "ann", "relabel", old_label="cat", new_label="dog")
        a.record("ds", "a", "ann", "exclude")
        a.undo_last("ds", "ann")
        log = a.decisions("ds")
    b = ReviewStore(tmp_path / "sub" / "dir" / "r.sqlite")
    assert b.decisions("ds") == log
    assert b.final_states("ds")["a"].new_label == "dog"
    b.close()


def test_close_then_reuse(s):
    s.record("ds", "a", "ann", "exclude")
    s.close()
    s.record("ds", "b", "ann", "exclude")  # reopens
    assert len(s.decisions("ds")) == 2


def test_not_a_database(tmp_path):
    bad = tmp_path / "r.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LswError, match="r.sqlite"):
        ReviewStore(bad)


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(reviewer="  ", action="correct"), "reviewer name is required"),
    (dict(reviewer="", action="correct"), "reviewer name is required"),
    (dict(reviewer="x", action="delete"), "'delete'"),
    (dict(reviewer="x", action="relabel"), "relabel of a needs the new label"),
    (dict(reviewer="x", action="relabel", new_label=""), "new label"),
    (dict(reviewer="x" * 101, action="correct"), "101 characters"),
    (dict(reviewer="x", action="correct", alpha="high"), "'high'"),
])
def test_validation(s, kwargs, match):
    with pytest.raises(LswError, match=match):
        s.record("ds", "a", **kwargs)
    assert s.decisions("ds") == []


def test_reviewer_of_100_characters_is_fine(s):
    assert s.record("ds", "a", "y" * 100 + "   ", "correct").decision.reviewer == "y" * 100


def test_record_many_is_all_or_nothing(s):
    items = [dict(sample_id="a", old_label="cat", new_label="dog"), dict(sample_id="b", old_label="cat")]
    with pytest.raises(LswError, match="relabel of b"):
        s.record_many("ds", items, "ann", "relabel", run_id="r1")
    assert s.decisions("ds") == []  # the good first item was not written either
    with pytest.raises(LswError, match="'nuke'"):
        s.record_many("ds", items, "ann", "nuke")
    with pytest.raises(TypeError, match="new_lable"):
        s.record_many("ds", [dict(sample_id="a", new_lable="dog")], "ann", "relabel")
    assert s.record_many("ds", [], "ann", "exclude") == []
    res = s.record_many("ds", items, "ann", "relabel", run_id="r1", new_label="bird")
    assert [(r.decision.sample_id, r.decision.new_label, r.decision.run_id) for r in res] == \
        [("a", "dog", "r1"), ("b", "bird", "r1")]  # per-item fields override the common ones
    assert [d.id for d in s.decisions("ds")] == [r.decision.id for r in res]


# -- conflicts ------------------------------------------------------------------------------------
def test_conflict_reports_the_other_reviewer(s):
    seen = s.latest_ids("ds").get("a", 0)  # both pages were rendered before either decision
    first = s.record("ds", "a", "alice", "relabel", old_label="cat", new_label="dog", expected_last_id=seen)
    second = s.record("ds", "a", "bob", "correct", old_label="cat", expected_last_id=seen)
    assert first.conflict is None
    assert second.conflict == first.decision
    assert s.final_states("ds")["a"] == second.decision  # the later decision sets the final label
    # bob now saw alice's and his own: no conflict; without expected_last_id: no check
    assert s.record("ds", "a", "bob", "exclude", expected_last_id=second.decision.id).conflict is None
    assert s.record("ds", "a", "carol", "exclude").conflict is None


def test_own_later_decision_is_no_conflict(s):
    s.record("ds", "a", "ann", "exclude", expected_last_id=0)
    assert s.record("ds", "a", "ann", "correct", expected_last_id=0).conflict is None


def test_record_many_reports_conflicts_per_item(s):
    latest = s.latest_ids("ds")
    other = s.record("ds", "b", "bob", "exclude").decision
    items = [dict(sample_id=x, old_label="cat", expected_last_id=latest.get(x, 0)) for x in ("a", "b")]
    res = s.record_many("ds", items, "ann", "correct")
    assert [r.conflict for r in res] == [None, other]


# -- a model of the log ---------------------------------------------------------------------------
OPS = st.lists(st.one_of(
    st.tuples(st.just("rec"), st.sampled_from(["ann", "bob"]), st.sampled_from(["a", "b", "c"]),
              st.sampled_from(["relabel", "correct", "exclude", "ambiguous"])),
    st.tuples(st.just("undo"), st.sampled_from(["ann", "bob"]))), max_size=25)


@settings(max_examples=30, deadline=None)
@given(OPS)
def test_final_states_match_a_simple_model(ops):
    """Replay random decisions and undos against a list-based model of "latest effective decision"."""
    with tempfile.TemporaryDirectory() as tmp, ReviewStore(Path(tmp) / "r.sqlite") as s:
        live: list = []  # effective decisions, oldest first
        rows = 0
        for op in ops:
            if op[0] == "rec":
                _, who, sid, action = op
                now = [d for d in live if d.sample_id == sid]
                r = s.record("ds", sid, who, action, new_label="dog")
                # the same reviewer repeating the sample's effective decision writes nothing
                assert r.repeated == bool(now and (now[-1].reviewer, now[-1].action) == (who, action))
                if not r.repeated:
                    live.append(r.decision)
                    rows += 1
            else:
                mine = [d for d in live if d.reviewer == op[1]]
                undo = s.undo_last("ds", op[1])
                if not mine:
                    assert undo is None
                else:
                    assert undo.undoes == mine[-1].id
                    live.remove(mine[-1])
                    rows += 1
        assert s.final_states("ds") == {d.sample_id: d for d in live}
        assert len(s.decisions("ds")) == rows


# -- concurrency ----------------------------------------------------------------------------------
def _run_threads(n, target):
    errors = []

    def wrap(k):
        try:
            target(k)
        except BaseException as e:  # noqa: BLE001 - surfaced in the main thread below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_threads_lose_nothing(s):
    def work(t):
        for i in range(50):
            s.record("ds", f"t{t}-{i}" if i % 2 else "shared", f"rev{t}", "relabel", new_label=f"{t}-{i}")

    _run_threads(8, work)
    log = s.decisions("ds")
    assert len(log) == 400 and len({d.id for d in log}) == 400
    assert sorted(d.new_label for d in log) == sorted(f"{t}-{i}" for t in range(8) for i in range(50))
    shared = [d for d in log if d.sample_id == "shared"]
    assert len(shared) == 200
    assert s.final_states("ds")["shared"] == max(shared, key=lambda d: d.id)
    assert [d.ts for d in log] == sorted(d.ts for d in log)  # time order follows id order


def test_a_decision_delivered_twice_is_recorded_once(s):
    """A click the dashboard receives twice (a rerun racing a refresh) must not log the decision twice."""
    first = s.record("ds", "a", "ann", "correct", given_label="cat", run_id="r1", expected_last_id=0)
    again = s.record("ds", "a", "ann", "correct", given_label="cat", run_id="r1", expected_last_id=0)
    assert again.repeated and again.decision == first.decision and again.conflict is None
    assert [d.id for d in s.decisions("ds")] == [first.decision.id]
    # anything else is a new decision: another reviewer, another run, another action, after an undo
    assert not s.record("ds", "a", "bob", "correct", given_label="cat", run_id="r1").repeated
    assert not s.record("ds", "a", "ann", "correct", given_label="cat", run_id="r2").repeated
    assert not s.record("ds", "a", "ann", "exclude", given_label="cat", run_id="r2").repeated
    s.undo_last("ds", "ann")
    assert s.final_states("ds")["a"].action == "correct"
    many = s.record_many("ds", [dict(sample_id="a"), dict(sample_id="b")], "ann", "correct", given_label="cat",
                         run_id="r2")
    assert [r.repeated for r in many] == [True, False]
    assert len(s.decisions("ds")) == 6


def test_concurrent_undos_never_cancel_the_same_decision(s):
    s.record_many("ds", [dict(sample_id=f"s{i}") for i in range(20)], "ann", "exclude")
    undone = []
    _run_threads(4, lambda k: undone.extend(s.undo_last("ds", "ann").undoes for _ in range(5)))
    assert len(set(undone)) == 20
    assert s.final_states("ds") == {} and s.undo_last("ds", "ann") is None


def _proc_writer(path, k):
    s = ReviewStore(path)
    for i in range(50):
        s.record("ds", f"p{k}-{i}" if i % 2 else "shared", f"rev{k}", "relabel", new_label=f"{k}-{i}")


def test_processes_lose_nothing(tmp_path):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_proc_writer, args=(str(tmp_path / "r.sqlite"), k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    log = ReviewStore(tmp_path / "r.sqlite").decisions("ds")
    assert len(log) == 200 and len({d.id for d in log}) == 200
    assert {(d.reviewer, d.sample_id) for d in log if d.sample_id != "shared"} == \
        {(f"rev{k}", f"p{k}-{i}") for k in range(4) for i in range(1, 50, 2)}


def test_a_locked_database_is_retried_not_lost(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_S", 0.02)  # SQLite gives up at once: our retry must cope
    s = ReviewStore(tmp_path / "r.sqlite")
    holder = sqlite3.connect(tmp_path / "r.sqlite", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    timer = threading.Timer(0.4, lambda: holder.execute("COMMIT"))
    timer.start()
    t0 = time.monotonic()
    s.record("ds", "a", "ann", "exclude")
    assert time.monotonic() - t0 >= 0.3
    timer.join()
    holder.close()
    assert len(s.decisions("ds")) == 1


def test_a_database_locked_for_too_long_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_S", 0.02)
    monkeypatch.setattr(store_mod, "LOCK_WAIT_S", 0.3)
    s = ReviewStore(tmp_path / "r.sqlite")
    holder = sqlite3.connect(tmp_path / "r.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(LswError, match="locked"):
        s.record("ds", "a", "ann", "exclude")
    holder.execute("ROLLBACK")
    holder.close()
    s.record("ds", "a", "ann", "exclude")  # the store is fine afterwards
    assert len(s.decisions("ds")) == 1


# -- durability -----------------------------------------------------------------------------------
def test_acknowledged_decisions_survive_sigkill(tmp_path):
    db = tmp_path / "r.sqlite"
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from lsw.store import ReviewStore\n"
            f"s = ReviewStore({str(db)!r})\n"
            "i = 0\n"
            "while True:\n"
            "    r = s.record('ds', f's{i}', 'ann', 'relabel', new_label='x' * 500)\n"
            "    print(r.decision.id, flush=True)\n"
            "    i += 1\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    acked = []
    try:
        while len(acked) < 30:
            line = p.stdout.readline()
            if not line:
                pytest.fail(f"writer died: {p.stderr.read()}")
            acked.append(int(line))
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    assert p.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    s = ReviewStore(db)
    ids = {d.id for d in s.decisions("ds")}
    assert set(acked) <= ids
    assert s.record("ds", "after", "ann", "exclude").decision.id > max(ids)  # still writable


# -- runs -----------------------------------------------------------------------------------------
def test_runs_table(s):
    s.register_run("r1", "ds", '{"epochs": 3}', "/runs/r1")
    s.register_run("r2", "other", "{}", Path("/runs/r2"))
    assert [r["run_id"] for r in s.runs("ds")] == ["r1"]
    assert {r["run_id"] for r in s.runs()} == {"r1", "r2"}
    assert s.runs("ds")[0]["status"] == "created" and s.runs("ds")[0]["config"] == '{"epochs": 3}'
    s.set_run_status("r1", "failed", "out of memory")
    created = s.runs("ds")[0]["created"]
    s.register_run("r1", "ds", '{"epochs": 5}', "/runs/r1b")  # again: updated, status and creation kept
    r1 = s.runs("ds")[0]
    assert (r1["status"], r1["message"], r1["created"], r1["config"], r1["run_dir"]) == \
        ("failed", "out of memory", created, '{"epochs": 5}', "/runs/r1b")
    with pytest.raises(LswError, match="nope"):
        s.set_run_status("nope", "done")


# -- decisions belong to the label they were made on (bug j) ---------------------------------------
def test_a_decision_holds_only_for_the_given_label_it_was_made_on(s):
    # With synthetic noise and another seed, sample "a" is given "dog" instead of "cat": a "keep as
    # correct" made on "cat" must not apply to "dog".
    kept = s.record("ds", "a", "ann", "correct", old_label="cat", given_label="cat").decision
    assert kept.given_label == "cat"
    assert s.final_states("ds", {"a": "dog"}) == {}
    assert s.final_states("ds", {"a": "cat"}) == {"a": kept}
    assert s.latest_ids("ds", {"a": "dog"}) == {} and s.latest_ids("ds", {"a": "cat"}) == {"a": kept.id}
    relabel = s.record("ds", "a", "bob", "relabel", old_label="dog", new_label="cat", given_label="dog",
                       expected_last_id=0).decision
    assert s.final_states("ds", {"a": "dog"}) == {"a": relabel}
    assert s.final_states("ds", {"a": "cat"}) == {"a": kept}  # each label keeps its own decision
    undo = s.undo_last("ds", "bob")
    assert undo.given_label == "dog" and s.final_states("ds", {"a": "dog"}) == {}


def test_a_decision_on_another_given_label_is_no_conflict(s):
    s.record("ds", "a", "ann", "correct", given_label="cat")
    r = s.record("ds", "a", "bob", "exclude", given_label="dog", expected_last_id=0)
    assert r.conflict is None
    r = s.record("ds", "a", "cy", "exclude", given_label="cat", expected_last_id=0)
    assert r.conflict is not None and r.conflict.reviewer == "ann"


def test_rows_from_before_given_label_still_apply_and_old_databases_gain_the_column(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(store_mod.SCHEMA.replace(",\n    given_label TEXT", ""))
    con.execute("INSERT INTO decisions (dataset, sample_id, reviewer, ts, action) VALUES "
                "('ds', 'a', 'ann', '2024-01-01T00:00:00.000000Z', 'exclude')")
    con.commit()
    con.close()
    with ReviewStore(path) as s:
        assert s.final_states("ds", {"a": "dog"})["a"].action == "exclude"
        s.record("ds", "b", "ann", "correct", given_label="cat")
        assert s.final_states("ds", {"b": "cat"})["b"].given_label == "cat"


def test_two_reviewers_claiming_at_once_are_never_served_the_same_sample(s):
    queue = [f"q{i}" for i in range(40)]
    served = {f"rev{k}": [] for k in range(4)}

    def work(k):  # each reviewer claims, decides, claims the next ... until the queue is empty
        name = f"rev{k}"
        while (sid := s.claim_next("ds", name, queue)) is not None:
            served[name].append(sid)
            s.record("ds", sid, name, "correct")

    _run_threads(4, work)
    every = [sid for got in served.values() for sid in got]
    assert sorted(every) == sorted(queue)  # each sample served once, none lost
    assert len(s.decisions("ds")) == 40 and set(s.final_states("ds")) == set(queue)


def test_a_lease_holds_the_sample_until_it_expires_or_is_released(s):
    assert s.claim_next("ds", "ann", ["a", "b"]) == "a"
    assert s.claim_next("ds", "bob", ["a", "b"]) == "b"  # a is ann's
    assert s.claim_next("ds", "ann", ["a", "b"]) == "a"  # her own lease is hers to keep
    s.release("ds", "ann")
    assert s.claim_next("ds", "cy", ["a", "b"]) == "a"
    s.record("ds", "a", "cy", "exclude")  # decided: served to nobody again
    assert s.claim_next("ds", "dee", ["a"], ttl_s=0.0) is None
    assert s.claim_next("ds", "dee", ["c"], ttl_s=0.0) == "c"
    assert s.claim_next("ds", "eve", ["c"]) == "c"  # dee's lease of 0 s has expired
    # a decision on another given label does not hide the sample
    s.record("ds", "d", "ann", "correct", given_label="cat")
    assert s.claim_next("ds", "fay", ["d"], given={"d": "dog"}) == "d"


def test_given_labels_of_a_table_act_as_the_id_to_label_dict(s):
    import pandas as pd

    from lsw.samples import given_labels

    table = pd.DataFrame({"id": pd.array(["a.jpg", "b.jpg", "c.jpg"], dtype="string"),
                          "given_name": pd.Categorical(["cat", "dog", "cat"])})
    given = given_labels(table)
    assert dict(given) == {"a.jpg": "cat", "b.jpg": "dog", "c.jpg": "cat"} and len(given) == 3
    assert given.get("zz") is None and "b.jpg" in given and "zz" not in given
    s.record("ds", "b.jpg", "ann", "correct", given_label="dog")
    s.record("ds", "c.jpg", "ann", "correct", given_label="dog")  # made on a label the table no longer gives
    assert set(s.final_states("ds", given)) == {"b.jpg"}
    assert given.lookup(["b.jpg", "zz", "c.jpg", "b.jpg"]) == {"b.jpg": "dog", "c.jpg": "cat"}
    assert set(s.latest_ids("ds", given)) == {"b.jpg"}
    assert s.claim_next("ds", "fay", ["b.jpg", "c.jpg"], given=given) == "c.jpg"  # b.jpg is decided on dog


def test_given_labels_lookup_of_many_ids_uses_the_index(monkeypatch):
    import pandas as pd

    from lsw.samples import GivenLabels

    ids = [f"img{k}.jpg" for k in range(50)]
    given = GivenLabels(pd.Series(ids, dtype="str"), pd.Series(pd.Categorical(["cat", "dog"] * 25)))
    scan = given.lookup(ids[:30] + ["missing"])
    monkeypatch.setattr(GivenLabels, "INDEX_FROM", 10)
    assert given.lookup(ids[:30] + ["missing"]) == scan == {i: ["cat", "dog"][k % 2] for k, i in enumerate(ids[:30])}
