"""Optional password for review actions and export: env LSW_PASSWORD (or one the caller passes)."""
from __future__ import annotations

import hmac
import os


def configured_password(extra: str | None = None) -> str | None:
    """The password in force: `extra` (e.g. from Streamlit secrets) else $LSW_PASSWORD, else None."""
    return extra or os.environ.get("LSW_PASSWORD") or None


def check_password(given: str | None, expected: str | None = None) -> bool:
    """True when no password is configured, or `given` matches it (constant-time comparison)."""
    want = configured_password(expected)
    if want is None:
        return True
    return given is not None and hmac.compare_digest(given.encode(), want.encode())
