"""Thumbnails: small images upscaled without blur (nearest neighbour), cached as PNG bytes."""
from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from app import state
from lsw.errors import LswError

SIZE = 112


@st.cache_data(max_entries=4000, show_spinner=False)
def thumbnail(spec: str, row: int, image_size: int | None = None) -> bytes:
    """PNG of row `row`, read from the run's decode cache (a memory map: one row is read)."""
    img = np.asarray(state.source(spec, image_size).train.images[row])  # (C, S, S) uint8
    arr = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
    pil = Image.fromarray(arr)
    scale = max(1, SIZE // max(pil.size))
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


def thumbnail_or_reason(spec: str, row: int, image_size: int | None = None) -> bytes | str:
    """The thumbnail, or one line saying why there is none (the data moved or its cache is damaged)."""
    try:
        return thumbnail(spec, row, image_size)
    except LswError as e:
        return f"image unavailable: {e}"
