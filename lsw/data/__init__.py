"""Data sources: every spec becomes a `Source` holding in-memory `LabeledImages`.

Specs:
    digits               scikit-learn's 8x8 digits (a stratified 20% held out as test)
    fashion-mnist[:DIR]  the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)
    cifar10:PATH         the packed CIFAR-10 .npz (JPEG bytes + offsets)
    folder:PATH          one sub-folder of images per class
    csv:PATH             a manifest path,label[,trusted][,true_label]

Decoded files (cifar10, folder, csv, fashion-mnist) are fitted to `image_size` (`lsw.imagesize`) and
cached on disk under `cache_dir`, else $LSW_CACHE_DIR, else ~/.cache/lsw, keyed by the source's
fingerprint and the size (`lsw.data.cache`); their images are read-only memory maps of that cache.
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
from lsw.imagesize import check_image_size

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
                allow_outside: bool | None = None, image_size: int = 32) -> Source:
    """Load the data set named by `spec` (see the module docstring).

    cache_dir: where decoded arrays are cached (default $LSW_CACHE_DIR, else ~/.cache/lsw).
    progress: show tqdm bars on stderr while decoding.
    image_size: the side S every decoded image is fitted to (8 to 512; smaller images keep their size).
    allow_outside: csv only: accept manifest paths outside its folder (default: $LSW_ALLOW_OUTSIDE=1).
    Raises LswError with a one-line reason for any input it cannot use."""
    spec = (spec or "").strip()
    image_size = check_image_size(image_size)
    kind, colon, arg = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "digits":
        if arg:
            raise LswError(f"{spec!r}: digits takes no path, write digits")
        return load_digits()
    if kind == "fashion-mnist":
        return load_fashion_mnist(arg or FASHION_DIR, cache_dir, image_size)
    if kind in ("cifar10", "folder", "csv"):
        if not arg:
            raise LswError(f"{spec!r} needs a path: write {kind}:PATH")
        if kind == "cifar10":
            return load_cifar10(arg, cache_dir, progress, image_size)
        if kind == "folder":
            return load_folder(arg, cache_dir, progress, image_size)
        return load_manifest(arg, cache_dir, progress, allow_outside=allow_outside, image_size=image_size)
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
