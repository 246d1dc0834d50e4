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
_holders = 0


@contextlib.contextmanager
def slot():
    global _holders
    with _lock:
        with _count:
            _holders += 1
        try:
            yield
        finally:
            with _count:
                _holders -= 1


def busy() -> bool:
    """Whether some work holds the slot right now (a new request would wait)."""
    return _holders > 0
