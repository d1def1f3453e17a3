"""The corrected-labels CSV: columns, final labels per action, formula neutralisation, numbers that stay
numbers, UTF-8, and an atomic write."""
import csv
import io
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsw.errors import LswError
from lsw.export import COLUMNS, DANGEROUS, export_rows, neutralise, to_csv_bytes, write_csv
from lsw.store import Decision, ReviewStore

SAMPLES = pd.DataFrame({
    "id": ["a", "b", "c", "d", "e", "f"],
    "path": ["a.png", "b.png", "c.png", "=cmd|' /C calc'!A0", "e.png", "f.png"],
    "label": ["cat", "dog", "cat", "-dog", "cat", "cat"],
    "alpha": [0.1, 0.9, 0.2, 0.5, 0.0, 1.0],
    "loss": [-1.5, 0.1, 3.0, 0.2, 1.0, 2.0],
    "pred": ["dog", "dog", "cat", "@x", "cat", "dog"],
    "flagged": [True, False, True, False, True, True],
    "extra": ["ignored"] * 6,
})


def decision(sid, action, new_label=None, reviewer="ann", i=1):
    return Decision(i, "ds", sid, reviewer, "2024-05-01T12:00:00.000000Z", action, None, new_label, None,
                    None, None, None)


COL = {c: i for i, c in enumerate(COLUMNS)}


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def assert_text_cells_safe(rows: list[list[str]]) -> None:
    """No text cell (every column but alpha, loss, flagged) starts with a formula character."""
    text = [i for i, c in enumerate(COLUMNS) if c not in ("alpha", "trust", "loss", "flagged")]
    for row in rows:
        bad = [row[i] for i in text if row[i].startswith(DANGEROUS)]
        assert not bad, row


def test_columns_and_final_label_per_action(tmp_path):
    s = ReviewStore(tmp_path / "r.sqlite")
    s.record("ds", "a", "ann", "relabel", old_label="cat", new_label="dog")
    s.record("ds", "b", "bob", "correct", old_label="dog")
    s.record("ds", "c", "ann", "exclude")
    s.record("ds", "d", "ann", "ambiguous")
    s.record("ds", "f", "ann", "relabel", old_label="cat", new_label="bird")
    s.record("ds", "f", "ann", "exclude")
    s.undo_last("ds", "ann")  # f: back to the relabel
    df = export_rows(SAMPLES, s.final_states("ds"))
    assert list(df.columns) == COLUMNS
    assert list(df["id"]) == list(SAMPLES["id"])
    assert list(df["original_label"]) == ["cat", "dog", "cat", "'-dog", "cat", "cat"]
    assert list(df["final_label"]) == ["dog", "dog", "", "'-dog", "cat", "bird"]
    assert list(df["action"]) == ["relabel", "correct", "exclude", "ambiguous", "", "relabel"]
    assert list(df["reviewer"]) == ["ann", "bob", "ann", "ann", "", "ann"]
    assert df.loc[4, "time"] == "" and df.loc[0, "time"].endswith("Z")
    assert list(df["predicted_label"]) == ["dog", "dog", "cat", "'@x", "cat", "dog"]
    assert list(df["flagged"]) == [True, False, True, False, True, True]
    s.close()


def test_dangerous_cells_get_one_quote():
    for bad in ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "=HYPERLINK(\"http://e.vil\")"]:
        assert neutralise(bad) == "'" + bad
        assert neutralise(neutralise(bad)) == "'" + bad  # idempotent
    for fine in ["cat", "", "x=1", "a-b", " =x", "'=x"]:
        assert neutralise(fine) == fine
    for number in [-1.5, -3, 0, None, True]:
        assert neutralise(number) is number


def test_every_user_controlled_text_cell_is_neutralised():
    samples = SAMPLES.assign(path=["+p.png"] * 6, label=["=1+1"] * 6, pred=["@SUM(A1)"] * 6)
    final = {"a": decision("a", "relabel", "-x", reviewer="=evil"), "c": decision("c", "exclude")}
    df = export_rows(samples, final)
    assert df.loc[0, ["path", "original_label", "final_label", "reviewer", "predicted_label"]].tolist() == \
        ["'+p.png", "'=1+1", "'-x", "'=evil", "'@SUM(A1)"]
    assert df.loc[1, "final_label"] == "'=1+1"
    assert_text_cells_safe(parse(to_csv_bytes(df)))


def test_numbers_stay_numbers(tmp_path):
    samples = SAMPLES.assign(id=[10, 11, 12, 13, 14, 15], loss=[-1.5, -0.25, 3.0, -2e-7, 1.0, 2.0])
    df = export_rows(samples, {"10": decision("10", "exclude")})  # ids looked up as strings
    assert df.loc[0, "action"] == "exclude"
    assert df["loss"].dtype == float and df.loc[0, "loss"] == -1.5
    assert df["alpha"].dtype == float and df["flagged"].dtype == bool
    assert df.loc[0, "id"] == 10
    data = to_csv_bytes(df)
    rows = parse(data)
    assert rows[1][0] == "10" and rows[1][COL["loss"]] == "-1.5"  # no quote in front of a negative number
    back = pd.read_csv(write_csv(df, tmp_path / "x.csv"), keep_default_na=False)
    assert back["loss"].dtype == float and back.loc[0, "loss"] == -1.5 and back.loc[3, "loss"] == -2e-7
    assert back["id"].tolist() == [10, 11, 12, 13, 14, 15]


def test_missing_values_are_empty_cells():
    samples = SAMPLES.assign(path=[None, "b", "c", "d", "e", "f"], alpha=[float("nan")] + [0.5] * 5)
    df = export_rows(samples, {})
    rows = parse(to_csv_bytes(df))
    assert rows[0] == COLUMNS
    assert rows[1][1] == "" and rows[1][COL["alpha"]] == ""
    assert len(rows) == 1 + len(SAMPLES)


def test_missing_column_is_a_clear_error():
    with pytest.raises(LswError, match="pred"):
        export_rows(SAMPLES.drop(columns=["pred"]), {})


def test_csv_is_utf8_with_header_and_no_index():
    df = export_rows(SAMPLES.assign(label=["café", "猫", "dog", "x", "y", "z"]), {})
    data = to_csv_bytes(df)
    assert not data.startswith(b"\xef\xbb\xbf")  # no BOM
    text = data.decode("utf-8")
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert text.splitlines()[1].startswith("a,a.png,audited,café,café,café,")


def test_to_csv_bytes_guards_any_frame():
    rows = parse(to_csv_bytes(pd.DataFrame({"=h": ["=1+1", "ok"], "n": [-1, 2]})))
    assert rows == [["'=h", "n"], ["'=1+1", "-1"], ["ok", "2"]]


TEXT = st.text(max_size=30)


@settings(max_examples=100, deadline=None)
@given(path=TEXT, label=TEXT, pred=TEXT, reviewer=TEXT, new_label=TEXT,
       action=st.sampled_from(["relabel", "correct", "exclude", "ambiguous", None]))
def test_no_cell_starts_with_a_formula_character(path, label, pred, reviewer, new_label, action):
    samples = pd.DataFrame({"id": ["x", "-y"], "path": [path, path], "label": [label, label],
                            "alpha": [-0.5, 0.5], "loss": [-1.0, 1.0], "pred": [pred, pred],
                            "flagged": [True, False]})
    final = {} if action is None else {"x": decision("x", action, new_label, reviewer)}
    rows = parse(to_csv_bytes(export_rows(samples, final)))
    assert len(rows) == 3 and all(len(r) == len(COLUMNS) for r in rows)  # no cell broke a row
    assert_text_cells_safe(rows)
    assert rows[1][1] == neutralise(path) and rows[1][COL["predicted_label"]] == neutralise(pred)  # content kept
    assert [rows[1][COL["alpha"]], rows[1][COL["loss"]]] == ["-0.5", "-1.0"]  # numbers stay numbers


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_neutralise_property(text):
    out = neutralise(text)
    assert not out.startswith(DANGEROUS)
    assert out in (text, "'" + text)


def test_write_csv_creates_folders_and_replaces(tmp_path):
    df = export_rows(SAMPLES, {})
    target = tmp_path / "a" / "b" / "labels.csv"
    assert write_csv(df, str(target)) == target
    assert target.read_bytes() == to_csv_bytes(df)
    os.chmod(target, 0o600)
    write_csv(df.head(2), target)
    assert len(parse(target.read_bytes())) == 3
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # an existing file keeps its mode
    assert sorted(p.name for p in target.parent.iterdir()) == ["labels.csv"]


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "labels.csv"
    target.write_text("old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_csv(export_rows(SAMPLES, {}), target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["labels.csv"]  # no temporary file left behind


def test_write_failure_midway_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "new.csv"

    def fail(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="fsync"):
        write_csv(export_rows(SAMPLES, {}), target)
    assert list(tmp_path.iterdir()) == []


# -- the export of a run: every sample, the source's own labels, decisions on the given label ------
@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory):
    from lsw.audit import run_audit
    from lsw.config import RunConfig
    from lsw.rundir import RunDir

    out = tmp_path_factory.mktemp("run") / "run"
    run_audit(RunConfig(data="digits", noise="symmetric:0.3", clean_per_class=10, epochs=1, device="cpu"), out)
    return RunDir(out)


def test_export_writes_the_sources_labels_as_original_even_with_synthetic_noise(noisy_run, tmp_path):
    # bug a: the flipped labels were written as original_label and as the final label of unreviewed rows
    from lsw.data import load_source
    from lsw.export import corrected_labels

    src = load_source("digits")
    truth = {i: src.train.classes[k] for i, k in zip(src.train.ids, src.train.labels)}
    with ReviewStore(tmp_path / "r.sqlite") as store:
        df = corrected_labels(noisy_run, store)
    assert list(df["original_label"]) == [truth[i] for i in df["id"]]
    assert list(df["final_label"]) == list(df["original_label"])  # nothing reviewed
    flipped = df["given_label"] != df["original_label"]
    assert 0.2 < flipped[df["set"] == "audited"].mean() < 0.4 and not flipped[df["set"] != "audited"].any()


def test_export_writes_every_sample_with_its_set(noisy_run, tmp_path):
    # bug b: the trusted samples were left out of the export
    from lsw.export import corrected_labels

    with ReviewStore(tmp_path / "r.sqlite") as store:
        df = corrected_labels(noisy_run, store)
    s = noisy_run.samples()
    assert len(df) == len(s["noisy_index"]) + len(s["clean_index"]) + len(s["val_index"]) == len(set(df["id"]))
    assert (df["set"] == "trusted").sum() + (df["set"] == "validation").sum() == 100  # 10 trusted per class
    assert (df["set"] == "validation").sum() == len(s["val_index"]) > 0
    trusted = df[df["set"] != "audited"]
    assert not trusted["flagged"].any() and trusted["trust"].between(0, 1).all()  # scored, never flagged
    assert trusted["alpha"].isna().all()  # the trusted set has no learned weight


def test_export_applies_a_decision_only_to_the_given_label_it_was_made_on(noisy_run, tmp_path):
    # bug j: a "keep as correct" recorded for one given label applied to another
    from lsw.export import corrected_labels

    info = noisy_run.info()
    table = noisy_run.sample_table()
    row = table[table["label_name"] != table["source_name"]].iloc[0]
    other = next(c for c in info.classes if c != row.label_name)
    with ReviewStore(tmp_path / "r.sqlite") as store:
        store.record(info.dataset, row.id, "ann", "relabel", old_label=other, new_label="0", given_label=other)
        assert corrected_labels(noisy_run, store).set_index("id").loc[row.id, "action"] == ""
        store.record(info.dataset, row.id, "ann", "correct", old_label=row.label_name, given_label=row.label_name)
        out = corrected_labels(noisy_run, store).set_index("id").loc[row.id]
    assert (out.action, out.final_label, out.given_label) == ("correct", row.label_name, row.label_name)


def test_export_streamed_in_chunks_equals_the_whole_export(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from big_run import make_run

    from lsw.export import corrected_labels, export_chunks, write_csv
    from lsw.store import ReviewStore

    run = make_run(tmp_path / "home", n=2_000, epochs=2)
    with ReviewStore(tmp_path / "r.sqlite") as store:
        sid = str(run.samples()["ids"][run.samples()["noisy_index"][5]])
        store.record(run.info().dataset, sid, "ann", "exclude")
        whole = write_csv(corrected_labels(run, store), tmp_path / "whole.csv").read_bytes()
        parts = list(export_chunks(run, store, chunk=300))
        streamed = write_csv(iter(parts), tmp_path / "streamed.csv").read_bytes()
    assert len(parts) == 7 and streamed == whole and whole.count(b"\r\n") == 2_001
    assert b",exclude,ann," in whole
    arrays = run.epoch_arrays(2)  # per-epoch arrays are read memory-mapped, one file per array
    assert isinstance(arrays["loss"], np.memmap) and (run.path / "epochs" / "0002" / "loss.npy").is_file()
