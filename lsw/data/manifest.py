"""`csv:PATH`: a manifest with a header naming the columns `path,label` and optionally `trusted` (0/1,
empty = 0) and `true_label`.

Labels are class names; the classes are the sorted union of labels and true labels. Relative paths
resolve against the manifest's folder; a path leaving it (`../`, absolute) is refused unless
`allow_outside` (or $LSW_ALLOW_OUTSIDE=1). Row numbers count the header as row 1, as a spreadsheet
does. Rows whose image is missing or unusable are skipped and listed; a malformed manifest raises
LswError naming the row.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsw.data.cache import cached_splits, file_stamp, fingerprint
from lsw.data.paths import lexically_inside, resolves_inside
from lsw.data.pool import decode_files
from lsw.data.source import Source
from lsw.errors import LswError
from lsw.images import LabeledImages

REQUIRED = ("path", "label")
TRUSTED_VALUES = {"": False, "0": False, "1": True}


@dataclass
class Row:
    """One manifest row: its number (header = 1), the path as written and resolved, and its cells."""

    number: int
    path: str
    file: Path
    label: str
    trusted: bool
    true_label: str | None


def allow_outside_default(allow: bool | None) -> bool:
    """`allow` when given, else whether $LSW_ALLOW_OUTSIDE is 1 / true / yes."""
    if allow is not None:
        return allow
    return os.environ.get("LSW_ALLOW_OUTSIDE", "").strip().lower() in ("1", "true", "yes")


def show(value: str) -> str:
    """`value` as is when it prints on one line, else its repr (a message stays one line)."""
    return value if value.isprintable() else repr(value)


def _read_text(path: Path) -> bytes:
    if not path.exists():
        raise LswError(f"manifest {path} does not exist: give a CSV file with a header row path,label")
    if path.is_dir():
        raise LswError(f"{path} is a folder, not a CSV file (for an image folder use folder:{path})")
    try:
        return path.read_bytes()
    except OSError as e:
        raise LswError(f"cannot read manifest {path} ({e.strerror or e}): check its permissions") from None


def read_table(path: Path, raw: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(columns, [(row number, {column: stripped cell})]) of the manifest; blank rows are left out."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LswError(f"{path} is not UTF-8 text (bad byte at offset {e.start}): save it as CSV "
                       "UTF-8") from None
    if not text.strip():
        raise LswError(f"{path} is empty: it needs a header row naming the columns path,label")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0  # the row last read; a csv.Error is in the next one
    try:
        header = next(reader)
        number = 1
        columns = [c.strip().lower() for c in header]
        twice = sorted({c for c in columns if c and columns.count(c) > 1})
        if twice:
            raise LswError(f"{path}: column {twice[0]!r} appears more than once in the header: keep one")
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            hint = ""
            if len(columns) == 1 and any(sep in header[0] for sep in ";\t|"):
                hint = " (the file seems to use another separator: save it comma-separated)"
            found = ", ".join(repr(c) for c in columns) or "none"
            raise LswError(f"{path} has no column {' or '.join(repr(c) for c in missing)}{hint}; found "
                           f"{found}: the header must name path,label")
        rows = []
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue
            if any("\0" in c for c in cells):
                raise LswError(f"{path} row {number} contains a NUL character: save the manifest as plain "
                               "CSV text")
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
                raise LswError(f"{path} row {number} has {len(cells)} cells but the header has "
                               f"{len(columns)}: put paths or labels that contain commas in double quotes")
            rows.append((number, {col: cell.strip() for col, cell in zip(columns, cells) if col}))
    except csv.Error as e:
        raise LswError(f"{path} row {number + 1}: not valid CSV ({e}): check the double quotes from that row "
                       "on") from None
    return columns, rows


def parse_rows(path: Path, columns: list[str], table: list[tuple[int, dict[str, str]]], base: Path,
               outside_ok: bool) -> list[Row]:
    """Checks every row (LswError naming the row) and resolves its path against `base`."""
    seen: dict[str, int] = {}
    rows = []
    has_true = "true_label" in columns
    for n, cells in table:
        p, label = cells.get("path", ""), cells.get("label", "")
        if not p:
            raise LswError(f"{path} row {n}: the path cell is empty: fill it or delete the row")
        if not label:
            raise LswError(f"{path} row {n}: the label cell is empty (path {show(p)}): fill it or delete "
                           "the row")
        t = cells.get("trusted", "")
        if t not in TRUSTED_VALUES:
            raise LswError(f"{path} row {n}: trusted must be 0 or 1, got {t!r}")
        true_label = cells.get("true_label", "") if has_true else None
        if has_true and not true_label:
            raise LswError(f"{path} row {n}: the true_label cell is empty: fill it or drop the true_label "
                           "column")
        if not outside_ok and not lexically_inside(p, base):
            raise LswError(f"{path} row {n}: {show(p)} is outside the manifest's folder {base}: move the "
                           "image under it, or allow this with LSW_ALLOW_OUTSIDE=1")
        file = Path(p) if os.path.isabs(p) else base / p
        norm = os.path.normpath(file)
        if norm in seen:
            raise LswError(f"{path} rows {seen[norm]} and {n} both list {show(p)}: each image may appear "
                           "once, delete one of the rows")
        seen[norm] = n
        rows.append(Row(n, p, file, label, TRUSTED_VALUES[t], true_label))
    if not rows:
        raise LswError(f"{path} lists no images: add rows path,label under the header")
    return rows


def _check_trusted_classes(path: Path, rows: list[Row]) -> None:
    """A label given only on trusted rows would be a class the audited rows can never have."""
    if not any(r.trusted for r in rows) or all(r.trusted for r in rows):
        return
    audited = {r.label for r in rows if not r.trusted}
    first: dict[str, int] = {}
    for r in rows:
        if r.label not in audited:
            first.setdefault(r.label, r.number)
    if not first:
        return
    fix = "never in the rows to audit: add audited rows of that class or remove it"
    if len(first) == 1:
        (label, n), = first.items()
        raise LswError(f"{path} row {n}: label {label!r} appears only in trusted rows, {fix}")
    named = ", ".join(f"{label!r} (row {first[label]})" for label in sorted(first)[:5])
    more = f" and {len(first) - 5} more" if len(first) > 5 else ""
    raise LswError(f"{path}: labels {named}{more} appear only in trusted rows, {fix}")


def load_manifest(path: str | Path, cache_dir: str | Path | None = None, progress: bool = True,
                  allow_outside: bool | None = None, image_size: int = 32) -> Source:
    """train: uint8 (N, C, S, S) memory-mapped from the decode cache, S = `image_size` (or the most common
    size's shorter side when smaller) (C = 1 when every image is grey, else 3);
    labels index the classes; trusted bool (N,) or None when no row is trusted; true_labels int64 (N,)
    when the manifest has that column. ids are the paths as written. test is None."""
    path = Path(path).expanduser()
    raw = _read_text(path)
    columns, table = read_table(path, raw)
    base = path.resolve().parent
    outside_ok = allow_outside_default(allow_outside)
    rows = parse_rows(path, columns, table, base, outside_ok)
    _check_trusted_classes(path, rows)
    has_true = "true_label" in columns
    classes = sorted({r.label for r in rows} | ({r.true_label for r in rows} if has_true else set()))
    # Symlinks leading outside the folder are skipped (as in folder:), not refused.
    outside = {r.number for r in rows if not outside_ok and not resolves_inside(r.file, base)}
    stamps = [(r.path, "outside" if r.number in outside else file_stamp(r.file)) for r in rows]
    key = fingerprint("csv", hashlib.sha256(raw).hexdigest(), stamps)

    def build(scratch) -> tuple[LabeledImages, None]:
        name = [f"row {r.number}: {r.path}" for r in rows]
        skipped, present = [], []
        for i, r in enumerate(rows):
            if r.number in outside:
                skipped.append((name[i], "symlink points outside the manifest's folder"))
            elif not r.file.exists() and not r.file.is_symlink():
                skipped.append((name[i], "file not found"))
            else:
                present.append(i)
        images, ok, bad = decode_files([rows[i].file for i in present], [name[i] for i in present], scratch,
                                       image_size, progress, path.name)
        keep = [present[i] for i in ok]
        order = {n: i for i, n in enumerate(name)}
        skipped = sorted(skipped + bad, key=lambda s: order[s[0]])
        if not keep:
            first = f"; first: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
            raise LswError(f"none of the {len(rows)} images listed in {path} could be read{first}")
        given = sorted({rows[i].label for i in keep})
        if len(given) < 2:
            raise LswError(f"the usable rows of {path} all have the label {given[0]!r}: an audit needs at "
                           "least 2 classes")
        label_of = {c: k for k, c in enumerate(classes)}
        trusted = np.array([rows[i].trusted for i in keep], dtype=bool)
        labels = np.array([label_of[rows[i].label] for i in keep], dtype=np.int64)
        true_labels = None
        if has_true:
            true_labels = np.array([label_of[rows[i].true_label] for i in keep], dtype=np.int64)
        return LabeledImages(images, labels, classes, [rows[i].path for i in keep], true_labels=true_labels,
                             trusted=trusted if trusted.any() else None, skipped=skipped), None

    train, _ = cached_splits(cache_dir, "csv", key, image_size, build)
    return Source(f"csv:{path}", train, None, key)
