"""Data sources: every spec becomes a `Source` holding in-memory `LabeledImages`.

Specs: `digits`, `fashion-mnist[:DIR]`, `cifar10:PATH`, `folder:PATH`, `csv:PATH`.
"""
from __future__ import annotations

from pathlib import Path

from lsw.data.builtin import FASHION_DIR, load_cifar10, load_digits, load_fashion_mnist
from lsw.data.files import load_folder, load_manifest
from lsw.data.source import Source
from lsw.errors import LswError

__all__ = ["Source", "load_source", "builtin_sources"]

FORMS = "digits, fashion-mnist[:DIR], cifar10:PATH, folder:PATH or csv:PATH"


def load_source(spec: str, cache_dir: str | Path | None = None, progress: bool = True) -> Source:
    """Load the data set `spec` (see the module docstring); decoded files are cached in `cache_dir`
    (default $LSW_CACHE_DIR, else ~/.cache/lsw). Raises LswError with a one-line reason."""
    kind, _, arg = (spec or "").strip().partition(":")
    kind = kind.lower()
    if kind == "digits" and not arg:
        return load_digits()
    if kind == "fashion-mnist":
        return load_fashion_mnist(arg or FASHION_DIR)
    if kind in ("cifar10", "folder", "csv") and not arg:
        raise LswError(f"'{spec}' needs a path: write {kind}:PATH")
    if kind == "cifar10":
        return load_cifar10(arg, cache_dir, progress)
    if kind == "folder":
        return load_folder(arg, cache_dir, progress)
    if kind == "csv":
        return load_manifest(arg, cache_dir, progress)
    raise LswError(f"unknown data source '{spec}': use {FORMS}")


def builtin_sources() -> list[str]:
    """Specs that need no path on this machine: digits always, fashion-mnist when installed."""
    out = ["digits"]
    if Path(FASHION_DIR).is_dir() and any(Path(FASHION_DIR).glob("train-images*")):
        out.append("fashion-mnist")
    return out
