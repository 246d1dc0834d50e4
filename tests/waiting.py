"""Waiting on a condition, never on a clock: a test that sleeps a fixed time fails on a busy machine and wastes
time on a quiet one."""

import time


def until(condition, timeout_s: float, what: str, every_s: float = 0.05):
    """Wait until `condition()` gives something true, and return it; TimeoutError naming `what` after `timeout_s`.
    For what a browser cannot wait on (a server's answers, a process, a database, a file); the browser's own
    conditions are awaited in the browser (tests/browser_support.py: `idle`). The one sleep is between looks."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(every_s)
