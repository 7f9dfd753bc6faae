"""The process-wide malloc arena cap made at the command line's start."""

import os
import platform
import subprocess
import sys

import pytest

from analyzer import runtime


def test_the_cap_reaches_child_processes_and_respects_a_users_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the arena cap is a glibc setting; elsewhere it is a no-op")
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert runtime.limit_malloc_arenas(2) is True
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['MALLOC_ARENA_MAX'])"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "6")
    assert runtime.limit_malloc_arenas(2) is False
    assert os.environ["MALLOC_ARENA_MAX"] == "6"
