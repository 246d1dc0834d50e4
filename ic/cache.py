"""A cache bounded by bytes, not by count: sixteen decoded 64-megapixel photos are 3 GB, sixteen thumbnails 1 MB.

Shared by every visitor of a server (the decoded uploads, say); thread-safe. What it keeps is made read-only,
so a caller that shares a cached array cannot change it under another visitor.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np


def size_of(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, (tuple, list)):
        return sum(size_of(item) for item in value)
    return 64


class ByteCache:
    """Least recently used first out, whenever the values together pass `max_bytes`. A value larger than the
    whole budget is returned but not kept."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get_or_make(self, key: Hashable, make: Callable[[], object]):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = make()  # outside the lock: another visitor's hit does not wait for this decode
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        size = size_of(value)
        if size > self.max_bytes:
            return value
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return value
