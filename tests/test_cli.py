"""The command line: a real run, the export, and one-line errors with a non-zero exit."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lsw(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "lsw", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_run_and_export(tmp_path):
    out = tmp_path / "run"
    r = lsw("run", "--data", "digits", "--noise", "symmetric:0.3", "--clean-per-class", "10", "--epochs", "3",
            "--retrain-epochs", "1", "--device", "cpu", "--out", str(out))
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    for key in ("auc", "f1", "fdr", "recall", "test_acc", "retrain_test_acc", "noise_rate", "n_noisy", "n_clean",
                "epochs", "seconds", "device"):
        assert key in summary, key
    assert summary["device"] == "cpu" and summary["epochs"] == 3
    assert "AUC" in r.stdout and "test acc (retrained)" in r.stdout
    assert (out / "alpha.npy").exists() and (out / "loss.npy").exists()

    r = lsw("export", "--run", str(out), "--out", str(tmp_path / "labels.csv"), "--reviews", str(tmp_path / "none"))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "labels.csv")))
    assert len(rows) == summary["n_noisy"] + summary["n_clean"] + summary["n_val"]
    from lsw.export import COLUMNS

    assert list(rows[0]) == COLUMNS


def test_no_eval_test_skips_the_test_split_during_training(tmp_path):
    out = tmp_path / "run"
    r = lsw("run", "--data", "digits", "--noise", "symmetric:0.3", "--clean-per-class", "10", "--epochs", "2",
            "--second-pass", "0", "--no-eval-test", "--device", "cpu", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["eval_test"] is False
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(rec["test_acc"] is None for rec in records)


def test_export_writes_the_reviewers_decisions_from_the_dashboards_log(tmp_path):
    # bug f: `python -m lsw export` wrote no decisions and no final labels; it reads the dashboard's
    # review log by default ($LSW_HOME/reviews.sqlite) or the one given with --reviews
    from lsw.rundir import RunDir
    from lsw.store import ReviewStore

    out = tmp_path / "run"
    assert lsw("run", "--data", "digits", "--clean-per-class", "10", "--epochs", "1", "--device", "cpu",
               "--out", str(out)).returncode == 0
    run = RunDir(out)
    table = run.sample_table()
    row = table.iloc[0]
    new = next(c for c in run.info().classes if c != row.label_name)
    with ReviewStore(tmp_path / "home" / "reviews.sqlite") as store:
        store.record(run.info().dataset, row.id, "ann", "relabel", old_label=row.label_name, new_label=new,
                     given_label=row.label_name)
    env = {**os.environ, "LSW_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-m", "lsw", "export", "--run", str(out), "--out", str(tmp_path / "a.csv")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    by_id = {d["id"]: d for d in csv.DictReader(open(tmp_path / "a.csv"))}
    got = by_id[row.id]
    assert (got["action"], got["final_label"], got["reviewer"], got["original_label"]) == \
        ("relabel", new, "ann", row.label_name)
    assert got["time"].endswith("Z") and float(got["trust"]) == pytest.approx(row.trust, abs=1e-5)
    r = lsw("export", "--run", str(out), "--out", str(tmp_path / "b.csv"), "--reviews",
            str(tmp_path / "home" / "reviews.sqlite"))
    assert r.returncode == 0 and open(tmp_path / "b.csv").read() == open(tmp_path / "a.csv").read()


def test_export_does_not_import_torch_and_research_commands_load_on_demand(tmp_path):
    code = ("import sys; from lsw.cli import main, build_parser; build_parser('run'); "
            "print('torch' in sys.modules, 'lsw.research.bench' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.stdout.split() == ["False", "False"], r.stderr
    r = lsw("bench", "--help")
    assert r.returncode == 0 and "--batch-sizes" in r.stdout


def one_line_error(r):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def test_missing_folder_is_one_line(tmp_path):
    msg = one_line_error(lsw("run", "--data", f"folder:{tmp_path}/nope", "--out", str(tmp_path / "r")))
    assert "nope" in msg


def test_csv_without_label_column(tmp_path):
    (tmp_path / "m.csv").write_text("path,klass\na.png,cat\n")
    msg = one_line_error(lsw("run", "--data", f"csv:{tmp_path}/m.csv", "--out", str(tmp_path / "r")))
    assert "label" in msg


def test_bad_noise_rate(tmp_path):
    msg = one_line_error(lsw("run", "--noise", "symmetric:1.5", "--out", str(tmp_path / "r")))
    assert "1.5" in msg


@pytest.mark.parametrize("size", ["7", "513"])
def test_image_size_out_of_range_writes_nothing(tmp_path, size):
    msg = one_line_error(lsw("run", "--image-size", size, "--out", str(tmp_path / "r")))
    assert f"image size {size} is out of range" in msg and not (tmp_path / "r").exists()


@pytest.mark.parametrize("keep", ["1.5", "-0.2"])
def test_second_pass_share_out_of_range_writes_nothing(tmp_path, keep):
    msg = one_line_error(lsw("run", "--second-pass", keep, "--out", str(tmp_path / "r")))
    assert "--second-pass" in msg and keep in msg and not (tmp_path / "r").exists()


def test_damaged_decode_cache_is_one_line(tmp_path):
    from PIL import Image

    for c in "ab":
        for i in range(3):
            (tmp_path / "imgs" / c).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (20, 20), (40 * i, 100, 0)).save(tmp_path / "imgs" / c / f"{i}.png")
    env = {**os.environ, "LSW_CACHE_DIR": str(tmp_path / "cache")}
    run = ["run", "--data", f"folder:{tmp_path}/imgs", "--clean-per-class", "1"]
    decode = subprocess.run([sys.executable, "-c", f"from lsw.data import load_source; "
                             f"load_source('folder:{tmp_path}/imgs', progress=False)"], cwd=ROOT, env=env)
    assert decode.returncode == 0
    pixels = next((tmp_path / "cache").glob("*.u8"))
    pixels.write_bytes(pixels.read_bytes()[:-1])
    r = subprocess.run([sys.executable, "-m", "lsw", *run, "--out", str(tmp_path / "r")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert "truncated or damaged" in one_line_error(r)


def test_unknown_model(tmp_path):
    msg = one_line_error(lsw("run", "--model", "vgg99", "--epochs", "1", "--out", str(tmp_path / "r")))
    assert "vgg99" in msg


def test_existing_run_is_not_overwritten(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text("{}")
    msg = one_line_error(lsw("run", "--epochs", "1", "--out", str(tmp_path / "r")))
    assert "--resume" in msg
    assert (tmp_path / "r" / "config.json").read_text() == "{}"


def test_export_without_run(tmp_path):
    msg = one_line_error(lsw("export", "--run", str(tmp_path / "none"), "--out", str(tmp_path / "x.csv")))
    assert "none" in msg


def test_unreadable_image_is_skipped_and_the_run_goes_on(tmp_path):
    from PIL import Image

    for c in ("cat", "dog"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(12):
            Image.new("L", (8, 8), 20 * i if c == "cat" else 255 - 20 * i).save(tmp_path / "imgs" / c / f"{i}.png")
    (tmp_path / "imgs" / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    r = lsw("run", "--data", f"folder:{tmp_path}/imgs", "--clean-per-class", "2", "--epochs", "1", "--device", "cpu",
            "--out", str(tmp_path / "r"))
    assert r.returncode == 0, r.stderr
    assert "skipped 1 input(s)" in r.stdout and "dog/broken.png" in r.stdout
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["n_noisy"] == 20


def test_unknown_label_in_the_clean_set(tmp_path):
    from PIL import Image

    for name in ("a.png", "b.png", "c.png"):
        Image.new("L", (8, 8)).save(tmp_path / name)
    (tmp_path / "m.csv").write_text("path,label,trusted\na.png,cat,1\nb.png,dog,0\nc.png,bird,1\n")
    msg = one_line_error(lsw("run", "--data", f"csv:{tmp_path}/m.csv", "--out", str(tmp_path / "r")))
    assert "bird" in msg and "row 4" in msg


def test_export_neutralises_formula_cells(tmp_path):
    from PIL import Image

    for c in ("=cmd", "@dog"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (8, 8), 30 * i).save(tmp_path / "imgs" / c / f"{i}.png")
    out = tmp_path / "r"
    assert lsw("run", "--data", f"folder:{tmp_path}/imgs", "--clean-per-class", "1", "--epochs", "1", "--device",
               "cpu", "--out", str(out)).returncode == 0
    assert lsw("export", "--run", str(out), "--out", str(tmp_path / "x.csv")).returncode == 0
    rows = list(csv.DictReader(open(tmp_path / "x.csv", newline="")))
    assert {r["given_label"] for r in rows} == {"'=cmd", "'@dog"}
    assert all(r["id"].startswith("'") for r in rows)


def test_export_of_a_real_run_does_not_import_torch(tmp_path):
    out = tmp_path / "run"
    assert lsw("run", "--data", "digits", "--clean-per-class", "10", "--epochs", "1", "--device", "cpu",
               "--out", str(out)).returncode == 0
    argv = ["export", "--run", str(out), "--out", str(tmp_path / "x.csv"), "--reviews", str(tmp_path / "none")]
    code = f"import sys; from lsw.cli import main; rc = main({argv!r}); print(rc, 'torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.stdout.split()[-2:] == ["0", "False"], r.stdout + r.stderr
