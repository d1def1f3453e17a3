"""The data roots: the folders the dashboard may open data from.

`LSW_DATA_ROOTS` lists them, separated by `os.pathsep` (":" on Linux); by default they are the folder
the dashboard was started in and $LSW_HOME. A folder, a manifest, or an image a manifest row names is
inside when its real path (every symlink followed, `..` resolved) lies under a root's real path, so
neither `../` nor a symlink leads out. The dashboard checks a spec with `check_spec` before loading
it; the CLI is the user's own shell and does not.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from lsw.errors import LswError
from lsw.home import lsw_home

ENV = "LSW_DATA_ROOTS"


def data_roots(env: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> list[Path]:
    """The roots, resolved, in order, without duplicates: $LSW_DATA_ROOTS when set and not empty, else
    [cwd (default: the current folder), $LSW_HOME]."""
    env = os.environ if env is None else env
    listed = [p for p in (env.get(ENV) or "").split(os.pathsep) if p.strip()]
    if not listed:
        listed = [str(cwd or Path.cwd()), str(lsw_home())]
    out: list[Path] = []
    for p in listed:
        real = Path(p.strip()).expanduser().resolve()
        if real not in out:
            out.append(real)
    return out


def describe(roots: list[Path]) -> str:
    return os.pathsep.join(str(r) for r in roots)


def inside(path: str | Path, roots: list[Path]) -> bool:
    """Whether `path`'s real path (symlinks followed; a missing path resolved as far as it exists) lies
    under one of `roots` (already resolved). A symlink loop counts as outside."""
    try:
        real = Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return False
    return any(real == r or real.is_relative_to(r) for r in roots)


def refusal(path: str | Path, roots: list[Path]) -> LswError:
    return LswError(f"{path} is outside the data roots ({describe(roots)}): the dashboard opens data only "
                    f"there; set {ENV} to add a folder")


def check_path(path: str | Path, roots: list[Path]) -> Path:
    """`path` when it is inside `roots`, else LswError naming the roots."""
    if not inside(path, roots):
        raise refusal(path, roots)
    return Path(path)


def check_manifest_rows(path: str | Path, roots: list[Path]) -> None:
    """LswError naming the first row (and how many) whose image lies outside `roots`. The manifest itself
    is checked by `check_path`; a manifest that cannot be parsed is left for the loader to report."""
    from lsw.data.manifest import parse_rows, read_table

    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except OSError:
        return  # missing or unreadable: load_manifest says so in its own words
    try:
        columns, table = read_table(path, raw)
        rows = parse_rows(path, columns, table, path.resolve().parent, True)
    except LswError:
        return
    outside = [r for r in rows if not inside(r.file, roots)]
    if outside:
        more = f" (and {len(outside) - 1} more row(s))" if len(outside) > 1 else ""
        r = outside[0]
        raise LswError(f"{path} row {r.number}: {r.path} is outside the data roots ({describe(roots)}){more}: "
                       f"the dashboard opens data only there; set {ENV} to add a folder")


def check_spec(spec: str, roots: list[Path]) -> None:
    """Refuse (LswError, one line naming the roots) a data spec whose path lies outside `roots`: the
    folder of `folder:`, the manifest of `csv:` and every image its rows name, the file of `cifar10:`,
    the folder of `fashion-mnist:DIR`. Specs without a path (digits, fashion-mnist) pass."""
    kind, _, arg = (spec or "").strip().partition(":")
    kind, arg = kind.strip().lower(), arg.strip()
    if kind not in ("folder", "csv", "cifar10", "fashion-mnist") or not arg:
        return
    check_path(arg, roots)
    if kind == "csv":
        check_manifest_rows(arg, roots)
