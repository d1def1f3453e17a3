"""Where the dashboard and the CLI keep their state: $LSW_HOME (default `.lsw/` in the checkout).

    runs/             one folder per dashboard run (`lsw.rundir`)
    reviews.sqlite    the review log (`lsw.store`)
    exports/          corrected-labels CSVs written by the dashboard (`lsw.exports`)
    users.json        reviewers' accounts, salted hashes (`lsw.users`); sessions.json their sign-ins
    compare/          `python -m lsw compare` results shown on the Compare page
    trusted/          trusted sets verified on Setup or grown for a next round (`lsw.trusted`)
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lsw_home() -> Path:
    return Path(os.environ.get("LSW_HOME") or ROOT / ".lsw")


def runs_root() -> Path:
    return lsw_home() / "runs"


def reviews_path() -> Path:
    return lsw_home() / "reviews.sqlite"


def exports_dir() -> Path:
    return lsw_home() / "exports"


def compare_root() -> Path:
    return lsw_home() / "compare"


def trusted_dir() -> Path:
    return lsw_home() / "trusted"
