"""The audit loop's engine: a verified trusted set, rounds grown from reviews, the queue's precision."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lsw.audit import run_audit
from lsw.config import RunConfig
from lsw.errors import LswError
from lsw.queue import queue_stats, wilson
from lsw.rounds import next_round, round_rows
from lsw.rundir import RunDir
from lsw.samples import given_labels
from lsw.store import ReviewStore
from lsw.trusted import TrustedSet, apply_decisions, place, verify_sample

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(data="digits", epochs=1, max_samples=500, device="cpu", eval_test=False)


def test_verify_sample_is_stratified_seeded_and_leaves_every_class_audited():
    labels = np.array([0] * 30 + [1] * 5 + [2] * 1)
    rows = verify_sample(labels, 4, per_class=10, seed=3)
    assert np.bincount(labels[rows], minlength=4).tolist() == [10, 4, 0, 0]
    assert rows.tolist() == verify_sample(labels, 4, per_class=10, seed=3).tolist()
    assert rows.tolist() != verify_sample(labels, 4, per_class=10, seed=4).tolist()
    with pytest.raises(LswError, match="at least 1"):
        verify_sample(labels, 4, per_class=0)


def test_decisions_map_onto_the_trusted_set(tmp_path):
    s = ReviewStore(tmp_path / "r.sqlite")
    s.record("ds", "a", "ann", "correct", old_label="cat", given_label="cat")
    s.record("ds", "b", "ann", "relabel", old_label="cat", new_label="dog", given_label="cat")
    s.record("ds", "c", "ann", "exclude", given_label="cat")
    s.record("ds", "d", "ann", "ambiguous", given_label="cat")
    ts = TrustedSet("ds", "reviews", {"d": "cat", "e": "dog"}, unverified=["d", "e"])
    out = apply_decisions(ts, s.final_states("ds"))
    assert out.labels == {"a": "cat", "b": "dog", "e": "dog"}
    assert out.excluded == ["c"] and out.ambiguous == ["d"] and out.unverified == ["e"]
    applied = place(out, ["a", "b", "c", "d", "e", "f"], ["cat", "dog"])
    assert applied.excluded.tolist() == [False, False, True, False, False, False]
    assert applied.trusted.tolist() == [True, True, False, False, True, False]
    assert applied.labels[applied.trusted].tolist() == [0, 1, 1]
    # decided from a run's D^n: trained on with the reviewer's label, not D^c
    rev = apply_decisions(TrustedSet("ds", "reviews", {"e": "dog"}), s.final_states("ds"), audited=True)
    assert rev.labels == {"e": "dog"} and rev.reviewed == {"a": "cat", "b": "dog"} and rev.excluded == ["c"]
    applied = place(rev, ["a", "b", "c", "d", "e"], ["cat", "dog"])
    assert applied.trusted.tolist() == [False, False, False, False, True]
    assert applied.reviewed.tolist() == [True, True, False, False, False]
    assert applied.labels.tolist() == [0, 1, -1, -1, 1]
    with pytest.raises(LswError, match="not a class"):
        place(TrustedSet("ds", "verified", {"a": "cow"}), ["a"], ["cat", "dog"])
    with pytest.raises(LswError, match="not a trusted set"):
        (tmp_path / "x.json").write_text("[]")
        TrustedSet.read(tmp_path / "x.json")


def test_wilson_interval_and_queue_stats():
    p, lo, hi = wilson(9, 10)
    assert p == 0.9 and round(lo, 3) == 0.596 and round(hi, 3) == 0.982  # textbook values
    from lsw.store import Decision

    d = lambda sid, a: Decision(1, "ds", sid, "ann", "t", a, None, None, None, None, None, None)  # noqa: E731
    final = {"a": d("a", "relabel"), "b": d("b", "exclude"), "c": d("c", "correct"), "z": d("z", "relabel")}
    q = queue_stats(["a", "b", "c", "d", "e", "f"], final)
    assert (q.flagged, q.reviewed, q.measured, q.wrong, q.unreviewed) == (6, 3, 3, 2, 3)
    assert q.precision == pytest.approx(2 / 3) and q.expected_left == pytest.approx(2.0)
    assert q.left_low < 2.0 < q.left_high
    assert queue_stats(["a"], {}).precision is None
    # a later round's queue: decisions carried from an earlier run count as reviewed, not in its precision
    on = lambda sid, a, run: Decision(1, "ds", sid, "ann", "t", a, None, None, None, None, run, None)  # noqa: E731
    final = {"a": on("a", "correct", "r1"), "b": on("b", "correct", "r1"), "c": on("c", "relabel", "r2")}
    q = queue_stats(["a", "b", "c", "d"], final, run_id="r2")
    assert (q.reviewed, q.measured, q.wrong, q.unreviewed, q.precision) == (3, 1, 1, 1, 1.0)
    assert queue_stats(["a", "b", "d"], final, run_id="r2").precision is None  # none made on r2 yet


def test_verified_round_then_next_round_from_its_reviews(tmp_path):
    from lsw.data import load_source

    src = load_source("digits", progress=False)
    s = ReviewStore(tmp_path / "r.sqlite")
    fp = src.fingerprint
    # verify 10 per class; relabel one (to a wrong-on-purpose class, so we can see it travel), exclude one
    rows = verify_sample(src.train.labels, src.train.num_classes, 10, seed=0)
    names = [src.train.classes[k] for k in src.train.labels[rows]]
    ids = [src.train.ids[r] for r in rows]
    for sid, name in zip(ids[2:], names[2:]):
        s.record(fp, sid, "ann", "correct", old_label=name, given_label=name)
    s.record(fp, ids[0], "ann", "relabel", old_label=names[0], new_label="7", given_label=names[0])
    s.record(fp, ids[1], "ann", "exclude", given_label=names[1])
    ts = apply_decisions(TrustedSet(fp, "verified"), s.final_states(fp), ids)
    ts.write(tmp_path / "verified.json")
    r1 = RunDir(tmp_path / "r1")
    cfg = RunConfig(**{**TINY, "max_samples": None}, trusted=str(tmp_path / "verified.json"))
    summary = run_audit(cfg, r1.path)
    assert summary["clean_set"] == "verified" and summary["unverified"] == 0
    smp = r1.samples()
    trusted_ids = set(smp["ids"][np.concatenate([smp["clean_index"], smp["val_index"]])])
    in_run = lambda smp: set(smp["ids"][np.concatenate([smp["noisy_index"], smp["clean_index"],  # noqa: E731
                                                         smp["val_index"]])])
    assert trusted_ids == set(ids[2:]) | {ids[0]} and ids[1] not in in_run(smp)
    row0 = list(smp["ids"]).index(ids[0])
    assert smp["classes"][smp["labels"][row0]] == "7"  # D^c holds the reviewer's label
    assert r1.trusted_set().labels == ts.labels

    table = r1.sample_table()
    flagged = table[table.flagged]
    assert len(flagged) >= 4
    acts = ["relabel", "correct", "exclude", "ambiguous"]
    for (_, row), act in zip(flagged.iloc[:4].iterrows(), acts):
        s.record(fp, row.id, "bob", act, old_label=row.label_name, given_label=row.label_name,
                 new_label="3" if act == "relabel" else None)
    cfg2 = next_round(r1, s, tmp_path / "r2-trusted.json")
    assert (cfg2.round, cfg2.parent_run) == (2, str(r1.path.resolve()))
    r2 = RunDir(tmp_path / "r2")
    run_audit(cfg2, r2.path)
    c2, s2 = r2.config(), r2.samples()
    assert c2["parent_run"] == str(r1.path.resolve()) and c2["round"] == 2 and r2.parent() == RunDir(r1.path.resolve())
    sid = lambda i: flagged.iloc[i].id  # noqa: E731
    in_trusted = set(s2["ids"][np.concatenate([s2["clean_index"], s2["val_index"]])])
    audited = set(s2["ids"][s2["noisy_index"]])
    position = {str(x): k for k, x in enumerate(s2["ids"])}
    # D^c keeps its representative sample; the queue's reviews are trained on with their labels, in D^n
    assert in_trusted == trusted_ids and {sid(0), sid(1)} <= audited
    assert TrustedSet.read(tmp_path / "r2-trusted.json").reviewed == {sid(0): "3", sid(1): flagged.iloc[1].label_name}
    assert s2["classes"][s2["labels"][position[sid(0)]]] == "3"  # trained on the reviewer's label
    assert s2["given_labels"][position[sid(0)]] == smp["labels"][position[sid(0)]]  # given the one they saw
    alpha2 = r2.sample_table().set_index("id").alpha
    assert alpha2[sid(0)] == 1.0 and alpha2[sid(1)] == 1.0  # a reviewed label's weight is not learned again
    assert alpha2[sid(3)] != 1.0  # an ambiguous one's is
    assert sid(2) not in in_run(s2) and ids[1] not in in_run(s2)  # excluded, in both rounds
    assert sid(3) in set(s2["ids"][s2["noisy_index"]])  # ambiguous: audited, not trusted
    rounds = round_rows(r2, s)
    assert [r.round for r in rounds] == [1, 2] and rounds[0].reviewed == 4
    # a relabeled sample trains on its new label in the trusted set, and its export still carries the decision:
    # given the label the reviewer saw, final the reviewer's (it was the original label, the correction lost)
    from lsw.export import corrected_labels

    relabels = {ids[0]: ("trusted", "7")}
    for run, relabeled in ((r1, relabels), (r2, {**relabels, sid(0): ("audited", "3")})):
        export = corrected_labels(run, s).set_index("id")
        for i, (where, new) in relabeled.items():
            row = export.loc[i]
            assert (row["set"], row.action, row.final_label, row.given_label) == (
                where, "relabel", new, row.original_label), (run.path.name, i)
    # the round-2 queue counts the reviewed samples as reviewed (their decisions are keyed by the given label)
    table2 = r2.sample_table()
    final2 = s.final_states(fp, given_labels(table2))
    assert {sid(0), sid(1), sid(3)} <= set(final2)


def test_cli_warns_of_an_unverified_clean_set_and_runs_the_next_round(tmp_path):
    def lsw(*args):
        return subprocess.run([sys.executable, "-m", "lsw", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)

    r = lsw("run", "--data", "digits", "--epochs", "1", "--max-samples", "500", "--clean-per-class", "5",
            "--device", "cpu", "--out", str(tmp_path / "r1"))
    assert r.returncode == 0, r.stderr
    assert "WARNING: the clean set is taken from unverified labels (50 of its 50" in r.stdout
    r = lsw("run", "--from-run", str(tmp_path / "r1"), "--reviews", str(tmp_path / "none.sqlite"),
            "--out", str(tmp_path / "r2"))
    assert r.returncode == 2 and "no review log" in r.stderr
    fp = json.loads((tmp_path / "r1" / "config.json").read_text())["fingerprint"]
    row = RunDir(tmp_path / "r1").sample_table().iloc[0]
    ReviewStore(tmp_path / "r.sqlite").record(fp, row.id, "ann", "correct", old_label=row.label_name,
                                              given_label=row.label_name)
    r = lsw("run", "--from-run", str(tmp_path / "r1"), "--reviews", str(tmp_path / "r.sqlite"),
            "--out", str(tmp_path / "r2"))
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path / "r2" / "config.json").read_text())
    assert cfg["round"] == 2 and cfg["parent_run"].endswith("r1") and cfg["max_samples"] == 500
    # the reviewed sample is trained on with its label in D^n; D^c is still the 50 unverified ones
    assert "WARNING: the clean set is taken from unverified labels (50 of its 50" in r.stdout
    assert TrustedSet.read(tmp_path / "r2" / "trusted.json").reviewed == {str(row.id): row.label_name}
