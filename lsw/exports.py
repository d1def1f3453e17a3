"""Exports the dashboard writes on the server: CSV files in $LSW_HOME/exports, asked for by file name.

The name a reviewer types is reduced to a plain file name (`safe_name`): folders, `..`, leading dots
and any character outside letters, digits, `.`, `_` and `-` cannot lead the file anywhere else or
hide it. An existing file is replaced only when the dashboard wrote it and nobody changed it since:
each export's SHA-256 is kept in a ledger (`.lsw-exports.json` in the same folder) and must match the
file on disk. A symbolic link is never replaced (nor followed), nor is anything that is not a plain
file. The CLI's `python -m lsw export --out PATH` writes where its user says.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from lsw.errors import LswError
from lsw.export import write_csv

FOLDER = "exports"
LEDGER = ".lsw-exports.json"
MAX_STEM = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def exports_dir(home: str | Path) -> Path:
    return Path(home) / FOLDER


def safe_name(name: str, default: str = "labels.csv") -> str:
    """`name` as a plain file name ending in .csv: separators and other characters outside [A-Za-z0-9._-]
    become "_", leading ".", "_", "-" are dropped, the stem is cut to MAX_STEM characters; `default`
    when nothing is left. `safe_name("../../x.csv") == "x.csv"`."""
    cleaned = _UNSAFE.sub("_", (name or "").strip()).lstrip("._-").rstrip(".")
    if not cleaned:
        cleaned = default
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or ext.lower() != "csv":
        stem, ext = cleaned, "csv"
    return f"{stem[:MAX_STEM].rstrip('.')}.{ext}" if stem else default


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_ledger(folder: Path) -> dict[str, dict]:
    try:
        data = json.loads((folder / LEDGER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _check_replaceable(target: Path, ledger: dict[str, dict]) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise LswError(f"{target} is a symbolic link: exports never replace one; choose another file name")
    if not stat.S_ISREG(st.st_mode):
        raise LswError(f"{target} exists and is not a plain file; choose another file name")
    entry = ledger.get(target.name)
    if not isinstance(entry, dict) or entry.get("sha256") != _sha256(target):
        raise LswError(f"{target} exists and is not an unchanged export written by the dashboard: "
                       "it is kept; choose another file name")


def write_export(df: pd.DataFrame | Iterable[pd.DataFrame], name: str, home: str | Path) -> Path:
    """Write `df`, or the frames it yields (`lsw.export.export_chunks`: streamed to disk), as a
    formula-safe CSV (atomically, see `lsw.export.write_csv`) named `safe_name(name)` in
    $LSW_HOME/exports and return its path. LswError when the exports folder is a symlink or the name
    is taken by a file the dashboard may not replace (see the module docstring)."""
    folder = exports_dir(home)
    if folder.is_symlink():
        raise LswError(f"the exports folder {folder} is a symbolic link: make it a plain folder")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(name)
    if target.parent != folder or target.name == LEDGER:  # cannot happen after safe_name; kept as the rule
        raise LswError(f"{name!r} is not a usable export name")
    lock = os.open(folder / ".lsw-exports.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one writer at a time, across processes
        ledger = _read_ledger(folder)
        _check_replaceable(target, ledger)
        counted = [0]

        def parts() -> Iterator[pd.DataFrame]:
            for part in [df] if isinstance(df, pd.DataFrame) else df:
                counted[0] += len(part)
                yield part

        write_csv(parts(), target)
        ledger[target.name] = {"sha256": _sha256(target), "rows": counted[0],
                               "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=LEDGER + ".", suffix=".tmp")  # never follows a link
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(ledger, f, indent=1, sort_keys=True)
        os.replace(tmp, folder / LEDGER)
    finally:
        os.close(lock)
    return target
