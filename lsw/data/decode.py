"""Decoding image files into uint8 pixels and fitting many of them into one (N, C, H, W) array.

Two passes keep memory at one output array: `probe` reads only each header (size, grey or colour)
to choose the common shape, then `decode_file` decodes one file at a time and `fit` resizes it into
place. A file that cannot be used raises `BadImage`, whose message is the reason shown in
`LabeledImages.skipped`.
"""
from __future__ import annotations

import stat
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_SWAPPED = {5, 6, 7, 8}  # EXIF orientations that turn the stored width into the height
_ORIENTATION = 0x0112


class BadImage(Exception):
    """An image file that cannot be used; str(e) is the one-line reason for the skipped list."""


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """Image.open with Pillow's decompression-bomb warning raised as an error; failures become BadImage."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise BadImage("broken symlink" if path.is_symlink() else "file not found") from None
    except PermissionError:
        raise BadImage("cannot read (permission denied)") from None
    except (OSError, RuntimeError) as e:
        raise BadImage(f"cannot read ({_one_line(e)})") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadImage("not a regular file")
    if st.st_size == 0:
        raise BadImage("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                yield img
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("too large (decompression bomb limit)") from None
    except UnidentifiedImageError:
        raise BadImage("not an image file") from None
    except PermissionError:
        raise BadImage("cannot read (permission denied)") from None
    except Exception as e:  # noqa: BLE001 - Pillow raises many types on damaged data; one file never stops a load
        raise BadImage(f"corrupt or truncated image ({_one_line(e)})") from None


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:200]


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - unreadable EXIF: take the image as stored
        return 1


def probe(path: Path) -> tuple[int, int, bool]:
    """(H, W, grey) of the upright image, from its header only; raises BadImage."""
    with _opened(path) as img:
        w, h = img.size
        if _orientation(img) in _SWAPPED:
            w, h = h, w
        return h, w, img.mode in GREY_MODES


def to_array(img: Image.Image) -> np.ndarray:
    """uint8 (H, W) for grey modes, else (H, W, 3). 16-bit grey is scaled to 8 bits (65535 -> 255);
    transparency is composited on white; palette, CMYK and YCbCr become RGB."""
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(img).astype(np.float64)
        top = 65535.0 if mode.startswith("I;16") or (mode == "I" and a.size and a.max() > 255) else 255.0
        return np.clip(np.round(a * (255.0 / top)), 0, 255).astype(np.uint8)
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.uint8)
    alpha = mode in ("LA", "La", "RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in img.info)
    if alpha:
        rgba = img.convert("RGBA")
        flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        return np.asarray(flat.convert("L" if mode in GREY_MODES else "RGB"), dtype=np.uint8)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def decode_file(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) pixels of one image file, upright per its EXIF orientation.

    `size` (H, W) is the size it will be resized to: a large JPEG is then decoded at a reduced scale
    (still at least `size`), which is much faster. Raises BadImage with the reason."""
    with _opened(path) as img:
        if size is not None and img.format == "JPEG":
            h, w = size
            if _orientation(img) in _SWAPPED:
                h, w = w, h
            img.draft(None, (w, h))
        img.load()
        try:
            upright = ImageOps.exif_transpose(img)
        except Exception:  # noqa: BLE001 - unreadable EXIF: keep the image as stored
            upright = img
        return to_array(upright if upright is not None else img)


def common_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The most common (H, W); ties go to the larger area (then the larger H)."""
    counts = Counter(sizes)
    return max(counts, key=lambda hw: (counts[hw], hw[0] * hw[1], hw))


def fit(a: np.ndarray, size: tuple[int, int], grey: bool) -> np.ndarray:
    """uint8 (C, H, W) from (h, w) or (h, w, 3) pixels, resized (PIL bilinear) to `size` (H, W);
    C = 1 if `grey` else 3."""
    h, w = size
    if a.shape[:2] != (h, w):
        a = np.asarray(Image.fromarray(a).resize((w, h), Image.Resampling.BILINEAR))
    if grey and a.ndim == 3:
        a = np.asarray(Image.fromarray(a).convert("L"))
    if not grey and a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def decode_files(paths: list[Path], names: list[str], progress: bool = True, desc: str = "decode"
                 ) -> tuple[np.ndarray, list[int], list[tuple[str, str]]]:
    """Decode `paths` into one array.

    Returns (images, ok, skipped): images is uint8 (len(ok), C, H, W) with C = 1 when every usable
    file is grey, else 3, and (H, W) the most common size; ok are the positions in `paths` that
    decoded, in order; skipped is (name, reason) for the others, in input order."""
    bad: list[tuple[int, str]] = []
    probed: list[tuple[int, int, int, bool]] = []
    for i, p in enumerate(tqdm(paths, desc=f"scan {desc}", disable=not progress, unit="img")):
        try:
            probed.append((i, *probe(p)))
        except BadImage as e:
            bad.append((i, str(e)))
    ok: list[int] = []
    out = np.empty((0, 1, 1, 1), dtype=np.uint8)
    if probed:
        size = common_size([(h, w) for _, h, w, _ in probed])
        grey = all(g for *_, g in probed)
        out = np.empty((len(probed), 1 if grey else 3, *size), dtype=np.uint8)
        for i, *_ in tqdm(probed, desc=desc, disable=not progress, unit="img"):
            try:
                out[len(ok)] = fit(decode_file(paths[i], size), size, grey)
            except BadImage as e:
                bad.append((i, str(e)))
                continue
            ok.append(i)
        out = out[:len(ok)]
    return out, ok, [(names[i], reason) for i, reason in sorted(bad)]
