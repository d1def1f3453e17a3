"""User files: an ImageFolder tree (`folder:PATH`) or a CSV manifest (`csv:PATH`).

Unusable images (corrupt, truncated, empty, not an image, over Pillow's decompression-bomb limit,
a symlink leading outside the folder) are skipped and listed in `LabeledImages.skipped`; input that
makes the whole set meaningless (no folder, no classes, a malformed manifest) raises LswError.
"""
from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lsw.data.cache import file_stamp, fingerprint, load_cached, save_cached
from lsw.data.decode import EXTENSIONS, BadImage, decode_file, stack_images
from lsw.data.source import Source
from lsw.errors import LswError
from lsw.images import LabeledImages


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except ValueError:
        return False


def _decode_all(paths: list[Path], names: list[str], progress: bool, desc: str
                ) -> tuple[list[np.ndarray], list[int], list[tuple[str, str]]]:
    """Decode `paths`; returns the arrays, the positions that decoded, and (name, reason) for the rest."""
    arrays, ok, skipped = [], [], []
    for i, (p, name) in enumerate(tqdm(list(zip(paths, names)), desc=desc, disable=not progress, unit="img")):
        try:
            arrays.append(decode_file(p))
            ok.append(i)
        except BadImage as e:
            skipped.append((name, str(e)))
    return arrays, ok, skipped


def _pack(images: np.ndarray, labels: np.ndarray, classes: list[str], ids: list[str],
          skipped: list[tuple[str, str]], **extra: np.ndarray) -> dict[str, np.ndarray]:
    return dict(images=images, labels=labels, classes=np.array(classes, dtype=str), ids=np.array(ids, dtype=str),
                skipped=np.array(skipped, dtype=str).reshape(-1, 2), **extra)


def _unpack(a: dict[str, np.ndarray]) -> LabeledImages:
    return LabeledImages(
        images=a["images"], labels=a["labels"], classes=[str(c) for c in a["classes"]], ids=[str(i) for i in a["ids"]],
        true_labels=a.get("true_labels"), trusted=a.get("trusted"),
        skipped=[(str(p), str(r)) for p, r in a["skipped"]])


def load_folder(path: str | Path, cache_dir: str | Path | None = None, progress: bool = True) -> Source:
    """One sub-folder per class (sorted names); images with extensions jpg, jpeg, png, bmp, webp."""
    root = Path(path).expanduser()
    if not root.exists():
        raise LswError(f"folder {root} does not exist: give the path of a folder with one sub-folder per class")
    if not root.is_dir():
        raise LswError(f"{root} is not a folder: give a folder with one sub-folder per class")
    real_root = root.resolve()
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise LswError(f"{root} has no class sub-folders: put each class's images in a sub-folder named after it")
    files: list[tuple[str, Path]] = []
    skipped: list[tuple[str, str]] = []
    for d in class_dirs:
        for dirpath, _, names in os.walk(d):
            for n in sorted(names):
                p = Path(dirpath) / n
                if p.suffix.lower() not in EXTENSIONS:
                    continue
                rel = p.relative_to(root).as_posix()
                if p.is_symlink() and not _inside(p, real_root):
                    skipped.append((rel, "symlink points outside the data folder"))
                    continue
                files.append((d.name, p))
    key = fingerprint("folder", str(real_root), [(p.relative_to(root).as_posix(), *file_stamp(p))
                                                 for _, p in files if p.exists()])
    cached = load_cached(cache_dir, key)
    if cached is None:
        names = [p.relative_to(root).as_posix() for _, p in files]
        arrays, ok, bad = _decode_all([p for _, p in files], names, progress, f"decode {root.name}")
        skipped += bad
        used = sorted({files[i][0] for i in ok})
        for d in class_dirs:
            if d.name not in used:
                skipped.append((d.name + "/", "no usable image: class dropped"))
        if len(used) < 2:
            raise LswError(f"{root} has usable images in {len(used)} class folder(s): "
                           "an audit needs at least 2 classes")
        label_of = {c: k for k, c in enumerate(used)}
        cached = _pack(stack_images(arrays), np.array([label_of[files[i][0]] for i in ok], dtype=np.int64), used,
                       [names[i] for i in ok], skipped)
        save_cached(cache_dir, key, cached)
    return Source(f"folder:{root}", _unpack(cached), None, key)


REQUIRED = ("path", "label")


def _allow_outside(allow: bool | None) -> bool:
    return allow if allow is not None else os.environ.get("LSW_ALLOW_OUTSIDE") == "1"


def _read_manifest(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.exists():
        raise LswError(f"manifest {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise LswError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not text.strip():
        raise LswError(f"{path} is empty: it needs a header row with the columns path,label")
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise LswError(f"{path} has no column {' or '.join(repr(c) for c in missing)} "
                       f"(found: {', '.join(columns) or 'none'}): the header must name path,label")
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    return columns, rows


def load_manifest(path: str | Path, cache_dir: str | Path | None = None, progress: bool = True,
                  allow_outside: bool | None = None) -> Source:
    """A CSV with columns path,label and optional trusted (0/1) and true_label. Relative paths resolve
    against the CSV's folder; paths leaving that folder (or absolute ones) are refused unless
    `allow_outside` (or LSW_ALLOW_OUTSIDE=1). Row numbers in messages count the header as row 1."""
    path = Path(path).expanduser()
    columns, rows = _read_manifest(path)
    base = path.resolve().parent
    outside_ok = _allow_outside(allow_outside)
    seen: dict[str, int] = {}
    files, labels, trusted, true_labels = [], [], [], []
    for n, r in enumerate(rows, start=2):
        p, label = r.get("path", ""), r.get("label", "")
        if not p:
            raise LswError(f"{path} row {n}: the path cell is empty")
        if not label:
            raise LswError(f"{path} row {n}: the label cell is empty (path {p})")
        if p in seen:
            raise LswError(f"{path} rows {seen[p]} and {n} both list {p}: each image may appear once")
        seen[p] = n
        full = Path(p) if Path(p).is_absolute() else base / p
        if not outside_ok and (Path(p).is_absolute() or not _inside(full, base)):
            raise LswError(f"{path} row {n}: {p} is outside the manifest's folder {base}; "
                           "set LSW_ALLOW_OUTSIDE=1 to allow it")
        t = r.get("trusted", "") if "trusted" in columns else ""
        if t not in ("", "0", "1"):
            raise LswError(f"{path} row {n}: trusted must be 0 or 1, got {t!r}")
        if "true_label" in columns and not r.get("true_label"):
            raise LswError(f"{path} row {n}: the true_label cell is empty")
        files.append((n, p, full))
        labels.append(label)
        trusted.append(t == "1")
        true_labels.append(r.get("true_label"))
    if not files:
        raise LswError(f"{path} lists no images: add rows path,label under the header")
    has_true = "true_label" in columns
    classes = sorted(set(labels) | (set(true_labels) if has_true else set()))
    in_trusted = {lab for lab, t in zip(labels, trusted) if t}
    only_trusted = in_trusted - {lab for lab, t in zip(labels, trusted) if not t}
    if any(trusted) and only_trusted and not all(trusted):
        lab = sorted(only_trusted)[0]
        row = next(n for (n, _, _), la, t in zip(files, labels, trusted) if la == lab)
        raise LswError(f"{path} row {row}: label {lab!r} appears only in trusted rows, never in the rows to audit")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    key = fingerprint("csv", digest, [(p, *file_stamp(f)) for _, p, f in files if f.exists()])
    cached = load_cached(cache_dir, key)
    if cached is None:
        skipped: list[tuple[str, str]] = []
        present = []
        for i, (n, p, f) in enumerate(files):
            if f.exists():
                present.append(i)
            else:
                skipped.append((f"row {n}: {p}", "file not found"))
        names = [f"row {files[i][0]}: {files[i][1]}" for i in present]
        arrays, ok, bad = _decode_all([files[i][2] for i in present], names, progress, f"decode {path.name}")
        skipped += bad
        keep = [present[i] for i in ok]
        if len(keep) == 0:
            raise LswError(f"none of the {len(files)} images listed in {path} could be read")
        label_of = {c: k for k, c in enumerate(classes)}
        extra = {"trusted": np.array([trusted[i] for i in keep], dtype=bool)}
        if has_true:
            extra["true_labels"] = np.array([label_of[true_labels[i]] for i in keep], dtype=np.int64)
        cached = _pack(stack_images(arrays), np.array([label_of[labels[i]] for i in keep], dtype=np.int64), classes,
                       [files[i][1] for i in keep], skipped, **extra)
        save_cached(cache_dir, key, cached)
    images = _unpack(cached)
    if images.trusted is not None and not images.trusted.any():
        images.trusted = None
    return Source(f"csv:{path}", images, None, key)
