"""Decoding image files into uint8 pixels fitted to one square training size.

`probe` reads only a header (size, grey or colour); `decode_file` decodes one file, a JPEG at a
reduced scale when it is much larger than the target (Pillow's `draft`: the JPEG decoder's own DCT
scaling by 1/2, 1/4 or 1/8, which torchvision's `decode_jpeg` does not offer, and which makes a 12 MP
photo decode about 20x faster); `fit` turns it into (C, S, S) with torchvision. No image is ever held
at camera resolution beyond the one being decoded. A file that cannot be used raises `BadImage`, whose
message is the reason shown in `LabeledImages.skipped`. `lsw.data.pool` runs these over many files.
"""
from __future__ import annotations

import stat
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

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


def target_side(sizes: list[tuple[int, int]], image_size: int) -> int:
    """The side S of the square every image is fitted to: `image_size`, or the shorter side of the most
    common size when that is smaller (small images keep their size; nothing is upscaled past it)."""
    return min(image_size, min(common_size(sizes)))


def _tf():
    """torchvision's v2 functional transforms, imported when an image is first resized: importing
    torchvision costs about 2 s, which built-in sets that are never resized (digits) need not pay."""
    import torchvision.transforms.v2.functional as TF

    return TF


def fit(a: np.ndarray, side: int, grey: bool) -> np.ndarray:
    """uint8 (C, side, side) from (h, w) or (h, w, 3) pixels; C = 1 if `grey` else 3.

    Centre-crop, not letterbox: the shorter side is resized to `side` (antialiased bilinear,
    torchvision on the uint8 tensor) and the middle square kept. Letterboxing would put bars whose
    width varies with each photo's aspect ratio into the training images (a feature the network can
    learn, and pixels it wastes); photos are framed around their subject, and the training crop
    (`lsw.device_data`) already assumes the subject fills the frame."""
    t = torch.from_numpy(np.require(a, requirements=["C", "W"]))  # Pillow's arrays are read-only
    t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    if t.shape[1:] != (side, side):
        TF = _tf()
        t = TF.center_crop(TF.resize(t, [side], antialias=True), [side, side])
    if grey and t.shape[0] == 3:
        t = _tf().rgb_to_grayscale(t)
    elif not grey and t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    return t.numpy()


def decode_fitted(path: Path, side: int, grey: bool) -> np.ndarray:
    """uint8 (C, side, side) of one file (see `decode_file` and `fit`); raises BadImage."""
    return fit(decode_file(path, (side, side)), side, grey)


def fit_array(images: np.ndarray, side: int, chunk: int = 4096) -> np.ndarray:
    """uint8 (N, C, side, side) from an in-memory (N, C, H, W) set (see `fit`); the set itself when it
    already has that size or is smaller (nothing is upscaled)."""
    if min(images.shape[2:]) <= side:
        return images
    out = np.empty((len(images), images.shape[1], side, side), dtype=np.uint8)
    TF = _tf()
    for s in range(0, len(images), chunk):
        t = TF.resize(torch.from_numpy(np.array(images[s:s + chunk])), [side], antialias=True)
        out[s:s + chunk] = TF.center_crop(t, [side, side]).numpy()
    return out
