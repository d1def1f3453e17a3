"""Bad input to every data source: each case is either refused (LswError, one line naming the path,
row or value) or skipped and listed in LabeledImages.skipped. Property-based tests for manifests."""
import csv
import gzip
import io
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lsw.data import load_source
from lsw.data.fashion import read_idx
from lsw.errors import LswError

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def png_bytes(mode="RGB", size=(8, 8), value=(120, 60, 30), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, value).save(buf, format=fmt)
    return buf.getvalue()


GOOD_PNG = png_bytes()
GOOD_JPEG = png_bytes(fmt="JPEG")


def put(path: Path, data: bytes = GOOD_PNG) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tree(root: Path, n=2) -> Path:
    for i in range(n):
        put(root / "cat" / f"c{i}.png")
        put(root / "dog" / f"d{i}.jpg", GOOD_JPEG)
    return root


def load(spec: str, tmp_path: Path, **kw):
    return load_source(spec, cache_dir=tmp_path / "cache", progress=False, **kw)


def one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 400, msg
    return msg


# ---- image folders: refused ----------------------------------------------------------------------

@pytest.mark.parametrize("setup,match", [
    (lambda r: None, "imgs does not exist: give a folder with one sub-folder"),
    (lambda r: put(r), "imgs is a file, not a folder"),
    (lambda r: r.mkdir(), "has no class sub-folders: put each class"),
    (lambda r: [put(r / "a.png"), put(r / "b.png")],
     r"no class sub-folders \(found 2 image\(s\) lying directly"),
    (lambda r: [(r / "a").mkdir(parents=True), (r / "b").mkdir(), put(r / "a" / "x.txt", b"t")],
     r"has no images \(bmp, jpeg, jpg, png, webp\) in its 2 class sub-folder"),
    (lambda r: put(r / "only" / "x.png"),
     r"only one class folder \(only\): an audit needs at least 2 classes"),
    (lambda r: [put(r / "only" / "x.png"), (r / "empty").mkdir()], "needs at least 2 classes"),
    (lambda r: [put(r / "a" / "x.png"), put(r / "b" / "y.png", b"")], "needs at least 2 classes"),
    (lambda r: [put(r / "a" / "x.png", b"junk"), put(r / "b" / "y.png", b"")],
     "none of the 2 images in .* could be read; first: a/x.png: not an image file"),
])
def test_folder_refused(tmp_path, setup, match):
    root = tmp_path / "imgs"
    setup(root)
    with pytest.raises(LswError, match=match) as e:
        load(f"folder:{root}", tmp_path)
    one_line(e)


# ---- image folders: skipped and listed -----------------------------------------------------------

def test_folder_bad_files_are_skipped_and_listed(tmp_path, monkeypatch):
    root = tree(tmp_path / "imgs")
    put(root / "cat" / "empty.png", b"")
    put(root / "cat" / "text.jpg", b"hello, not an image")
    put(root / "dog" / "truncated.jpg", GOOD_JPEG[:len(GOOD_JPEG) // 2])
    bad_png = bytearray(png_bytes(size=(32, 32)))
    bad_png[-30:-20] = b"\0" * 10  # damage the image data (CRC mismatch)
    put(root / "dog" / "crc.png", bytes(bad_png))
    put(root / "dog" / "cut.png", png_bytes(size=(64, 64))[:60])
    put(root / "dog" / "notes.txt", b"ignored silently")
    put(root / "dog" / "README", b"ignored silently")
    put(root / "loose.png")
    (root / "bird").mkdir()
    s = load(f"folder:{root}", tmp_path)
    reasons = dict(s.train.skipped)
    assert reasons.pop("cat/empty.png") == "empty file (0 bytes)"
    assert reasons.pop("cat/text.jpg") == "not an image file"
    for name in ("dog/truncated.jpg", "dog/crc.png", "dog/cut.png"):
        assert reasons.pop(name).startswith("corrupt or truncated image ("), name
    assert reasons.pop("loose.png") == "not in a class sub-folder: ignored"
    assert reasons.pop("bird/") == "empty class folder: class dropped"
    assert reasons == {}
    assert len(s.train) == 4 and s.train.classes == ["cat", "dog"]


def test_class_with_only_bad_images_is_dropped(tmp_path):
    root = tree(tmp_path / "imgs")
    put(root / "eel" / "x.png", b"junk")
    s = load(f"folder:{root}", tmp_path)
    assert s.train.classes == ["cat", "dog"]
    assert ("eel/", "no usable image: class dropped") in s.train.skipped


def test_decompression_bomb_is_skipped(tmp_path, monkeypatch):
    root = tree(tmp_path / "imgs")
    put(root / "dog" / "bomb.png", png_bytes(size=(64, 64)))  # 4096 px > 2 x 1000: DecompressionBombError
    put(root / "dog" / "warn.png", png_bytes(size=(40, 40)))  # 1600 px > 1000: the warning, made an error
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    s = load(f"folder:{root}", tmp_path)
    reasons = dict(s.train.skipped)
    assert reasons["dog/bomb.png"] == "too large (decompression bomb limit)"
    assert reasons["dog/warn.png"] == "too large (decompression bomb limit)"
    assert len(s.train) == 4


def test_symlinks(tmp_path):
    root = tree(tmp_path / "imgs")
    outside = put(tmp_path / "elsewhere" / "secret.png")
    (root / "dog" / "out.png").symlink_to(outside)
    (root / "dog" / "in.png").symlink_to(root / "cat" / "c0.png")
    (root / "dog" / "dangling.png").symlink_to(root / "nowhere.png")
    (root / "dog" / "loop.png").symlink_to(root / "dog" / "loop.png")
    (root / "eel").symlink_to(outside.parent, target_is_directory=True)  # a class folder leading outside
    s = load(f"folder:{root}", tmp_path)
    reasons = dict(s.train.skipped)
    assert reasons["dog/out.png"] == "symlink points outside the data folder"
    assert reasons["eel/secret.png"] == "symlink points outside the data folder"
    assert reasons["dog/loop.png"] == "symlink points outside the data folder"  # unresolvable
    assert reasons["dog/dangling.png"] == "broken symlink"
    assert "dog/in.png" in s.train.ids  # a symlink inside the folder is fine
    assert s.train.classes == ["cat", "dog"] and ("eel/", "no usable image: class dropped") in s.train.skipped


def test_non_utf8_file_name_is_skipped(tmp_path):
    root = tree(tmp_path / "imgs")
    name = os.path.join(os.fsencode(root / "cat"), b"caf\xe9.png")
    with open(name, "wb") as f:
        f.write(GOOD_PNG)
    s = load(f"folder:{root}", tmp_path)
    assert s.train.skipped == [("cat/caf\ufffd.png", "file name is not valid UTF-8: rename it")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_skipped(tmp_path):
    root = tree(tmp_path / "imgs")
    p = put(root / "cat" / "locked.png")
    p.chmod(0)
    try:
        s = load(f"folder:{root}", tmp_path)
    finally:
        p.chmod(0o644)
    assert dict(s.train.skipped)["cat/locked.png"] == "cannot read (permission denied)"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200),
                      st.integers(0, len(GOOD_PNG)).map(lambda k: GOOD_PNG[:k]),
                      st.integers(0, len(GOOD_JPEG)).map(lambda k: GOOD_JPEG[:k]),
                      st.tuples(st.integers(0, len(GOOD_PNG) - 1), st.binary(min_size=1, max_size=8)).map(
                          lambda t: GOOD_PNG[:t[0]] + t[1] + GOOD_PNG[t[0] + len(t[1]):])),
       ext=st.sampled_from([".png", ".jpg", ".webp", ".bmp"]))
def test_any_bytes_are_loaded_or_skipped(tmp_path, data, ext):
    """Whatever bytes a file holds, the load goes on: the file is either an image or listed as skipped."""
    root = tree(tmp_path / f"f{abs(hash((data, ext)))}")
    put(root / "cat" / f"fuzz{ext}", data)
    s = load(f"folder:{root}", tmp_path)
    assert (f"cat/fuzz{ext}" in s.train.ids) != (f"cat/fuzz{ext}" in dict(s.train.skipped))
    assert s.train.images.dtype == np.uint8 and len(s.train) >= 4


# ---- CSV manifests -------------------------------------------------------------------------------

def write_manifest(folder: Path, text: str | bytes, name="m.csv") -> Path:
    for n in ("a.png", "b.png", "c.png"):
        put(folder / n)
    path = folder / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("text,match", [
    ("", "m.csv is empty: it needs a header row naming the columns path,label"),
    ("\n \n", "is empty"),
    ("path,klass\na.png,cat\n", "has no column 'label'; found 'path', 'klass': the header must"),
    ("file,label\na.png,cat\n", "has no column 'path'; found 'file', 'label'"),
    ("path;label\na.png;cat\n", "seems to use another separator"),
    ("path,label,label\na.png,cat,dog\n", "column 'label' appears more than once"),
    ("path,label,trusted\na.png,cat,yes\nb.png,dog,0\n", r"row 2: trusted must be 0 or 1, got 'yes'"),
    ("path,label,trusted\na.png,cat,0\nb.png,dog,2\n", r"row 3: trusted must be 0 or 1, got '2'"),
    ("path,label\na.png,cat\nb.png,dog\na.png,dog\n", "rows 2 and 4 both list a.png"),
    ("path,label\na.png,cat\n./a.png,dog\n", "rows 2 and 3 both list ./a.png"),
    ("path,label\n../a.png,cat\nb.png,dog\n", "row 2: ../a.png is outside the manifest's folder"),
    ("path,label\nb.png,dog\nsub/../../a.png,cat\n", "row 3: sub/../../a.png is outside"),
    ("path,label\n/etc/hostname,cat\nb.png,dog\n", "row 2: /etc/hostname is outside .* LSW_ALLOW_OUTSIDE=1"),
    ("path,label\na.png,\nb.png,dog\n", "row 2: the label cell is empty"),
    ("path,label\na.png,cat\n,dog\n", "row 3: the path cell is empty"),
    ("path,label,true_label\na.png,cat,cat\nb.png,dog,\n", "row 3: the true_label cell is empty"),
    ("path,label\na.png,cat,\n", "lists no images|at least 2 classes"),
    ("path,label\n", "lists no images: add rows"),
    ("path,label\na.png, cat \nb.png,cat\n", "all have the label 'cat': an audit needs at least 2 classes"),
    ("path,label\na, b.png,cat\n", "row 2 has 3 cells but the header has 2: put paths or labels that contain "
                                   "commas in double quotes"),
    ("path,label\n\"a.png,cat\nb.png,dog\n", "row 2: not valid CSV \\(unexpected end of data\\)"),
    ("path,label\n\"a\"b.png,cat\nb.png,dog\n", "row 2: not valid CSV"),
    ("path,label\na.png,cat\nb.png,\"x\"y\n", "row 3: not valid CSV"),
    ("path,label\na.png,ca\0t\nb.png,dog\n", "row 2 contains a NUL character"),
    ("path,label,trusted\na.png,cat,0\nb.png,dog,0\nc.png,bird,1\n", "row 4: label 'bird' appears only in"),
    ("path,label,trusted\na.png,cat,1\nb.png,dog,0\nc.png,bird,1\n",
     r"labels 'bird' \(row 4\), 'cat' \(row 2\) appear only in trusted rows"),
    (b"path,label\na.png,caf\xe9\n", "is not UTF-8 text .*: save it as CSV UTF-8"),
    ("path,label\nmissing.png,cat\nnone.png,dog\n", "none of the 2 images .* first: row 2: missing.png"),
])
def test_manifest_refused(tmp_path, text, match):
    path = write_manifest(tmp_path, text)
    with pytest.raises(LswError, match=match) as e:
        load(f"csv:{path}", tmp_path)
    one_line(e)


def test_manifest_file_refused(tmp_path):
    with pytest.raises(LswError, match="manifest .*none.csv does not exist"):
        load(f"csv:{tmp_path / 'none.csv'}", tmp_path)
    with pytest.raises(LswError, match="is a folder, not a CSV file"):
        load(f"csv:{tmp_path}", tmp_path)


def test_manifest_rows_skipped_and_listed(tmp_path):
    put(tmp_path / "bad.png", b"not a png")
    put(tmp_path / "zero.png", b"")
    outside = put(tmp_path.parent / f"{tmp_path.name}-outside.png")
    (tmp_path / "link.png").symlink_to(outside)
    (tmp_path / "adir.png").mkdir()
    path = write_manifest(tmp_path, "path,label\na.png,cat\nmissing.png,cat\nbad.png,dog\n\nb.png,dog\n"
                                    "zero.png,cat\nlink.png,dog\nadir.png,dog\n")
    s = load(f"csv:{path}", tmp_path)
    assert s.train.ids == ["a.png", "b.png"]
    assert s.train.skipped == [("row 3: missing.png", "file not found"),
                               ("row 4: bad.png", "not an image file"),
                               ("row 7: zero.png", "empty file (0 bytes)"),
                               ("row 8: link.png", "symlink points outside the manifest's folder"),
                               ("row 9: adir.png", "not a regular file")]
    s = load(f"csv:{path}", tmp_path, allow_outside=True)
    assert "link.png" in s.train.ids


# ---- property-based manifests --------------------------------------------------------------------

@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One folder of images, built once for the module; each example writes its own manifest into it."""
    folder = tmp_path_factory.mktemp("manifests")
    for i in range(6):
        Image.new("L", (4, 4), 40 * i).save(folder / f"{i}.png")
    return folder, itertools.count()


any_char = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")
label_text = st.text(alphabet=st.one_of(st.sampled_from(list(",\"' ;\t\n|\u00e9\u4e2d\U0001f600")), any_char),
                     min_size=0, max_size=10)
trusted_text = st.sampled_from(["0", "1", "", " 1", "yes", "2", "1.0", "true"])


def expected_error(rows: list[tuple[str, str]]) -> bool:
    labels = [label.strip() for label, _ in rows]
    trusted = [t.strip() for _, t in rows]
    if any(not lab for lab in labels) or any(t not in ("", "0", "1") for t in trusted):
        return True
    flags = [t == "1" for t in trusted]
    audited = {lab for lab, f in zip(labels, flags) if not f}
    if any(flags) and not all(flags) and any(f and lab not in audited for lab, f in zip(labels, flags)):
        return True
    return len(set(labels)) < 2


@FAST
@given(rows=st.lists(st.tuples(label_text, trusted_text), min_size=1, max_size=6))
def test_manifest_labels_and_trusted_round_trip(shared, rows):
    """Any labels (commas, quotes, newlines, unicode) and trusted cells either load exactly as written
    (cells stripped) or are refused with an LswError naming a row or the class count."""
    folder, counter = shared
    path = folder / f"m{next(counter)}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "trusted"])
        w.writerows([f"{i}.png", label, t] for i, (label, t) in enumerate(rows))
    try:
        s = load_source(f"csv:{path}", cache_dir=folder / "cache", progress=False)
    except LswError as e:
        assert expected_error(rows), str(e)
        assert "\n" not in str(e).replace(str(path), "")
        assert "row" in str(e) or "2 classes" in str(e), str(e)
        return
    assert not expected_error(rows)
    assert [s.train.classes[k] for k in s.train.labels] == [label.strip() for label, _ in rows]
    assert s.train.classes == sorted({label.strip() for label, _ in rows})
    flags = [t.strip() == "1" for _, t in rows]
    assert (s.train.trusted is None and not any(flags)) or list(s.train.trusted) == flags
    assert s.train.ids == [f"{i}.png" for i in range(len(rows))]


file_name = st.text(alphabet=st.one_of(st.sampled_from(list(",\"' ;#é中-")),
                                       st.characters(whitelist_categories=("L", "N", "P", "S", "Zs"),
                                                     blacklist_characters="/\\")),
                    min_size=1, max_size=12).filter(lambda s: s.strip() == s)


@FAST
@given(names=st.lists(file_name, min_size=2, max_size=4, unique=True), bom=st.booleans(), crlf=st.booleans())
def test_manifest_paths_with_commas_quotes_and_unicode(shared, names, bom, crlf):
    folder, counter = shared
    sub = folder / f"p{next(counter)}"
    sub.mkdir()
    for n in names:
        (sub / f"{n}.png").write_bytes(GOOD_PNG)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    w.writerow(["path", "label"])
    w.writerows([f"{n}.png", f"class {i % 2}"] for i, n in enumerate(names))
    path = sub / "m.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + buf.getvalue().encode("utf-8"))
    s = load_source(f"csv:{path}", cache_dir=folder / "cache", progress=False)
    assert s.train.ids == [f"{n}.png" for n in names] and s.train.skipped == []
    assert list(s.train.labels) == [i % 2 for i in range(len(names))]


# ---- specs, Fashion-MNIST IDX, packed CIFAR-10 ---------------------------------------------------

@pytest.mark.parametrize("spec,match", [
    ("foo:bar", r"unknown data source 'foo:bar': use digits, fashion-mnist\[:DIR\], cifar10:PATH, "
                "folder:PATH or csv:PATH"),
    ("", "unknown data source ''"),
    ("imagenet", "unknown data source"),
    ("folder", "'folder' needs a path: write folder:PATH"),
    ("csv:", "needs a path: write csv:PATH"),
    ("cifar10", "needs a path"),
    ("digits:/x", "digits takes no path"),
    ("fashion-mnist:/nonexistent/fm",
     "/nonexistent/fm not found: `apt-get install dataset-fashion-mnist` or pass fashion-mnist:DIR"),
    ("cifar10:/nonexistent.npz", "CIFAR-10 file /nonexistent.npz not found"),
])
def test_bad_specs_refused(tmp_path, spec, match):
    with pytest.raises(LswError, match=match) as e:
        load(spec, tmp_path)
    one_line(e)


def idx(a: np.ndarray) -> bytes:
    return bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape) + a.tobytes()


def fashion_dir(root: Path, images: bytes | None = None, labels: bytes | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    good_img, good_lab = idx(np.zeros((3, 28, 28), np.uint8)), idx(np.array([0, 1, 2], np.uint8))
    for prefix in ("train", "t10k"):
        (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(good_img))
        (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(good_lab))
    if images is not None:
        (root / "train-images-idx3-ubyte.gz").write_bytes(images)
    if labels is not None:
        (root / "train-labels-idx1-ubyte.gz").write_bytes(labels)
    return root


@pytest.mark.parametrize("images,labels,match", [
    (gzip.compress(b"\x00\x00\x0c\x03" + bytes(12)), None, r"not an IDX file .*000c03"),
    (gzip.compress(idx(np.zeros((3, 28), np.uint8))), None, "not an IDX file of unsigned bytes with 3 dim"),
    (gzip.compress(idx(np.zeros((3, 28, 28), np.uint8))[:-5]), None, "is truncated or damaged"),
    (gzip.compress(idx(np.zeros((3, 28, 28), np.uint8)))[:-9], None, "cannot read .*the file is damaged"),
    (b"\x1f\x8b junk", None, "cannot read .*the file is damaged"),
    (b"", None, "is not an IDX file"),
    (None, gzip.compress(idx(np.array([0, 1], np.uint8))), "has 3 images but .* has 2 labels"),
    (None, gzip.compress(idx(np.array([0, 1, 10], np.uint8))), "has label 10, Fashion-MNIST has 10 classes"),
])
def test_bad_idx_files_refused(tmp_path, images, labels, match):
    root = fashion_dir(tmp_path / "fm", images, labels)
    with pytest.raises(LswError, match=match) as e:
        load(f"fashion-mnist:{root}", tmp_path)
    one_line(e)


def test_fashion_mnist_missing_file_refused(tmp_path):
    root = fashion_dir(tmp_path / "fm")
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(LswError, match="t10k-labels-idx1-ubyte\\(.gz\\) not found: `apt-get install"):
        load(f"fashion-mnist:{root}", tmp_path)


@FAST
@given(data=st.binary(max_size=64), rank=st.sampled_from([1, 3]))
def test_idx_reader_never_crashes(tmp_path_factory, data, rank):
    path = tmp_path_factory.mktemp("idx") / "x-idx"
    path.write_bytes(data)
    try:
        a = read_idx(path, rank)
    except LswError:
        return
    assert a.ndim == rank and a.dtype == np.uint8


def cifar_arrays() -> dict[str, np.ndarray]:
    blobs = [np.frombuffer(png_bytes(size=(32, 32), fmt="JPEG"), np.uint8) for _ in range(3)]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    arrays = {"classes": np.array(["a", "b"])}
    for s in ("train", "test"):
        arrays.update({f"{s}_jpeg": np.concatenate(blobs), f"{s}_offsets": offsets,
                       f"{s}_labels": np.array([0, 1, 0], np.int16)})
    return arrays


def corrupt_jpeg(a):
    a["train_jpeg"] = a["train_jpeg"].copy()
    a["train_jpeg"][a["train_offsets"][1]:a["train_offsets"][1] + 30] = 0


@pytest.mark.parametrize("change,match", [
    (lambda a: a.pop("test_labels"), "has no array test_labels"),
    (lambda a: a.update(train_offsets=a["train_offsets"][:-1]), "train_offsets must be 4 integers"),
    (lambda a: a.update(train_offsets=a["train_offsets"][::-1].copy()), "do not cut train_jpeg"),
    (lambda a: a.update(test_labels=np.array([0, 1, 5])), r"test_labels must be integers in \[0, 2\)"),
    (lambda a: a.update(train_jpeg=a["train_jpeg"].astype(np.int32)), "train_jpeg must be uint8 bytes"),
    (corrupt_jpeg, "cifar10 train image 1 is not a readable JPEG"),
])
def test_bad_packed_cifar_refused(tmp_path, change, match):
    arrays = cifar_arrays()
    change(arrays)
    np.savez(tmp_path / "c.npz", **arrays)
    with pytest.raises(LswError, match=match) as e:
        load(f"cifar10:{tmp_path / 'c.npz'}", tmp_path)
    one_line(e)


def test_packed_cifar_not_an_npz_refused(tmp_path):
    (tmp_path / "c.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LswError, match="is not a readable .npz"):
        load(f"cifar10:{tmp_path / 'c.npz'}", tmp_path)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(LswError, match="is not a readable .npz"):
        load(f"cifar10:{tmp_path / 'obj.npy'}", tmp_path)
