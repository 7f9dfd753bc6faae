"""``hinge users`` and ``hinge serve --help``: one-line errors and exit codes, tokens stored only as hashes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from analyzer.cli import main
from api.accounts import hash_token


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_add_link_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(capsys, "users", "--data-dir", data, "add", "ann", "--role", "athlete")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert len(token) >= 40
    assert run(capsys, "users", "--data-dir", data, "add", "cora", "--role", "coach")[0] == 0
    code, out, _ = run(capsys, "users", "--data-dir", data, "link", "cora", "ann")
    assert (code, out.strip()) == (0, "linked coach cora to athlete ann")
    assert "already linked" in run(capsys, "users", "--data-dir", data, "link", "cora", "ann")[1]
    code, out, _ = run(capsys, "users", "--data-dir", data, "list")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    assert "athlete" in lines[0] and "ann" in lines[0] and "coaches: cora" in lines[0]
    assert "coach" in lines[1] and "athletes: ann" in lines[1]
    with sqlite3.connect(tmp_path / "data" / "hinge.db") as db:
        stored = [row[0] for row in db.execute("select token_sha256 from users")]
    assert hash_token(token) in stored and token not in stored


@pytest.mark.parametrize(("argv", "message"), [
    (("add", "ann", "--role", "athlete"), "a user named 'ann' already exists"),
    (("add", "../x", "--role", "athlete"), "names are 1-64 letters"),
    (("link", "cora", "nobody"), "no user named 'nobody'"),
    (("link", "ann", "cora"), "'ann' is an athlete, not a coach"),
    (("link", "cora", "cora"), "'cora' is a coach, not an athlete"),
])
def test_users_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                                   message: str) -> None:
    data = str(tmp_path / "data")
    run(capsys, "users", "--data-dir", data, "add", "ann", "--role", "athlete")
    run(capsys, "users", "--data-dir", data, "add", "cora", "--role", "coach")
    code, out, err = run(capsys, "users", "--data-dir", data, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_serve_help_shows_the_settings_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--help"])
    assert stopped.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    defaults = (("--host", "127.0.0.1"), ("--port", "8000"), ("--workers", "1"), ("--data-dir", "hinge-data"))
    for flag, default in defaults:
        assert flag in out and f"default: {default}" in out


def test_serve_refuses_a_bad_setting_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--workers", "0")
    assert code == 2 and err.startswith("error: invalid setting workers") and len(err.strip().splitlines()) == 1


def test_importing_the_cli_and_the_service_commands_stays_light() -> None:
    """``hinge`` start-up and ``import analyzer`` load no web framework, database or codec."""
    import subprocess
    import sys

    code = ("import sys, analyzer, analyzer.cli, api.cli; "
            "print(','.join(m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'av', 'mediapipe', 'dask') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == ""
