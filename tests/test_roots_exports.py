"""The data roots (what the dashboard may open) and the exports folder (where it may write)."""
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from lsw.errors import LswError
from lsw.exports import LEDGER, safe_name, write_export
from lsw.roots import check_spec, data_roots, inside


@pytest.fixture
def layout(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    for base in (root, outside):
        (base / "set" / "cat").mkdir(parents=True)
        (base / "set" / "cat" / "a.png").write_bytes(b"")
    return root, outside


def test_default_roots_are_the_start_folder_and_lsw_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LSW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LSW_DATA_ROOTS", raising=False)
    assert data_roots(cwd=tmp_path / "start") == [(tmp_path / "start").resolve(), (tmp_path / "home").resolve()]
    env = {"LSW_DATA_ROOTS": os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b"), str(tmp_path / "a")])}
    assert data_roots(env) == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]


def test_paths_outside_through_dotdot_and_symlinks_are_refused(layout):
    root, outside = layout
    roots = [root.resolve()]
    check_spec(f"folder:{root / 'set'}", roots)
    check_spec("digits", roots)
    with pytest.raises(LswError, match=r"outside the data roots \(" + str(root.resolve())):
        check_spec(f"folder:{outside / 'set'}", roots)
    with pytest.raises(LswError, match="outside the data roots"):
        check_spec(f"folder:{root}/set/../../outside/set", roots)
    (root / "link").symlink_to(outside / "set")
    with pytest.raises(LswError, match="outside the data roots"):
        check_spec(f"folder:{root / 'link'}", roots)
    with pytest.raises(LswError, match="outside the data roots"):
        check_spec("cifar10:/etc/passwd", roots)
    (root / "loop").symlink_to(root / "loop")
    assert not inside(root / "loop", roots)


def test_a_manifest_row_leaving_the_roots_is_refused(layout):
    root, outside = layout
    roots = [root.resolve()]
    good = root / "good.csv"
    good.write_text("path,label\nset/cat/a.png,cat\n")
    check_spec(f"csv:{good}", roots)
    bad = root / "bad.csv"
    bad.write_text(f"path,label\nset/cat/a.png,cat\n{outside / 'set/cat/a.png'},cat\n../outside/set/cat/c.png,cat\n")
    with pytest.raises(LswError, match=r"row 3: .* outside the data roots .*and 1 more row"):
        check_spec(f"csv:{bad}", roots)
    (root / "set" / "cat" / "b.png").symlink_to(outside / "set" / "cat" / "a.png")
    linked = root / "linked.csv"
    linked.write_text("path,label\nset/cat/b.png,cat\n")
    with pytest.raises(LswError, match="row 2: set/cat/b.png is outside"):
        check_spec(f"csv:{linked}", roots)


def frame(n=3):
    return pd.DataFrame({"id": [f"s{i}" for i in range(n)], "final_label": ["cat"] * n})


@pytest.mark.parametrize("name,expected", [("../../x.csv", "x.csv"), ("/etc/passwd", "etc_passwd.csv"),
                                           ("..", "labels.csv"), ("a b\\c.csv", "a_b_c.csv"),
                                           (".hidden", "hidden.csv"), ("run-1.CSV", "run-1.CSV"),
                                           ("-rf", "rf.csv"), ("x" * 300, "x" * 100 + ".csv")])
def test_export_names_are_plain_file_names(name, expected):
    assert safe_name(name) == expected


def test_export_name_with_dotdot_stays_in_the_exports_folder(tmp_path):
    home = tmp_path / "home"
    written = write_export(frame(), "../../x.csv", home)
    assert written == home / "exports" / "x.csv"
    assert not (tmp_path / "x.csv").exists() and not (home / "x.csv").exists()
    assert pd.read_csv(written).id.tolist() == ["s0", "s1", "s2"]


def test_only_unchanged_exports_of_the_app_are_replaced(tmp_path):
    home = tmp_path / "home"
    folder = home / "exports"
    first = write_export(frame(2), "labels.csv", home)
    assert write_export(frame(3), "labels.csv", home) == first  # its own export: replaced
    assert len(pd.read_csv(first)) == 3
    first.write_bytes(first.read_bytes() + b"edited by hand\r\n")
    with pytest.raises(LswError, match="not an unchanged export"):
        write_export(frame(1), "labels.csv", home)
    assert first.read_bytes().endswith(b"edited by hand\r\n")
    (folder / "notes.csv").write_text("someone else's file\n")
    with pytest.raises(LswError, match="not an unchanged export"):
        write_export(frame(1), "notes.csv", home)
    assert (folder / "notes.csv").read_text() == "someone else's file\n"
    json.loads((folder / LEDGER).read_text())  # the ledger stays valid JSON


def test_a_symlink_in_the_exports_folder_is_never_replaced_or_followed(tmp_path):
    home = tmp_path / "home"
    write_export(frame(), "labels.csv", home)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = home / "exports" / "link.csv"
    link.symlink_to(victim)
    with pytest.raises(LswError, match="symbolic link"):
        write_export(frame(), "link.csv", home)
    # even a link whose target is the app's own export
    (home / "exports" / "own.csv").symlink_to(home / "exports" / "labels.csv")
    with pytest.raises(LswError, match="symbolic link"):
        write_export(frame(), "own.csv", home)
    assert victim.read_text() == "keep me\n" and link.is_symlink()


def test_a_symlinked_exports_folder_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / "exports").symlink_to(elsewhere)
    with pytest.raises(LswError, match="exports folder .* symbolic link"):
        write_export(frame(), "labels.csv", home)
    assert list(Path(elsewhere).iterdir()) == []
