"""The process-wide malloc arena cap made at the command line's start."""

import os
import subprocess
import sys

import pytest

from analyzer import runtime


def test_the_cap_reaches_child_processes_and_respects_a_users_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    took = runtime.limit_malloc_arenas(2)
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    assert took == sys.platform.startswith("linux")  # glibc here; elsewhere a no-op that says so
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['MALLOC_ARENA_MAX'])"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "6")
    assert runtime.limit_malloc_arenas(2) is False
    assert os.environ["MALLOC_ARENA_MAX"] == "6"
