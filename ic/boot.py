"""The server's imports: one gate, so that no page ever sees a half-imported library.

Two threads importing at once is a race in Python's import system. While the preparation (ic.prepare) imported
torch, a visitor's first page run imported scipy.stats, which looks for torch among the loaded modules: it found
the one still being imported ("partially initialized module 'torch' has no attribute 'Tensor'") in 1 of 4 opens
within 2 s of a start. Which thread wins must not matter, so in the server it cannot happen: `install()` puts a
gate in front of every import statement (builtins.__import__), a lock that a thread holds from the moment its
import of a module not yet loaded begins until that import statement is done. Two threads never import at once;
a thread that comes to the gate waits for the other's import to end, then finds it whole. Imports of modules
already loaded (every later run's) pass without the lock.

The server loads the engine and the pages' modules in its own thread before it serves (`preload`, from
streamlit_app.py: about 1.6 s, before `streamlit run` opens the browser), so a page run imports nothing heavy; the
preparation then imports torch and timm in its thread while pages are drawn. A page's later import (a map's
captum, say) meets the gate and waits at most for the import under way.

The server's own thread (the event loop, the process's main thread) passes: it serves every page, and made to wait
behind torch's import it answered nobody for 3 s; it imports only the web server's modules, none of which looks at
the libraries the other threads import. A thread that already holds an import lock of Python's own (an import begun
through importlib.import_module, which the gate does not see) passes without waiting: waiting there could wait for
a lock its holder needs. So does a thread after `DEADLOCK_S`, with a line in the log: a gate must never hang the
server.

Only the server installs the gate (streamlit_app.py): the CLI and the tests import in one thread.
"""

from __future__ import annotations

import builtins
import logging
import sys
import threading
from collections import deque
from importlib import _bootstrap

log = logging.getLogger(__name__)

# What every page imports from the engine, and what its first run imports lazily (the history's database, the
# classic inpainters): loaded first, so that a first page run finds them whole instead of waiting behind torch.
ENGINE = ("ic.app", "ic.experiment", "ic.explain", "ic.images", "pandas", "sqlalchemy.dialects.sqlite", "alembic.command",
          "alembic.config", "patchmatch", "PIL.PngImagePlugin", "PIL.JpegImagePlugin",
          "huggingface_hub.file_download")  # (the last: whether a hub model is on disk, for the model box's labels)
DEADLOCK_S = 60.0


class _Gate:
    """A lock handed over in the order it was asked for. threading's locks are not fair: the preparation, importing
    statement after statement, took one back before a waiting page run woke, and that run waited seconds."""

    def __init__(self) -> None:
        self._turns = threading.Condition(threading.Lock())
        self._queue: deque[int] = deque()
        self._owner: int | None = None

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        with self._turns:
            self._queue.append(me)
            if not self._turns.wait_for(lambda: self._owner is None and self._queue[0] == me, timeout):
                self._queue.remove(me)
                self._turns.notify_all()
                return False
            self._queue.popleft()
            self._owner = me
            return True

    def waiting(self) -> int:
        with self._turns:
            return len(self._queue)

    def release(self) -> None:
        with self._turns:
            self._owner = None
            self._turns.notify_all()


_gate = _Gate()
_server = threading.main_thread()  # the server's event loop: it serves every page, so it never waits
_depth = threading.local()
_original = builtins.__import__


def _loaded(name: str, globals, fromlist, level: int) -> bool:
    """Whether `import name` (with its fromlist) would find everything loaded already: then no lock is needed."""
    if level:  # relative (`from ._sync import Event`, which anyio runs on every call): its absolute name
        try:
            name = _bootstrap._resolve_name(name, _bootstrap._calc___package__(globals or {}), level)
        except (ImportError, KeyError, TypeError, ValueError):
            return False
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return False
    return all(item != "*" and hasattr(module, item) for item in fromlist or ())


def _inside_an_import() -> bool:
    """Whether this thread holds one of Python's module locks: it is inside an import the gate did not see."""
    me = threading.get_ident()
    try:
        locks = [ref() for ref in list(_bootstrap._module_locks.values())]
    except RuntimeError:  # the table changed while read: look as if inside, and pass (never wait wrongly)
        return True
    return any(lock is not None and lock.owner == me and lock.count for lock in locks)


def _gated_import(name, globals=None, locals=None, fromlist=(), level=0):
    depth = getattr(_depth, "n", 0)
    if depth or _loaded(name, globals, fromlist, level) or threading.current_thread() is _server or _inside_an_import():
        return _original(name, globals, locals, fromlist, level)
    if not _gate.acquire(DEADLOCK_S):
        log.warning("Importing %s went past the import gate after %.0f s: another thread's import did not end.",
                    name, DEADLOCK_S)
        return _original(name, globals, locals, fromlist, level)
    _depth.n = 1
    try:
        return _original(name, globals, locals, fromlist, level)
    finally:
        _depth.n = 0
        _gate.release()


def install() -> None:
    """Put the gate in front of every import statement of this process (once; the server does it at start)."""
    if builtins.__import__ is not _gated_import:
        builtins.__import__ = _gated_import


def uninstall() -> None:
    """Take the gate away again (for tests; the server keeps it)."""
    if builtins.__import__ is _gated_import:
        builtins.__import__ = _original


def waiting() -> int:
    """How many threads wait at the gate now."""
    return _gate.waiting()



def preload(names: tuple[str, ...] = ()) -> None:
    """Import the engine (`ENGINE`) and `names` now, in the server's thread before it serves, skipping any name
    this version of a library lacks: what a first page run would otherwise import, and wait for at the gate behind
    a long import of the preparation's."""
    for name in ENGINE + tuple(names):
        try:
            __import__(name)  # an import statement's way in: through the gate
        except ModuleNotFoundError:
            log.info("%s is not in this version; a first page run imports what it needs itself.", name)
