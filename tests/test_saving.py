"""Saving never loses an experiment silently: another program holding the history's write lock delays
what is written, the page says so while anything waits, and everything lands once the lock is gone."""

import subprocess
import sys
import time

import pytest
from waiting import until

from ic.app import get_workbench
from ic.history import HistoryStore, open_store
from ic.history.saver import Saver
from ic.images import decode_mask

from conftest import SAMPLES, open_page
from test_public_and_faults import paint

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock, as another program's long transaction holds it
print("locked", flush=True)
time.sleep(float(sys.argv[2]))  # fixed on purpose: how long the lock is held is what the tests vary
db.execute("COMMIT")
"""


def hold_lock(store: HistoryStore, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(store.path), str(seconds)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def waiting_notices(app) -> list[str]:
    return [w.value for w in app.warning if "not saved yet" in w.value]


def stroke(half: str):
    """The left or right half of the tripod in camera.png: two removals at different places."""
    mask = decode_mask(SAMPLES / "camera_tripod_mask.png", (512, 512))
    mask[:, 256:] = False if half == "left" else mask[:, 256:]
    mask[:, :256] = False if half == "right" else mask[:, :256]
    return mask


@pytest.mark.parametrize("seconds", [10, 60])
def test_removals_during_a_held_write_lock_wait_visibly_and_all_land(seconds):
    visitor = "7" * 32
    store = open_store()
    app = open_page(timeout=180, visitor=visitor)
    holder = hold_lock(store, seconds)
    started = time.monotonic()
    try:
        paint(app, stroke("left"), flush=False)
        assert not app.exception and app.session_state["desk"].edit.removals == 1
        assert any(n.startswith("1 removal not saved yet") for n in waiting_notices(app)), [w.value for w in app.warning]
        assert "restarts" in waiting_notices(app)[0]  # it says what a restart would cost
        paint(app, stroke("left") | stroke("right"), flush=False)  # as the canvas sends it
        assert app.session_state["desk"].edit.removals == 2
        assert any(n.startswith("2 removals not saved yet") for n in waiting_notices(app))
        assert time.monotonic() - started < seconds - 2  # the page did not wait for the lock
        assert store.experiments.count(visitor) == 0
    finally:
        holder.wait(timeout=seconds + 30)
    assert get_workbench().history.saving.flush(60)
    app.run()
    assert not waiting_notices(app)  # gone once written
    assert store.experiments.count(visitor) == 2  # each removal kept exactly once
    assert app.session_state["desk"].edit.removals == 2


def test_the_saver_writes_each_job_once_in_order_after_a_lock(tmp_path):
    store = HistoryStore(tmp_path, busy_timeout_s=0.2)
    saver = Saver(store, backoff_s=(0.05, 0.2))
    writes = []

    def job(n):
        def write(s):
            s.experiments.annotate("no such experiment", "me", note=str(n))  # a write: it needs the lock
            writes.append(n)
        return write

    holder = hold_lock(store, 2)
    try:
        for n in range(3):
            saver.submit("me", job(n))
        until(saver.stalled, 30, "the saver trying to write against the lock")
        assert saver.pending("me") == 3 and saver.pending("someone else") == 0 and writes == []
    finally:
        holder.wait(timeout=30)
    assert saver.wait(30)
    assert writes == [0, 1, 2] and saver.pending() == 0


def test_the_queue_is_bounded_and_says_so(tmp_path):
    from ic.history.saver import QueueFull

    store = HistoryStore(tmp_path, busy_timeout_s=0.2)
    saver = Saver(store, max_pending=2, backoff_s=(0.05, 0.2))
    holder = hold_lock(store, 2)
    try:
        for _ in range(2):
            saver.submit("me", lambda s: s.experiments.annotate("none", "me", note="x"))
        with pytest.raises(QueueFull, match="already wait"):
            saver.submit("me", lambda s: None)
    finally:
        holder.wait(timeout=30)
    assert saver.wait(30) and saver.pending() == 0
