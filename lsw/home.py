"""$LSW_HOME: the folder that holds everything the dashboard keeps (runs, reviews, accounts, exports)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lsw_home() -> Path:
    """$LSW_HOME, default <checkout>/.lsw: runs/, reviews.sqlite, users.json, sessions.json, exports/."""
    return Path(os.environ.get("LSW_HOME") or ROOT / ".lsw")
