"""One compute slot for the whole process.

Heavy work (classification, activation maps, LaMa) takes the slot, so many
visitors' requests queue instead of fighting over the cores: torch and ONNX
Runtime each use every core, and only one of them runs at a time.
"""

from __future__ import annotations

import contextlib
import threading

_lock = threading.RLock()
_count = threading.Lock()
_queued = 0  # holding or waiting for the slot


@contextlib.contextmanager
def slot():
    global _queued
    with _count:
        _queued += 1
    try:
        with _lock:
            yield
    finally:
        with _count:
            _queued -= 1


def queued() -> int:
    """How many pieces of work hold or wait for the slot right now."""
    return _queued
