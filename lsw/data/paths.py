"""Small path helpers shared by the folder and manifest sources."""
from __future__ import annotations

import os
from pathlib import Path


def resolves_inside(path: Path, root: Path) -> bool:
    """Whether `path`, with every symlink followed, lies under `root` (an already resolved folder).
    A symlink loop or an unreadable link counts as outside."""
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def lexically_inside(path: str, root: Path) -> bool:
    """Whether the relative path `path`, joined to `root` without following symlinks, stays under it."""
    if os.path.isabs(path):
        return False
    joined = os.path.normpath(os.path.join(root, path))
    return joined == str(root) or joined.startswith(str(root).rstrip(os.sep) + os.sep)


def printable(name: str) -> str:
    """`name` with undecodable bytes of a non-UTF-8 file name shown as U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def original_file(spec: str, sample_id: str) -> Path | None:
    """The file a sample of source `spec` was decoded from, at full resolution, when it is still there:
    folder ids are relative to the folder, manifest ids as written (relative to the manifest's folder
    unless absolute). None for built-in sets and files that moved."""
    kind, _, where = spec.partition(":")
    if kind not in ("folder", "csv") or not where:
        return None
    root = Path(where).expanduser()
    base = root if kind == "folder" else root.parent
    path = Path(sample_id) if os.path.isabs(sample_id) else base / sample_id
    return path if path.is_file() else None
