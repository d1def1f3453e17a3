"""`folder:PATH`: an ImageFolder tree, one sub-folder per class (sorted names are the classes).

Images are files ending in .jpg, .jpeg, .png, .bmp or .webp (any case), at any depth under a class
folder; other files are ignored. Unusable images (empty, corrupt, truncated, not an image, over
Pillow's decompression-bomb limit, a symlink leading outside PATH, a non-UTF-8 name) are skipped
and listed in `LabeledImages.skipped`; a tree that cannot make an audit raises LswError.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lsw.data.cache import cached_splits, file_stamp, fingerprint
from lsw.data.decode import EXTENSIONS
from lsw.data.paths import is_utf8, printable, resolves_inside
from lsw.data.pool import decode_files
from lsw.data.source import Source
from lsw.errors import LswError
from lsw.images import LabeledImages

KINDS = ", ".join(sorted(e.lstrip(".") for e in EXTENSIONS))


def _is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in EXTENSIONS


def _class_dirs(root: Path) -> tuple[list[Path], list[str]]:
    """The class sub-folders (sorted, hidden ones left out) and the image files lying directly in `root`."""
    try:
        entries = sorted(root.iterdir())
    except OSError as e:
        raise LswError(f"cannot read folder {root} ({e.strerror or e}): check its permissions") from None
    dirs = [p for p in entries if not p.name.startswith(".") and p.is_dir()]
    loose = [p.name for p in entries if p.is_file() and _is_image_name(p.name)]
    return dirs, loose


def _scan(root: Path, real_root: Path, class_dir: Path
          ) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """(relative posix path, path) of the image files under `class_dir`, and (name, reason) of those
    refused without opening them."""
    files: list[tuple[str, Path]] = []
    skipped: list[tuple[str, str]] = []

    def unreadable(e: OSError) -> None:
        where = Path(e.filename).relative_to(root).as_posix() if e.filename else class_dir.name
        skipped.append((printable(where) + "/", f"cannot read folder ({e.strerror or e})"))

    for dirpath, dirnames, names in os.walk(class_dir, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for n in sorted(names):
            if not _is_image_name(n):
                continue
            p = Path(dirpath) / n
            rel = p.relative_to(root).as_posix()
            if not is_utf8(rel):
                skipped.append((printable(rel), "file name is not valid UTF-8: rename it"))
            elif not resolves_inside(p, real_root):
                skipped.append((rel, "symlink points outside the data folder"))
            else:
                files.append((rel, p))
    return files, skipped


def load_folder(path: str | Path, cache_dir: str | Path | None = None, progress: bool = True,
                image_size: int = 32) -> Source:
    """train: uint8 (N, C, S, S) memory-mapped from the decode cache, S = `image_size` (or the most common
    size's shorter side when smaller) (C = 1 when every image is grey, else 3),
    labels index the sorted class folder names that kept at least one image; ids are the paths
    relative to PATH (posix). test is None. Decoded arrays are cached by file names, sizes and mtimes."""
    root = Path(path).expanduser()
    if not root.exists():
        raise LswError(f"folder {root} does not exist: give a folder with one sub-folder of images per class")
    if not root.is_dir():
        hint = f" (for a CSV manifest use csv:{root})" if root.suffix.lower() == ".csv" else ""
        raise LswError(f"{root} is a file, not a folder{hint}: give a folder with one sub-folder per class")
    real_root = root.resolve()
    dirs, loose = _class_dirs(root)
    if not dirs:
        found = f" (found {len(loose)} image(s) lying directly in it)" if loose else ""
        raise LswError(f"{root} has no class sub-folders{found}: put each class's images in a sub-folder "
                       "named after the class")
    per_class: dict[str, list[tuple[str, Path]]] = {}
    found: dict[str, int] = {}  # image files seen per class, usable or not
    skipped = [(name, "not in a class sub-folder: ignored") for name in loose]
    for d in dirs:
        files, bad = _scan(root, real_root, d)
        per_class[d.name] = files
        found[d.name] = len(files) + len(bad)
        skipped += bad
    listed = [(c, rel, p) for c in per_class for rel, p in per_class[c]]
    if not listed:
        raise LswError(f"{root} has no images ({KINDS}) in its {len(dirs)} class sub-folder(s): "
                       "add images or check the path")
    # The skips found while listing are part of the key, so a cached skipped list is always current.
    key = fingerprint("folder", sorted(per_class), [(rel, file_stamp(p)) for _, rel, p in listed], skipped)

    def build(scratch) -> tuple[LabeledImages, None]:
        images, ok, bad = decode_files([p for *_, p in listed], [rel for _, rel, _ in listed], scratch,
                                       image_size, progress, root.name or str(root))
        dropped = skipped + bad
        if not ok:
            first = f"; first: {bad[0][0]}: {bad[0][1]}" if bad else ""
            raise LswError(f"none of the {len(listed)} images in {root} could be read{first}")
        used = sorted({listed[i][0] for i in ok})
        for c in sorted(per_class):
            if c not in used:
                reason = "no usable image" if found[c] else "empty class folder"
                dropped.append((c + "/", f"{reason}: class dropped"))
        if len(used) < 2:
            raise LswError(f"{root} has usable images in only one class folder ({used[0]}): an audit needs "
                           "at least 2 classes, add a sub-folder per class")
        label_of = {c: k for k, c in enumerate(used)}
        labels = np.array([label_of[listed[i][0]] for i in ok], dtype=np.int64)
        return LabeledImages(images, labels, used, [listed[i][1] for i in ok], skipped=dropped), None

    train, _ = cached_splits(cache_dir, "folder", key, image_size, build)
    return Source(f"folder:{root}", train, None, key)
