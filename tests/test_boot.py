"""The server's import gate (ic/boot.py): a thread never sees a module another thread is still importing.

The race is rebuilt with two small modules: `slowlib` is imported by one thread and stays half-imported until the
test lets it finish; `prober` is imported by another thread meanwhile and, as scipy does with torch, reads
slowlib from sys.modules. Threads meet on events, never on clocks."""

import os
import subprocess
import sys
import threading

import pytest

from ic import boot

from conftest import ROOT

SLOWLIB = """
import sys
hold = sys.modules["gatecheck_events"]
hold.started.set()
hold.go.wait(60)
VALUE = 42
"""
PROBER = """
import sys
found = sys.modules.get("slowlib")
SEEN = found.VALUE if found is not None else "not loaded"
"""


@pytest.fixture
def modules(tmp_path, monkeypatch):
    (tmp_path / "slowlib.py").write_text(SLOWLIB)
    (tmp_path / "prober.py").write_text(PROBER)
    monkeypatch.syspath_prepend(str(tmp_path))
    events = type(sys)("gatecheck_events")
    events.started, events.go = threading.Event(), threading.Event()
    monkeypatch.setitem(sys.modules, "gatecheck_events", events)
    yield events
    for name in ("slowlib", "prober"):
        sys.modules.pop(name, None)
    boot.uninstall()


def _race(events, gated: bool) -> dict:
    """Thread A imports slowlib and holds inside it; thread B imports prober; then A may finish."""
    found = {}

    def a():
        import slowlib  # noqa: F401

    def b():
        try:
            import prober

            found["seen"] = prober.SEEN
        except AttributeError as exc:  # what the page saw: a partially initialized module
            found["error"] = str(exc)

    first = threading.Thread(target=a)
    first.start()
    assert events.started.wait(60)
    second = threading.Thread(target=b)
    second.start()
    if gated:
        while boot.waiting() == 0 and second.is_alive():  # B has reached the gate (a condition, not a clock)
            threading.Event().wait(0.001)
    else:
        second.join(60)  # without the gate B runs into the half-imported module at once
    events.go.set()
    first.join(60)
    second.join(60)
    return found


def test_without_the_gate_a_second_thread_sees_a_half_imported_module(modules):
    found = _race(modules, gated=False)
    assert "partially initialized module 'slowlib'" in found["error"]


def test_with_the_gate_the_second_thread_waits_and_finds_the_module_whole(modules):
    boot.install()
    assert _race(modules, gated=True) == {"seen": 42}


def test_modules_already_loaded_pass_the_gate_while_another_import_is_under_way(modules):
    boot.install()
    first = threading.Thread(target=lambda: __import__("slowlib"))
    first.start()
    assert modules.started.wait(60)
    done = threading.Event()

    def loaded_again():
        import json  # noqa: F401  (loaded long ago: no lock, no wait)

        from ic import boot  # noqa: F401

        done.set()

    other = threading.Thread(target=loaded_again)
    other.start()
    other.join(60)
    assert done.is_set() and boot.waiting() == 0
    modules.go.set()
    first.join(60)


def test_torch_hubs_folder_is_found_without_importing_torch_and_agrees_with_torch(tmp_path):
    """LaMa's weights are looked for in torch hub's folder: a restarted server's first page must not import torch
    (2 s) to name it, and the name must be torch's own."""
    script = ("import sys; from ic.paths import torch_hub_checkpoints as hub; before = hub(); "
              "assert 'torch' not in sys.modules; import torch; assert before == hub(), (before, hub())")
    clean = {key: value for key, value in os.environ.items() if key not in ("TORCH_HOME", "XDG_CACHE_HOME")}
    for env in ({"TORCH_HOME": str(tmp_path / "home")}, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}, {}):
        done = subprocess.run([sys.executable, "-c", script], env={**clean, **env}, capture_output=True, text=True,
                              cwd=ROOT)
        assert done.returncode == 0, done.stderr[-2000:]
