"""Decoding image files into uint8 arrays, and fitting many images to one size and channel count."""
from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

ImageFile.LOAD_TRUNCATED_IMAGES = False
EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class BadImage(Exception):
    """An image file that cannot be used; the message says why (for the skipped list)."""


def _to_array(img: Image.Image) -> np.ndarray:
    """uint8 (H, W) for grey, (H, W, 3) otherwise; 16-bit grey scaled to 8 bits, alpha composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        return np.clip(np.round(a * 255.0 / top), 0, 255).astype(np.uint8)
    if img.mode in ("L", "1"):
        return np.asarray(img.convert("L"), dtype=np.uint8)
    if img.mode in ("LA", "RGBA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def decode_file(path: Path) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) pixels of one image file; raises BadImage with the reason."""
    try:
        if path.stat().st_size == 0:
            raise BadImage("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                return _to_array(img)
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("too large (decompression bomb limit)") from None
    except UnidentifiedImageError:
        raise BadImage("not an image file") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadImage(f"corrupt or truncated image ({e})") from None


def common_size(arrays: list[np.ndarray]) -> tuple[int, int]:
    """The most common (H, W); ties go to the larger area."""
    counts = Counter(a.shape[:2] for a in arrays)
    return max(counts, key=lambda hw: (counts[hw], hw[0] * hw[1]))


def stack_images(arrays: list[np.ndarray]) -> np.ndarray:
    """uint8 (N, C, H, W): grey if every image is grey (C=1), else RGB; resized (bilinear) to the common size."""
    h, w = common_size(arrays)
    grey = all(a.ndim == 2 for a in arrays)
    out = np.empty((len(arrays), 1 if grey else 3, h, w), dtype=np.uint8)
    for i, a in enumerate(arrays):
        if not grey and a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        if a.shape[:2] != (h, w):
            a = np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))
        out[i] = a[None] if grey else a.transpose(2, 0, 1)
    return out
