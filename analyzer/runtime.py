"""Process-wide settings made once at the command line's start (the edge): nothing here is imported by the
pure stages."""

from __future__ import annotations

import ctypes
import os
import platform

_M_ARENA_MAX = -8  # glibc mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for this process and the processes it starts; True when it took effect.

    glibc gives each thread that allocates its own arena (up to 8 per core), and freed frame buffers stay
    in the arena of the thread that used them: with decode, pose, MediaPipe and encoder threads the peak
    RSS grows with the thread count, not the clip. Two arenas cut the peak of ``hinge analyze`` on a
    1080p clip by 56-62 MB at the same speed (benchmarks/results/2026-11-27_threads_and_arenas.md). A
    ``MALLOC_ARENA_MAX`` already in the environment is the user's choice and is left alone; elsewhere
    than glibc this does nothing and says so (False).
    """
    if "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)  # read by glibc at the start of child processes
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas))  # the process's own libc
    except (OSError, AttributeError):
        return False
