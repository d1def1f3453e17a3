"""Data sources on generated files: digits, IDX, packed CIFAR-10, image folders, CSV manifests, the cache.

The bad-input cases (refused or skipped) are in test_data_bad_input.py.
"""
import gzip
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lsw.data.decode as decode
from lsw.data import builtin_sources, load_source
from lsw.data.cache import cache_path
from lsw.data.fashion import FASHION_DIR
from lsw.errors import LswError

CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg.npz"


def save(path: Path, img: Image.Image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def png(path: Path, size=(8, 8), mode="RGB", value=None) -> Path:
    """A flat image; size is (W, H) as PIL takes it."""
    if value is None:
        value = {"RGB": (200, 100, 0), "L": 90}.get(mode, 0)
    return save(path, Image.new(mode, size, value))


def make_tree(root: Path) -> Path:
    for i in range(3):
        png(root / "cat" / f"c{i}.png")
        save(root / "dog" / f"d{i}.jpg", Image.new("RGB", (8, 8), (10, 40, 250)), quality=95)
    return root


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


class Counter:
    """Counts calls of lsw.data.decode's probe and decode_file (the per-file decoders)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        for name in ("probe", "decode_file"):
            real = getattr(decode, name)
            monkeypatch.setattr(decode, name, self.wrap(real))

    def wrap(self, real):
        def counted(*a, **kw):
            self.calls += 1
            return real(*a, **kw)
        return counted


def fail(*a, **kw):
    raise AssertionError("decoded again instead of reading the cache")


def forbid_decoding(monkeypatch):
    monkeypatch.setattr(decode, "probe", fail)
    monkeypatch.setattr(decode, "decode_file", fail)


# ---- built-in sources ----------------------------------------------------------------------------

def test_digits_split_ids_and_pixels():
    from sklearn.datasets import load_digits

    s = load_source("digits")
    d = load_digits()
    assert s.name == "digits" and s.train.images.shape[1:] == (1, 8, 8) and s.train.images.dtype == np.uint8
    assert (len(s.train), len(s.test)) == (1437, 360) and not s.train.hflip and not s.test.hflip
    assert s.train.classes == [str(k) for k in range(10)]
    # ids keep sklearn's index, and the pixels are round(v * 255 / 16)
    k = int(s.train.ids[5].split(":")[1])
    assert np.array_equal(s.train.images[5, 0], np.round(d.images[k] * 255 / 16).astype(np.uint8))
    assert s.train.labels[5] == d.target[k]
    assert not set(s.train.ids) & set(s.test.ids)
    # stratified: every class is in the test split at about 20%
    assert np.all(np.abs(np.bincount(s.test.labels) - 0.2 * np.bincount(d.target)) <= 1)
    assert load_source("digits").fingerprint == s.fingerprint  # fixed seed: same split, same fingerprint
    assert np.array_equal(load_source("digits").test.labels, s.test.labels)
    assert builtin_sources()[0] == "digits"


@pytest.mark.skipif(not os.path.isdir(FASHION_DIR), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_installed(cache, monkeypatch):
    s = load_source("fashion-mnist", cache_dir=cache)
    assert s.train.images.shape == (60000, 1, 28, 28) and s.test.images.shape == (10000, 1, 28, 28)
    assert s.train.classes[0] == "T-shirt/top" and s.train.classes[9] == "Ankle boot"
    assert s.test.ids[-1] == "fashion-mnist:test:9999" and s.train.true_labels is None
    assert "fashion-mnist" in builtin_sources()
    forbid_decoding(monkeypatch)
    monkeypatch.setattr("lsw.data.fashion.read_idx", fail)
    again = load_source("fashion-mnist", cache_dir=cache)
    assert np.array_equal(again.train.images[:100], s.train.images[:100])
    assert again.fingerprint == s.fingerprint


def idx_bytes(a: np.ndarray) -> bytes:
    return bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape) + a.tobytes()


def write_fashion(root: Path, n_train=5, n_test=3, gz=True, style="-") -> Path:
    """A tiny Fashion-MNIST folder: `style` "-" gives train-images-idx3-ubyte, "." train-images.idx3-ubyte."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        for what, a in (("images", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                        ("labels", (np.arange(n) % 10).astype(np.uint8))):
            name = f"{prefix}-{what}{style}idx{a.ndim}-ubyte"
            data = idx_bytes(a)
            (root / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return root


@pytest.mark.parametrize("gz,style", [(True, "-"), (False, "-"), (False, "."), (True, ".")])
def test_fashion_mnist_file_name_variants(tmp_path, cache, gz, style):
    root = write_fashion(tmp_path / "fm", gz=gz, style=style)
    s = load_source(f"fashion-mnist:{root}", cache_dir=cache)
    assert s.train.images.shape == (5, 1, 28, 28) and s.test.images.shape == (3, 1, 28, 28)
    assert list(s.train.labels) == [0, 1, 2, 3, 4] and s.train.ids[0] == "fashion-mnist:train:0"


def packed_cifar(path: Path, n_train=6, n_test=3, size=32, seed=0) -> tuple[Path, np.ndarray]:
    """A packed CIFAR-10 file in the shared/data/README.md format; returns it and the train pixels."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 4, (n_train + n_test, size // 8, size // 8, 3), dtype=np.uint8) * 64 + 32
    pixels = blocks.repeat(8, axis=1).repeat(8, axis=2)  # flat 8x8 blocks survive JPEG well

    def pack(part):
        blobs = []
        for p in part:
            buf = io.BytesIO()
            Image.fromarray(p).save(buf, format="JPEG", quality=95)
            blobs.append(np.frombuffer(buf.getvalue(), np.uint8))
        return np.concatenate(blobs), np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)

    tr_jpeg, tr_off = pack(pixels[:n_train])
    te_jpeg, te_off = pack(pixels[n_train:])
    np.savez(
        path, train_jpeg=tr_jpeg, train_offsets=tr_off, train_labels=np.arange(n_train, dtype=np.int16) % 2,
        test_jpeg=te_jpeg, test_offsets=te_off, test_labels=np.arange(n_test, dtype=np.int16) % 2,
        classes=np.array(["airplane", "automobile"]))
    return path, pixels[:n_train]


def test_packed_cifar_decodes_and_caches(tmp_path, cache, monkeypatch):
    path, pixels = packed_cifar(tmp_path / "c.npz")
    s = load_source(f"cifar10:{path}", cache_dir=cache, progress=False)
    assert s.name == "cifar10" and s.train.images.shape == (6, 3, 32, 32)
    assert s.test.images.shape == (3, 3, 32, 32)
    assert s.train.images.dtype == np.uint8 and s.train.true_labels is None and s.train.hflip
    assert list(s.train.labels) == [0, 1, 0, 1, 0, 1] and s.train.classes == ["airplane", "automobile"]
    assert s.train.ids[2] == "cifar10:train:2" and s.test.ids[0] == "cifar10:test:0"
    diff = np.abs(s.train.images.astype(int) - pixels.transpose(0, 3, 1, 2).astype(int)).mean()
    assert diff < 8, diff
    monkeypatch.setattr("lsw.data.cifar.decode_packed", fail)
    again = load_source(f"cifar10:{path}", cache_dir=cache, progress=False)
    assert np.array_equal(again.train.images, s.train.images) and again.fingerprint == s.fingerprint


@pytest.mark.slow
@pytest.mark.skipif(not CIFAR.is_file(), reason=f"{CIFAR} absent")
@pytest.mark.skipif(os.environ.get("LSW_SLOW") != "1", reason="decodes 60k JPEGs: run with LSW_SLOW=1")
def test_real_cifar10(tmp_path):
    s = load_source(f"cifar10:{CIFAR}", cache_dir=tmp_path, progress=False)
    assert s.train.images.shape == (50000, 3, 32, 32) and s.test.images.shape == (10000, 3, 32, 32)
    assert s.train.classes[0] == "airplane" and s.train.classes[9] == "truck"
    assert list(s.train.labels[:10]) == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # the original data_batch_1 order
    assert np.array_equal(np.bincount(s.test.labels), np.full(10, 1000))
    assert 100 < s.train.images.mean() < 140
    again = load_source(f"cifar10:{CIFAR}", cache_dir=tmp_path, progress=False)
    assert np.array_equal(again.test.images, s.test.images)


# ---- image folders -------------------------------------------------------------------------------

def test_folder_layout_and_ids(tmp_path, cache):
    root = make_tree(tmp_path / "imgs")
    png(root / "dog" / "deeper" / "UPPER.PNG")
    (root / "dog" / "notes.txt").write_text("not an image, not listed")
    (root / ".hidden").mkdir()
    png(root / ".hidden" / "x.png")
    png(root / "cat" / ".ipynb_checkpoints" / "x.png")
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert s.name == f"folder:{root}" and s.test is None
    assert s.train.classes == ["cat", "dog"] and s.train.images.shape == (7, 3, 8, 8)
    assert s.train.ids == ["cat/c0.png", "cat/c1.png", "cat/c2.png", "dog/d0.jpg", "dog/d1.jpg", "dog/d2.jpg",
                           "dog/deeper/UPPER.PNG"]
    assert list(s.train.labels) == [0, 0, 0, 1, 1, 1, 1] and s.train.skipped == []
    assert s.train.true_labels is None and s.train.trusted is None
    assert tuple(s.train.images[0, :, 0, 0]) == (200, 100, 0)
    assert np.abs(s.train.images[3, :, 0, 0].astype(int) - (10, 40, 250)).max() < 8


def test_folder_second_load_reads_the_cache(tmp_path, cache, monkeypatch):
    root = make_tree(tmp_path / "imgs")
    counter = Counter(monkeypatch)
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert counter.calls == 12  # 6 headers + 6 decodes
    again = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert counter.calls == 12  # nothing decoded
    assert again.fingerprint == s.fingerprint and np.array_equal(again.train.images, s.train.images)
    assert again.train.ids == s.train.ids and again.train.classes == s.train.classes
    # a changed file changes the fingerprint and decodes again
    os.utime(root / "cat" / "c0.png", ns=(1, 1))
    third = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert third.fingerprint != s.fingerprint and counter.calls == 24


def test_fingerprint_is_content_not_location(tmp_path, cache, monkeypatch):
    a = make_tree(tmp_path / "a")
    fa = load_source(f"folder:{a}", cache_dir=cache, progress=False).fingerprint
    b = tmp_path / "b"
    os.rename(a, b)  # keeps names, sizes and mtimes
    counter = Counter(monkeypatch)
    assert load_source(f"folder:{b}", cache_dir=cache, progress=False).fingerprint == fa
    assert counter.calls == 0
    png(b / "cat" / "new.png")
    assert load_source(f"folder:{b}", cache_dir=cache, progress=False).fingerprint != fa
    png(b / "loose.png")  # a change in what is skipped also makes a new key: the skipped list stays current
    s = load_source(f"folder:{b}", cache_dir=cache, progress=False)
    assert ("loose.png", "not in a class sub-folder: ignored") in s.train.skipped


def test_large_jpeg_is_decoded_reduced_and_resized(tmp_path, cache):
    root = tmp_path / "imgs"
    for i in range(2):
        png(root / "a" / f"{i}.png", size=(16, 12))
    big = Image.new("RGB", (640, 480), (30, 160, 90))
    save(root / "b" / "big.jpg", big, quality=95)
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert s.train.images.shape == (3, 3, 12, 12)  # the common size's shorter side: nothing is upscaled
    assert np.abs(s.train.images[2].astype(int) - np.array([30, 160, 90])[:, None, None]).max() <= 4


def test_image_size_fits_every_photo_by_centre_crop(tmp_path, cache):
    root = tmp_path / "imgs"
    wide = Image.new("RGB", (400, 200), (0, 0, 255))
    wide.paste((255, 0, 0), (150, 0, 250, 200))  # a red middle band, blue sides
    save(root / "a" / "wide.jpg", wide, quality=95)
    save(root / "b" / "tall.png", Image.new("RGB", (100, 300), (0, 255, 0)))
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False, image_size=16)
    assert isinstance(s.train.images, np.memmap) and s.train.images.shape == (2, 3, 16, 16)
    wide_px = s.train.images[s.train.ids.index("a/wide.jpg")].astype(int)
    assert wide_px[0, 8, 8] > 200 and wide_px[2, 8, 8] < 60  # the middle is kept...
    assert wide_px[2, 8, 0] > 150  # ...and the crop's edges (x = 100 and 300 of 400) are blue again
    assert s.train.images[s.train.ids.index("b/tall.png")][1].min() > 240
    s32 = load_source(f"folder:{root}", cache_dir=cache, progress=False, image_size=32)
    assert s32.train.images.shape == (2, 3, 32, 32) and s32.fingerprint == s.fingerprint
    assert len(list(cache.glob("*.npz"))) == 2  # one cache per (source, size)


@pytest.mark.parametrize("size", [7, 513, 0, "32"])
def test_image_size_out_of_range_is_one_line(tmp_path, size):
    with pytest.raises(LswError, match="image size .* is out of range: give a whole number of pixels from 8 to 512"):
        load_source("digits", image_size=size)


def test_damaged_cache_is_refused_in_one_line_and_writes_are_atomic(tmp_path, cache, monkeypatch):
    root = make_tree(tmp_path / "imgs")
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    path = cache_path(cache, "folder", s.fingerprint, 32)
    pixels = path.with_name(path.stem + ".train.u8")
    assert sorted(p.name for p in cache.iterdir()) == [path.name, pixels.name]  # no temp files left
    good_meta, good_pixels, first = path.read_bytes(), pixels.read_bytes(), np.array(s.train.images)
    for junk in (b"", b"PK\x03\x04garbage", good_meta[:500]):
        path.write_bytes(junk)
        with pytest.raises(LswError, match="cannot be read .truncated or damaged.: delete it"):
            load_source(f"folder:{root}", cache_dir=cache, progress=False)
    np.savez(path, version=np.int64(2))
    with pytest.raises(LswError, match=r"is from another version of lsw \(v2, this one reads v3\)"):
        load_source(f"folder:{root}", cache_dir=cache, progress=False)
    path.write_bytes(good_meta)
    pixels.write_bytes(good_pixels[:-10])
    with pytest.raises(LswError, match="train.u8 holds .* bytes where .* were written .truncated or damaged."):
        load_source(f"folder:{root}", cache_dir=cache, progress=False)
    path.unlink()  # deleting it, as the message says, rebuilds it
    pixels.with_name(pixels.name + ".tmp-999999999").write_bytes(b"left by a killed build")
    assert np.array_equal(load_source(f"folder:{root}", cache_dir=cache, progress=False).train.images, first)
    assert sorted(p.name for p in cache.iterdir()) == [path.name, pixels.name]  # the dead build's file is gone
    forbid_decoding(monkeypatch)  # the rebuilt cache is good again
    assert load_source(f"folder:{root}", cache_dir=cache, progress=False).train.ids == s.train.ids


def test_cache_that_would_not_fit_the_disk_is_refused_before_decoding(tmp_path, cache, monkeypatch):
    import shutil
    from collections import namedtuple

    root = make_tree(tmp_path / "imgs")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**6, 10**6))
    forbid_decoding(monkeypatch)
    with pytest.raises(LswError, match=r"need about .* but the disk has 1 MB free: free some space"):
        load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert list(cache.iterdir()) == []  # nothing half-written


def test_cache_dir_from_env_and_unwritable_cache(tmp_path, monkeypatch):
    root = make_tree(tmp_path / "imgs")
    monkeypatch.setenv("LSW_CACHE_DIR", str(tmp_path / "envcache"))
    s = load_source(f"folder:{root}", progress=False)
    assert cache_path(None, "folder", s.fingerprint, 32).parent == tmp_path / "envcache"
    assert cache_path(None, "folder", s.fingerprint, 32).is_file()
    (tmp_path / "file").write_text("a file where the cache folder should be")
    with pytest.raises(LswError, match="cannot write the decode cache in .*file .*: set LSW_CACHE_DIR"):
        load_source(f"folder:{root}", cache_dir=tmp_path / "file", progress=False)


def test_progress_bar_goes_to_stderr(tmp_path, cache, capsys):
    root = make_tree(tmp_path / "imgs")
    load_source(f"folder:{root}", cache_dir=cache, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "imgs" in err and "6/6" in err
    load_source(f"folder:{tmp_path / 'imgs'}", cache_dir=tmp_path / "c2", progress=False)
    assert capsys.readouterr() == ("", "")


def test_image_modes_are_converted(tmp_path, cache):
    root = tmp_path / "imgs"
    png(root / "a" / "grey.png", mode="L", value=200)
    png(root / "a" / "rgba.png", mode="RGBA", value=(255, 0, 0, 255))
    png(root / "a" / "half.png", mode="RGBA", value=(0, 0, 0, 128))  # half-transparent black on white
    pal = Image.new("P", (8, 8))
    pal.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    pal.putpixel((0, 0), 1)
    save(root / "a" / "pal.png", pal)
    save(root / "b" / "deep.png", Image.fromarray(np.full((8, 8), 65535, np.uint16)))
    save(root / "b" / "mid.png", Image.fromarray(np.full((8, 8), 32896, np.uint16)))
    save(root / "b" / "cmyk.jpg", Image.new("CMYK", (8, 8), (0, 255, 255, 0)), quality=95)  # red
    png(root / "b" / "bits.png", mode="1", value=1)
    png(root / "b" / "la.png", mode="LA", value=(100, 0))  # fully transparent grey -> white
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert s.train.images.shape == (9, 3, 8, 8) and s.train.skipped == []
    px = {i: tuple(int(v) for v in img[:, 0, 0]) for i, img in zip(s.train.ids, s.train.images)}
    assert px["a/grey.png"] == (200, 200, 200)
    assert px["a/rgba.png"] == (255, 0, 0)
    assert all(abs(v - 127) <= 1 for v in px["a/half.png"])
    assert px["a/pal.png"] == (10, 200, 30)
    assert tuple(s.train.images[s.train.ids.index("a/pal.png"), :, 1, 1]) == (0, 0, 0)
    assert px["b/deep.png"] == (255, 255, 255) and px["b/mid.png"] == (128, 128, 128)
    r, g, b = px["b/cmyk.jpg"]
    assert r > 230 and g < 30 and b < 30
    assert px["b/bits.png"] == (255, 255, 255) and px["b/la.png"] == (255, 255, 255)


def test_all_grey_stays_one_channel(tmp_path, cache):
    root = tmp_path / "imgs"
    png(root / "a" / "x.png", mode="L", value=7)
    save(root / "b" / "y.png", Image.fromarray(np.full((8, 8), 65535, np.uint16)))
    png(root / "b" / "z.png", mode="LA", value=(50, 255))
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert s.train.images.shape == (3, 1, 8, 8)
    assert [int(v) for v in s.train.images[:, 0, 0, 0]] == [7, 255, 50]


@pytest.mark.parametrize("sizes,expected", [
    ([(8, 4), (8, 4), (16, 16)], (4, 4)),      # (W, H) for PIL; the most common's shorter side wins
    ([(8, 4), (6, 6), (16, 16), (6, 6)], (6, 6)),
    ([(8, 4), (16, 16)], (16, 16)),            # tie: the larger one
])
def test_images_are_resized_to_the_most_common_size(tmp_path, cache, sizes, expected):
    root = tmp_path / "imgs"
    for i, size in enumerate(sizes):
        png(root / ("a" if i % 2 else "b") / f"{i}.png", size=size, mode="L", value=60)
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    assert s.train.images.shape == (len(sizes), 1, *expected)
    assert np.all(s.train.images == 60)  # bilinear resizing keeps a flat image flat


def test_exif_orientation_is_applied(tmp_path, cache):
    root = tmp_path / "imgs"
    img = Image.new("RGB", (16, 8), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 8, 8))  # left half red, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    save(root / "a" / "rot.jpg", img, exif=exif, quality=95)
    png(root / "b" / "x.png", size=(8, 16))
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False)
    s = load_source(f"folder:{root}", cache_dir=cache, progress=False, image_size=8)
    upright = s.train.images[0]
    assert upright.shape == (3, 8, 8)  # displayed 8 wide, 16 high: the middle 8 x 8 is kept
    assert upright[0, 1, 4] > 200 and upright[2, 1, 4] < 60  # the stored left half is now the top
    assert upright[2, 6, 4] > 200 and upright[0, 6, 4] < 60


# ---- CSV manifests -------------------------------------------------------------------------------

def manifest(folder: Path, text: str, images=("a.png", "b.png", "c.png", "d.png"), name="m.csv") -> Path:
    for i, n in enumerate(images):
        png(folder / n, mode="L", value=10 * i)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_manifest_columns_bom_quotes_and_truth(tmp_path, cache):
    png(tmp_path / "x, \"y\".png", mode="L", value=99)
    path = manifest(tmp_path, "\ufeffPath, Label ,trusted,true_label\r\na.png,cat,1,cat\r\n\r\n"
                              "b.png,dog,1,dog\r\nc.png,cat,0,bird\r\n\"x, \"\"y\"\".png\",dog,,dog\r\n"
                              "d.png,\"dog, large\",0,\"dog, large\"\r\n")
    s = load_source(f"csv:{path}", cache_dir=cache, progress=False)
    assert s.name == f"csv:{path}" and s.test is None
    assert s.train.ids == ["a.png", "b.png", "c.png", "x, \"y\".png", "d.png"]
    assert s.train.classes == ["bird", "cat", "dog", "dog, large"]  # true_label "bird" becomes a class
    assert list(s.train.labels) == [1, 2, 1, 2, 3] and list(s.train.true_labels) == [1, 2, 0, 2, 3]
    assert list(s.train.trusted) == [True, True, False, False, False]
    assert s.train.images.shape == (5, 1, 8, 8) and s.train.images[3, 0, 0, 0] == 99


def test_manifest_without_optional_columns_and_subfolders(tmp_path, cache):
    png(tmp_path / "sub" / "e.png")
    path = manifest(tmp_path, "path,label,comment\na.png,0,x\nsub/e.png,1,\n")
    s = load_source(f"csv:{path}", cache_dir=cache, progress=False)
    assert s.train.trusted is None and s.train.true_labels is None
    assert s.train.ids == ["a.png", "sub/e.png"] and s.train.images.shape == (2, 3, 8, 8)


def test_manifest_outside_paths_allowed_on_request(tmp_path, cache, monkeypatch):
    png(tmp_path / "outside.png")
    folder = tmp_path / "m"
    path = manifest(folder, f"path,label\n../outside.png,cat\n{tmp_path / 'outside.png'},dog\na.png,dog\n")
    with pytest.raises(LswError, match="row 2: ../outside.png is outside the manifest's folder"):
        load_source(f"csv:{path}", cache_dir=cache, progress=False)
    with pytest.raises(LswError, match="rows 2 and 3 both list"):  # the same file, written two ways
        load_source(f"csv:{path}", cache_dir=cache, progress=False, allow_outside=True)
    path.write_text(f"path,label\n../outside.png,cat\n{folder / 'b.png'},dog\na.png,dog\n")
    s = load_source(f"csv:{path}", cache_dir=cache, progress=False, allow_outside=True)
    assert s.train.ids == ["../outside.png", str(folder / "b.png"), "a.png"]
    monkeypatch.setenv("LSW_ALLOW_OUTSIDE", "1")
    assert len(load_source(f"csv:{path}", cache_dir=cache, progress=False).train) == 3
    with pytest.raises(LswError, match="outside"):
        load_source(f"csv:{path}", cache_dir=cache, progress=False, allow_outside=False)


def test_manifest_second_load_reads_the_cache(tmp_path, cache, monkeypatch):
    path = manifest(tmp_path, "path,label\na.png,cat\nb.png,dog\n")
    s = load_source(f"csv:{path}", cache_dir=cache, progress=False)
    forbid_decoding(monkeypatch)
    again = load_source(f"csv:{path}", cache_dir=cache, progress=False)
    assert again.fingerprint == s.fingerprint and again.train.ids == s.train.ids
    path.write_text("path,label\na.png,dog\nb.png,cat\n")  # new manifest bytes, new fingerprint
    with pytest.raises(AssertionError, match="decoded again"):
        load_source(f"csv:{path}", cache_dir=cache, progress=False)


def test_spec_parsing(tmp_path):
    assert load_source("  Digits ").name == "digits"
    with pytest.raises(LswError, match="did you mean folder:"):
        load_source(str(tmp_path))


def test_original_file_finds_a_samples_full_size_file_for_folders_and_manifests(tmp_path):
    from lsw.data.paths import original_file

    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    photo = tmp_path / "imgs" / "cat" / "a.jpg"
    photo.write_bytes(b"jpeg")
    manifest = tmp_path / "imgs" / "m.csv"
    assert original_file(f"folder:{tmp_path / 'imgs'}", "cat/a.jpg") == photo
    assert original_file(f"csv:{manifest}", "cat/a.jpg") == photo  # relative to the manifest's folder
    assert original_file(f"csv:{manifest}", str(photo)) == photo  # absolute as written
    assert original_file(f"folder:{tmp_path / 'imgs'}", "cat/moved.jpg") is None
    assert original_file("digits", "17") is None
