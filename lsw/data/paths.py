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
