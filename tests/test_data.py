"""Data sources on generated files, including the bad input an audit tool exists to clean."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from lsw.data import builtin_sources, load_source
from lsw.data.builtin import load_cifar10
from lsw.errors import LswError


def png(path, size=(8, 8), mode="RGB", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode != "RGB" else (value, value // 2, 0)).save(path)
    return path


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def make_tree(root):
    for i in range(3):
        png(root / "cat" / f"c{i}.png")
        png(root / "dog" / f"d{i}.jpg", value=40)
    return root


def test_digits_and_builtins():
    s = load_source("digits")
    assert s.train.images.shape[1:] == (1, 8, 8) and s.train.images.dtype == np.uint8
    assert len(s.train) + len(s.test) == 1797 and not s.train.hflip
    assert "digits" in builtin_sources()


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"), reason="dataset-fashion-mnist missing")
def test_fashion_mnist():
    s = load_source("fashion-mnist")
    assert s.train.images.shape == (60000, 1, 28, 28) and s.test.images.shape == (10000, 1, 28, 28)
    assert s.train.classes[9] == "Ankle boot"


def test_folder_loads_and_caches(tmp_path, cache, monkeypatch):
    root = make_tree(tmp_path / "imgs")
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert s.train.classes == ["cat", "dog"] and s.train.images.shape == (6, 3, 8, 8)
    assert s.train.ids[0] == "cat/c0.png"
    import lsw.data.files as files

    monkeypatch.setattr(files, "decode_file", lambda p: (_ for _ in ()).throw(AssertionError("decoded again")))
    again = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert np.array_equal(again.train.images, s.train.images) and again.fingerprint == s.fingerprint


def test_folder_bad_files_are_skipped_and_listed(tmp_path, cache, monkeypatch):
    root = make_tree(tmp_path / "imgs")
    (root / "cat" / "empty.png").write_bytes(b"")
    (root / "cat" / "text.jpg").write_text("not an image")
    good = io.BytesIO()
    Image.new("RGB", (8, 8)).save(good, format="JPEG")
    (root / "dog" / "truncated.jpg").write_bytes(good.getvalue()[:40])
    (root / "dog" / "notes.txt").write_text("ignored")
    outside = png(tmp_path / "elsewhere.png")
    (root / "dog" / "link.png").symlink_to(outside)
    png(root / "dog" / "big.png", size=(64, 64))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x64 = 4096 > 2x limit: a "bomb"
    (root / "bird").mkdir()
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    reasons = dict(s.train.skipped)
    assert reasons["cat/empty.png"] == "empty file (0 bytes)"
    assert reasons["cat/text.jpg"] == "not an image file"
    assert reasons["dog/truncated.jpg"].startswith("corrupt or truncated")
    assert reasons["dog/link.png"] == "symlink points outside the data folder"
    assert reasons["dog/big.png"] == "too large (decompression bomb limit)"
    assert reasons["bird/"].startswith("no usable image")
    assert len(s.train) == 6 and s.train.classes == ["cat", "dog"]


def test_folder_modes_and_sizes(tmp_path, cache):
    root = tmp_path / "imgs"
    png(root / "a" / "grey.png", mode="L", value=200)
    png(root / "a" / "rgba.png", mode="RGBA", value=(255, 0, 0, 255))
    Image.new("P", (8, 8)).save(root / "a" / "pal.png")
    (root / "b").mkdir()
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(root / "b" / "deep.png")
    png(root / "b" / "wide.png", size=(16, 4))
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert s.train.images.shape == (5, 3, 8, 8)
    by_id = dict(zip(s.train.ids, s.train.images))
    assert by_id["b/deep.png"].max() == 255 and by_id["a/grey.png"][0, 0, 0] == 200
    assert tuple(by_id["a/rgba.png"][:, 0, 0]) == (255, 0, 0)


def test_all_grey_stays_one_channel(tmp_path, cache):
    root = tmp_path / "imgs"
    png(root / "a" / "x.png", mode="L")
    png(root / "b" / "y.png", mode="L")
    assert load_source(f"folder:{root}", cache_dir=cache, progress=False).train.images.shape == (2, 1, 8, 8)


@pytest.mark.parametrize("setup,match", [
    (lambda r: None, "does not exist"),
    (lambda r: r.mkdir(), "no class sub-folders"),
    (lambda r: png(r / "only" / "x.png"), "at least 2 classes"),
])
def test_folder_refusals(tmp_path, cache, setup, match):
    root = tmp_path / "imgs"
    setup(root)
    with pytest.raises(LswError, match=match):
        load_source(f"folder:{root}", cache_dir=cache, progress=False)


def manifest(tmp_path, text, images=("a.png", "b.png", "c.png", "d.png")):
    for name in images:
        png(tmp_path / name)
    path = tmp_path / "m.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_manifest_with_bom_quotes_trusted_and_truth(tmp_path, cache):
    png(tmp_path / "x, y.png")
    path = manifest(tmp_path, "\ufeffpath,label,trusted,true_label\na.png,cat,1,cat\nb.png,dog,1,dog\n"
                              "c.png,cat,0,dog\n\"x, y.png\",dog,0,dog\nmissing.png,cat,0,cat\n")
    s = load_source(f"csv:{path}", cache_dir=cache, progress=False)
    assert s.train.ids == ["a.png", "b.png", "c.png", "x, y.png"]
    assert list(s.train.trusted) == [True, True, False, False]
    assert list(s.train.true_labels) == [0, 1, 1, 1]
    assert s.train.skipped == [("row 6: missing.png", "file not found")]


@pytest.mark.parametrize("text,match", [
    ("", "is empty"),
    ("path,klass\na.png,cat\n", "no column 'label'"),
    ("path,label,trusted\na.png,cat,yes\n", r"row 2: trusted must be 0 or 1, got 'yes'"),
    ("path,label\na.png,cat\na.png,dog\n", "rows 2 and 3 both list a.png"),
    ("path,label\n../a.png,cat\n", "outside the manifest's folder"),
    ("path,label\n/etc/passwd,cat\n", "outside the manifest's folder"),
    ("path,label\na.png,\n", "row 2: the label cell is empty"),
    ("path,label,trusted\na.png,cat,1\nb.png,dog,0\nc.png,bird,1\n", "label 'bird' appears only in trusted rows"),
])
def test_manifest_refusals(tmp_path, cache, text, match):
    path = manifest(tmp_path, text)
    with pytest.raises(LswError, match=match):
        load_source(f"csv:{path}", cache_dir=cache, progress=False)


def test_unknown_spec_and_missing_paths(tmp_path):
    with pytest.raises(LswError, match="unknown data source"):
        load_source("imagenet")
    with pytest.raises(LswError, match="needs a path"):
        load_source("folder")
    with pytest.raises(LswError, match="apt-get install dataset-fashion-mnist"):
        load_source(f"fashion-mnist:{tmp_path}/none")


def test_packed_cifar_format(tmp_path, cache):
    blobs, rng = [], np.random.default_rng(0)
    for _ in range(4):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, format="JPEG")
        blobs.append(np.frombuffer(buf.getvalue(), np.uint8))
    offsets = np.cumsum([0] + [len(b) for b in blobs])
    np.savez(tmp_path / "c.npz", train_jpeg=np.concatenate(blobs), train_offsets=offsets,
             train_labels=np.array([0, 1, 0, 1], np.int16), test_jpeg=np.concatenate(blobs[:2]),
             test_offsets=offsets[:3], test_labels=np.array([1, 0], np.int16), classes=np.array(["a", "b"]))
    s = load_cifar10(tmp_path / "c.npz", cache, progress=False)
    assert s.train.images.shape == (4, 3, 32, 32) and s.test.images.shape == (2, 3, 32, 32)
    assert list(s.train.labels) == [0, 1, 0, 1] and s.train.classes == ["a", "b"]
