"""Reviewer accounts: `python -m lsw users`, hashed passwords, sessions, and the sign-in slow-down."""
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lsw.errors import LswError
from lsw.users import Sessions, SignInThrottle, UserStore, read_new_password

ROOT = Path(__file__).resolve().parents[1]


def lsw(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "LSW_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "lsw", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_cli_adds_lists_and_removes_accounts_with_hashed_passwords(tmp_path):
    r = lsw(tmp_path, "users", "add", "ann", stdin="correct horse\ncorrect horse\n")
    assert r.returncode == 0, r.stderr
    UserStore(tmp_path).add("bob", "battery staple")
    assert lsw(tmp_path, "users", "list").stdout.split() == ["ann", "bob"]

    path = tmp_path / "users.json"
    raw = path.read_text()
    assert "correct horse" not in raw and "battery staple" not in raw
    hashes = {n: u["hash"] for n, u in json.loads(raw)["users"].items()}
    assert all(h.startswith("$argon2id$") for h in hashes.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store = UserStore(tmp_path)
    assert store.verify("ann", "correct horse") and not store.verify("ann", "battery staple")
    assert not store.verify("nobody", "correct horse")

    r = lsw(tmp_path, "users", "remove", "ann")
    assert r.returncode == 0 and "removed reviewer ann" in r.stdout
    assert UserStore(tmp_path).names() == ["bob"]
    assert not UserStore(tmp_path).verify("ann", "correct horse")


def test_cli_refuses_bad_input_in_one_line(tmp_path, monkeypatch, capsys):
    from lsw.cli import main

    monkeypatch.setenv("LSW_HOME", str(tmp_path))

    def run(*args, stdin=""):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        rc = main(["users", *args])
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) <= 1 and "Traceback" not in err
        return rc, err

    assert run("add", "ann", stdin="password-one\npassword-two\n") == (2, "error: the two passwords differ: "
                                                                          "nothing was changed\n")
    rc, err = run("add", "ann", stdin="short\nshort\n")
    assert rc == 2 and "at least 8" in err
    rc, err = run("add", "ann", stdin="only-one-line\n")
    assert rc == 2 and "twice" in err
    rc, err = run("add", "../ann")
    assert rc == 2 and "not usable" in err
    assert not (tmp_path / "users.json").exists()
    assert run("add", "ann", stdin="long enough\nlong enough\n") == (0, "")
    rc, err = run("add", "ANN", stdin="other pass\nother pass\n")
    assert rc == 2 and "already exists" in err
    rc, err = run("remove", "zed")
    assert rc == 2 and "no reviewer named 'zed'" in err
    assert UserStore(tmp_path).names() == ["ann"]


def test_password_is_asked_twice_at_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    asked = []

    def ask(prompt):
        asked.append(prompt)
        return "s3cret-pass"

    assert read_new_password(Tty(), ask) == "s3cret-pass"
    assert len(asked) == 2
    answers = iter(["s3cret-pass", "s3cret-pasS"])
    with pytest.raises(LswError, match="differ"):
        read_new_password(Tty(), lambda _: next(answers))
    # a script's two lines keep spaces inside the password, drop only the line ends
    assert read_new_password(io.StringIO(" spaced pass \r\n spaced pass \r\n")) == " spaced pass "


def test_sessions_keep_only_digests_expire_and_end_on_removal(tmp_path):
    now = [1000.0]
    s = Sessions(tmp_path, clock=lambda: now[0])
    UserStore(tmp_path).add("ann", "long enough")
    token = s.create("ann", seconds=60)
    assert s.user(token) == "ann"
    assert token not in (tmp_path / "sessions.json").read_text()
    assert stat.S_IMODE((tmp_path / "sessions.json").stat().st_mode) == 0o600
    assert s.user(token + "x") is None and s.user(None) is None and s.user("") is None
    now[0] += 61
    assert s.user(token) is None
    token = s.create("ann")
    s.revoke(token)
    assert s.user(token) is None
    live = Sessions(tmp_path)  # the real clock, as `users remove` uses
    token = live.create("ann")
    assert UserStore(tmp_path).remove("ann") == 1
    assert live.user(token) is None


def test_three_wrong_passwords_in_a_row_are_slowed():
    now = [0.0]
    t = SignInThrottle(clock=lambda: now[0])
    assert t.failed("ann") == 0 and t.failed("Ann") == 0  # typos cost nothing, the name's case is ignored
    assert t.wait("ann") == 0
    assert t.failed("ann") == 5  # the third in a row
    assert t.wait("ANN") == 5 and t.wait("bob") == 0
    now[0] += 4
    assert t.wait("ann") == pytest.approx(1)
    now[0] += 1
    assert t.wait("ann") == 0
    assert t.failed("ann") == 10 and t.failed("ann") == 20  # doubles with each further failure
    assert SignInThrottle.delay(50) == 300
    t.succeeded("ann")
    assert t.wait("ann") == 0 and t.failed("ann") == 0
