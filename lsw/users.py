"""Reviewer accounts, their sign-in sessions, and the slow-down after failed sign-ins.

Accounts live in `$LSW_HOME/users.json` (mode 0600): a name and an argon2id hash per reviewer, made
and checked by argon2-cffi (`PasswordHasher`: a random 16-byte salt per hash, the parameters kept in
the hash string), so the file never holds a password. `python -m lsw users add|remove|list`
manages it; the dashboard only reads it.

A sign-in makes a session: a random token kept by the browser in a cookie, of which the server keeps
only the SHA-256 (`$LSW_HOME/sessions.json`, mode 0600), with the reviewer's name and an expiry. A
stolen sessions file therefore signs nobody in; signing out, or removing the account, deletes the
entry, so the token stops working everywhere.

`SignInThrottle` slows guessing: after `FREE_FAILURES` wrong passwords in a row for one name, the
next try is refused, unchecked, for a delay that doubles with each further failure (5 s, 10 s, 20 s, …,
at most 5 minutes). The count is per name (case-insensitive), whether or not the name exists, so
the delay says nothing about which names are accounts; it lives in the server's memory.
"""
from __future__ import annotations

import argparse
import functools
import getpass
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lsw.atomic import atomic_write
from lsw.errors import LswError

USERS_FILE = "users.json"
SESSIONS_FILE = "sessions.json"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
SESSION_SECONDS = 7 * 24 * 3600
NAME_RULE = "1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
_NAME = re.compile(r"[^\W_][\w.@-]{0,63}")

@functools.cache
def _hasher():  # argon2id with argon2-cffi's recommended parameters; imported here so the CLI runs without it
    from argon2 import PasswordHasher
    return PasswordHasher()


def check_name(name: str) -> str:
    """`name` when it is a valid reviewer name, else LswError saying what a name may hold."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = name if isinstance(name, str) and name.isprintable() else repr(name)
        raise LswError(f"reviewer name {shown[:70]!r} is not usable: use {NAME_RULE}")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise LswError(f"the password is {len(password)} characters long: use at least {MIN_PASSWORD}")
    if len(password) > MAX_PASSWORD:
        raise LswError(f"the password is longer than {MAX_PASSWORD} characters")
    return password


def _write_private(path: Path, data: dict) -> None:
    """Write JSON atomically (`lsw.atomic.atomic_write`), readable by the owner only."""
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=1, sort_keys=True).encode("utf-8")), private=True)


def _read(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise LswError(f"cannot read the {what} file {path}: {e}; fix or remove it") from e
    if not isinstance(data, dict):
        raise LswError(f"the {what} file {path} does not hold a JSON object; fix or remove it")
    return data


class UserStore:
    """The reviewer accounts of one $LSW_HOME (see the module docstring)."""

    def __init__(self, home: str | Path) -> None:
        self.home = Path(home)
        self.path = self.home / USERS_FILE
        self._dummy: str | None = None

    def _users(self) -> dict[str, dict]:
        users = _read(self.path, "accounts").get("users", {})
        if not isinstance(users, dict):
            raise LswError(f"the accounts file {self.path} is malformed ('users' is not an object); fix or remove it")
        return users

    def names(self) -> list[str]:
        """Every reviewer name, sorted."""
        return sorted(self._users())

    def exists(self) -> bool:
        """Whether at least one account exists."""
        return bool(self._users())

    def add(self, name: str, password: str) -> None:
        """Add reviewer `name` with `password` (hashed). LswError when the name is taken (names differing
        only in case count as taken), invalid, or the password is too short."""
        check_name(name)
        check_password(password)
        users = self._users()
        taken = [n for n in users if n.casefold() == name.casefold()]
        if taken:
            raise LswError(f"reviewer {taken[0]!r} already exists: `python -m lsw users remove {taken[0]}` first "
                           "to set a new password")
        users[name] = {"hash": _hasher().hash(password), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _write_private(self.path, {"version": 1, "users": users})

    def remove(self, name: str) -> int:
        """Remove reviewer `name` and end their sessions; returns how many sessions ended."""
        users = self._users()
        if name not in users:
            known = ", ".join(sorted(users)) or "none yet"
            raise LswError(f"no reviewer named {name!r} (accounts: {known})")
        del users[name]
        _write_private(self.path, {"version": 1, "users": users})
        return Sessions(self.home).revoke_user(name)

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s. An unknown name costs the same hash check as a known one."""
        record = self._users().get(name)
        if record is None:
            if self._dummy is None:
                self._dummy = _hasher().hash(secrets.token_hex(16))
            stored = self._dummy
        else:
            stored = str(record.get("hash", ""))
        from argon2.exceptions import InvalidHashError, VerificationError
        try:
            ok = _hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            ok = False
        return ok and record is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Sessions:
    """Sign-in sessions of one $LSW_HOME: only each token's SHA-256 is stored (see the module docstring)."""

    def __init__(self, home: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(home) / SESSIONS_FILE
        self.clock = clock
        self._lock = threading.Lock()

    def _live(self) -> dict[str, dict]:
        now = self.clock()
        data = _read(self.path, "sessions").get("sessions", {})
        return {k: v for k, v in data.items() if isinstance(v, dict) and float(v.get("expires", 0)) > now}

    def create(self, name: str, seconds: float = SESSION_SECONDS) -> str:
        """A new session for `name`; returns its token (to give the browser, never stored here)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            live = self._live()
            live[_digest(token)] = {"user": name, "expires": self.clock() + seconds}
            _write_private(self.path, {"version": 1, "sessions": live})
        return token

    def user(self, token: str | None) -> str | None:
        """The name a live session `token` belongs to, else None."""
        if not token:
            return None
        record = self._live().get(_digest(token))
        return str(record["user"]) if record else None

    def revoke(self, token: str | None) -> None:
        """End the session `token` (no error when it is unknown or already ended)."""
        if not token:
            return
        with self._lock:
            live = self._live()
            if live.pop(_digest(token), None) is not None:
                _write_private(self.path, {"version": 1, "sessions": live})

    def revoke_user(self, name: str) -> int:
        """End every session of `name`; returns how many ended."""
        with self._lock:
            live = self._live()
            keep = {k: v for k, v in live.items() if v.get("user") != name}
            if len(keep) != len(live):
                _write_private(self.path, {"version": 1, "sessions": keep})
            return len(live) - len(keep)


FREE_FAILURES = 2
FIRST_DELAY = 5.0
MAX_DELAY = 300.0


@dataclass
class _Failures:
    count: int
    last: float


class SignInThrottle:
    """Failed sign-ins per name (case-insensitive) and the wait they impose (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    @staticmethod
    def delay(failures: int) -> float:
        """Seconds to wait after `failures` wrong passwords in a row: 0 for the first FREE_FAILURES,
        then FIRST_DELAY doubling each time, at most MAX_DELAY."""
        if failures <= FREE_FAILURES:
            return 0.0
        return min(FIRST_DELAY * 2 ** (failures - FREE_FAILURES - 1), MAX_DELAY)

    def wait(self, name: str) -> float:
        """Seconds left before `name` may try again (0 = now)."""
        with self._lock:
            f = self._failures.get(name.casefold())
            if f is None:
                return 0.0
            return max(0.0, f.last + self.delay(f.count) - self.clock())

    def failed(self, name: str) -> float:
        """Count a wrong password for `name`; returns the wait it imposes."""
        with self._lock:
            now = self.clock()
            key = name.casefold()
            f = self._failures.get(key)
            self._failures[key] = _Failures((f.count if f else 0) + 1, now)
            if len(self._failures) > 10_000:  # names tried once and long ago are forgotten
                self._failures = {k: v for k, v in self._failures.items() if now - v.last < MAX_DELAY * 4}
            return self.delay(self._failures[key].count)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.casefold(), None)


# -- `python -m lsw users ...` ----------------------------------------------------------------------
def read_new_password(stdin: TextIO | None = None, ask: Callable[[str], str] = getpass.getpass) -> str:
    """The new password, typed twice at the terminal (not echoed), or read as two lines from `stdin`
    when that is not a terminal (for scripts). LswError when the two differ or it is too short."""
    stdin = sys.stdin if stdin is None else stdin
    if stdin.isatty():
        first, second = ask("Password: "), ask("Repeat the password: ")
    else:
        lines = [stdin.readline(), stdin.readline()]
        if not lines[1]:
            raise LswError("standard input must hold the password twice, on two lines")
        first, second = (line.removesuffix("\n").removesuffix("\r") for line in lines)
    if not hmac.compare_digest(first.encode("utf-8", "surrogatepass"), second.encode("utf-8", "surrogatepass")):
        raise LswError("the two passwords differ: nothing was changed")
    return check_password(first)


def add_users_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="users_command", required=True)
    a = sub.add_parser("add", help="add a reviewer; the password is asked twice (or read as two lines of stdin)")
    a.add_argument("name", help=NAME_RULE)
    r = sub.add_parser("remove", help="remove a reviewer and end their sign-in sessions")
    r.add_argument("name")
    sub.add_parser("list", help="the reviewer names")


def cmd_users(args: argparse.Namespace) -> int:
    """Manage the accounts of $LSW_HOME (see the module docstring)."""
    from lsw.home import lsw_home

    store = UserStore(lsw_home())
    if args.users_command == "add":
        check_name(args.name)
        taken = [n for n in store.names() if n.casefold() == args.name.casefold()]
        if taken:  # say so before asking for a password
            raise LswError(f"reviewer {taken[0]!r} already exists: `python -m lsw users remove {taken[0]}` first "
                           "to set a new password")
        store.add(args.name, read_new_password())
        print(f"added reviewer {args.name} to {store.path}")
    elif args.users_command == "remove":
        ended = store.remove(args.name)
        print(f"removed reviewer {args.name} from {store.path}; {ended} sign-in session(s) ended")
    else:
        names = store.names()
        if not names:
            print(f"no reviewer accounts in {store.path}: add one with `python -m lsw users add NAME`")
        for name in names:
            print(name)
    return 0
