"""Data sources: every spec becomes a `Source` holding in-memory `LabeledImages`.

Specs:
    digits               scikit-learn's 8x8 digits (a stratified 20% held out as test)
    fashion-mnist[:DIR]  the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)
    cifar10:PATH         the packed CIFAR-10 .npz (JPEG bytes + offsets)
    folder:PATH          one sub-folder of images per class
    csv:PATH             a manifest path,label[,trusted][,true_label]

Decoded files (cifar10, folder, csv, fashion-mnist) are cached under `cache_dir`, else
$LSW_CACHE_DIR, else ~/.cache/lsw, keyed by the source's fingerprint.
"""
from __future__ import annotations

from pathlib import Path

from lsw.data.cifar import load_cifar10
from lsw.data.digits import load_digits
from lsw.data.fashion import FASHION_DIR, fashion_files, load_fashion_mnist
from lsw.data.folder import load_folder
from lsw.data.manifest import load_manifest
from lsw.data.source import Source
from lsw.errors import LswError

__all__ = ["Source", "load_source", "builtin_sources", "FORMS"]

FORMS = "digits, fashion-mnist[:DIR], cifar10:PATH, folder:PATH or csv:PATH"


def _unknown(spec: str) -> LswError:
    hint = ""
    p = Path(spec).expanduser()
    if spec and p.is_dir():
        hint = f" (did you mean folder:{spec}?)"
    elif spec and p.is_file() and p.suffix.lower() in (".csv", ".npz"):
        hint = f" (did you mean {'csv' if p.suffix.lower() == '.csv' else 'cifar10'}:{spec}?)"
    return LswError(f"unknown data source {spec!r}{hint}: use {FORMS}")


def load_source(spec: str, cache_dir: str | Path | None = None, progress: bool = True, *,
                allow_outside: bool | None = None) -> Source:
    """Load the data set named by `spec` (see the module docstring).

    cache_dir: where decoded arrays are cached (default $LSW_CACHE_DIR, else ~/.cache/lsw).
    progress: show tqdm bars on stderr while decoding.
    allow_outside: csv only: accept manifest paths outside its folder (default: $LSW_ALLOW_OUTSIDE=1).
    Raises LswError with a one-line reason for any input it cannot use."""
    spec = (spec or "").strip()
    kind, colon, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "digits":
        if arg:
            raise LswError(f"{spec!r}: digits takes no path, write digits")
        return load_digits()
    if kind == "fashion-mnist":
        return load_fashion_mnist(arg or FASHION_DIR, cache_dir)
    if kind in ("cifar10", "folder", "csv"):
        if not arg:
            raise LswError(f"{spec!r} needs a path: write {kind}:PATH")
        if kind == "cifar10":
            return load_cifar10(arg, cache_dir, progress)
        if kind == "folder":
            return load_folder(arg, cache_dir, progress)
        return load_manifest(arg, cache_dir, progress, allow_outside=allow_outside)
    raise _unknown(spec)


def builtin_sources() -> list[str]:
    """Specs usable on this machine with no path: "digits" always, "fashion-mnist" when its files exist."""
    out = ["digits"]
    try:
        fashion_files(FASHION_DIR)
        out.append("fashion-mnist")
    except LswError:
        pass
    return out
