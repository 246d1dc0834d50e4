"""A reload (or a server restart) brings back the visitor's current edit, its undo stack and their settings."""

import sqlite3

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ic.app import Workbench, get_workbench
from ic.history import HistoryStore

from conftest import SAMPLES, open_page, sample
from test_public_and_faults import paint

ME, YOU = "a" * 32, "b" * 32


def box(shape, top, left, size=60) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[top:top + size, left:left + size] = True
    return mask


def restarted(folder) -> Workbench:
    """A new workbench on the same data folder: what a server restart starts with."""
    return Workbench(folder)


def removed_twice(bench: Workbench, owner: str = ME):
    edit = bench.desk.begin(owner, sample("camera.png"), "camera.png", source_key="sample:camera.png")
    for left in (40, 300):
        bench.actions.remove(edit, box(edit.shape, 200, left), owner=owner, model="tf_efficientnet_lite0",
                     inpainter="telea")
    bench.history.saving.flush(30)
    return edit


def test_a_restart_brings_back_the_edit_with_its_undo_stack_and_experiments(tmp_path):
    bench = Workbench(tmp_path)
    edit = removed_twice(bench)
    bench.desk.move(edit, "undo", owner=ME)
    bench.history.saving.flush(30)

    back = restarted(tmp_path).desk.resume(ME)
    assert back is not None and back.source_key == back.chosen_key == "sample:camera.png"
    assert back.edit.removals == 1 and back.edit.can_undo and back.edit.can_redo
    assert np.array_equal(back.edit.edited, edit.edited) and np.array_equal(back.edit.mask, edit.mask)
    kept = {row.id for row in bench.history.store.experiments.list(ME)}
    assert set(back.experiment_ids.values()) == kept and sorted(back.experiment_ids) == [1, 2]
    back.edit.redo()
    assert back.edit.removals == 2 and np.array_equal(back.edit.mask, box(edit.shape, 200, 40) | box(edit.shape, 200, 300))
    assert restarted(tmp_path).desk.resume(YOU) is None  # another visitor gets nothing of mine


def test_a_removal_after_undo_drops_the_redo_state_from_the_store_too(tmp_path):
    bench = Workbench(tmp_path)
    edit = removed_twice(bench)
    bench.desk.move(edit, "undo", owner=ME)
    bench.actions.remove(edit, box(edit.shape, 40, 40), owner=ME, model="tf_efficientnet_lite0", inpainter="telea")
    bench.history.saving.flush(30)
    back = restarted(tmp_path).desk.resume(ME)
    assert back.edit.removals == 2 and not back.edit.can_redo
    assert np.array_equal(back.edit.edited, edit.edited)
    back.edit.undo()
    back.edit.undo()
    assert np.array_equal(back.edit.edited, back.edit.original) and not back.edit.mask.any()


def test_the_stored_undo_stack_is_bounded_like_the_edit(tmp_path, monkeypatch):
    monkeypatch.setattr("ic.experiment.MAX_UNDO", 3)
    bench = Workbench(tmp_path)
    edit = bench.desk.begin(ME, sample("camera.png"), "camera.png", source_key="sample:camera.png")
    for step in range(5):
        bench.actions.remove(edit, box(edit.shape, 20 + 90 * step, 20, 40), owner=ME, model="tf_efficientnet_lite0",
                     inpainter="telea")
    bench.history.saving.flush(30)
    with sqlite3.connect(bench.history.store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM desk_steps").fetchone()[0] == 3
    back = restarted(tmp_path).desk.resume(ME)
    assert back.edit.removals == 5 and np.array_equal(back.edit.edited, edit.edited)


def test_an_upload_is_brought_back_from_its_own_bytes_at_full_resolution(tmp_path):
    data = (SAMPLES / "rocket.jpg").read_bytes()
    from ic.images import decode_image

    bench = Workbench(tmp_path)
    edit = bench.desk.begin(ME, decode_image(data), "my rocket.jpg", source_key="upload:xyz", data=data,
                            max_side=256)
    bench.actions.remove(edit, box(edit.shape, 100, 60, 40), owner=ME, model="tf_efficientnet_lite0", inpainter="telea")
    bench.history.saving.flush(30)
    back = restarted(tmp_path).desk.resume(ME)
    assert back.edit.name == "my rocket.jpg" and back.edit.full.shape == edit.full.shape
    assert np.array_equal(back.edit.export(), edit.export())


def test_an_experiment_continued_from_history_comes_back_even_once_deleted(tmp_path):
    bench = Workbench(tmp_path)
    removed_twice(bench)
    experiment = bench.history.store.experiments.get(bench.history.store.experiments.list(ME)[0].id, ME)
    bench.desk.continue_experiment(ME, experiment, mine=True, chosen_key="sample:coffee.png")
    bench.history.saving.flush(30)
    bench.history.store.experiments.delete(experiment.id, ME)  # its original stays while the desk needs it
    back = restarted(tmp_path).desk.resume(ME)
    assert back.source_key == f"history:{experiment.id}" and back.chosen_key == "sample:coffee.png"
    assert np.array_equal(back.edit.edited, experiment.images["edited"]) and back.edit.removals == 1


def test_clear_and_the_age_limit_forget_the_desk_and_its_images(tmp_path):
    bench = Workbench(tmp_path)
    removed_twice(bench)
    bench.desk.remember_settings(ME, {"top_k": 7})
    bench.history.saving.flush(30)
    bench.history.store.clear(ME)
    assert restarted(tmp_path).desk.resume(ME) is None
    with sqlite3.connect(bench.history.store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0
    assert bench.desk.settings(ME) == {"top_k": 7}  # settings are not history

    removed_twice(bench)
    with sqlite3.connect(bench.history.store.path) as db:
        db.execute("UPDATE desks SET updated_at = '2020-01-01T00:00:00+00:00'")
        db.execute("UPDATE visitors SET updated_at = '2020-01-01T00:00:00+00:00'")
    bench.history.store.prune(YOU, 0, max_age_days=7)
    assert restarted(tmp_path).desk.resume(ME) is None and bench.desk.settings(ME) == {}


def test_nothing_is_brought_back_where_the_photo_no_longer_matches(tmp_path):
    bench = Workbench(tmp_path)
    removed_twice(bench)
    with sqlite3.connect(bench.history.store.path) as db:
        db.execute("UPDATE desks SET source_key = 'sample:coffee.png'")  # another photo than the states'
        db.execute("UPDATE desks SET max_side = 300")
    assert restarted(tmp_path).desk.resume(ME) is None
    with sqlite3.connect(bench.history.store.path) as db:
        db.execute("UPDATE desks SET source_key = 'sample:gone.png'")
    assert restarted(tmp_path).desk.resume(ME) is None


def test_an_older_database_gains_the_tables_and_keeps_its_experiments(tmp_path):
    from ic.history.db import Database
    from ic.history.schema import migrate

    migrate(Database(path=tmp_path / "history.sqlite3").engine, target="0005")
    with sqlite3.connect(tmp_path / "history.sqlite3", isolation_level=None) as db:
        db.execute("DROP TABLE alembic_version")  # as the app wrote it before Alembic: user_version 5 alone
    store = HistoryStore(tmp_path)
    assert store.desks.get(ME) is None and store.desks.settings(ME) == {}


# --- the page -----------------------------------------------------------------------------------

def explore(visitor: str) -> AppTest:
    return open_page(timeout=120, visitor=visitor)


def reload(visitor: str, restart: bool = False) -> AppTest:
    """F5: a new session for the same visitor; with `restart`, also a new server process's workbench."""
    if restart:
        from ic.models import models

        models().forget_instances("workbench")
    return explore(visitor)


@pytest.mark.parametrize("restart", [False, True], ids=["F5", "server restart"])
def test_f5_brings_back_the_edit_the_undo_stack_settings_and_the_tutorial_choice(tripod_mask, restart):
    app = explore(ME)
    app.button(key="tutorial-ok").click().run()
    app.sidebar.slider(key="top_k").set_value(8).run()
    app.sidebar.radio(key="preprocess").set_value("center").run()
    app.sidebar.button(key="sample-camera.png").click().run()
    paint(app, tripod_mask)
    shape = app.session_state["desk"].edit.shape
    paint(app, box(shape, 30, 30))
    app.button[[b.label for b in app.button].index("Undo")].click().run()
    get_workbench().history.saving.flush(30)
    edited = app.session_state["desk"].edit.edited

    again = reload(ME, restart)
    assert not again.exception and not again.error
    desk = again.session_state["desk"]
    assert desk.edit.name == "camera.png" and desk.edit.removals == 1 and desk.edit.can_redo
    assert np.array_equal(desk.edit.edited, edited)
    assert again.sidebar.slider(key="top_k").value == 8 and again.sidebar.radio(key="preprocess").value == "center"
    assert len(again.table[0].value) == 8  # the table shows the kept top-k
    assert "tutorial-ok" not in [b.key for b in again.button]
    assert any("removal" in m.value and "1 removal" in m.value for m in again.markdown)
    again.button[[b.label for b in again.button].index("Redo")].click().run()
    assert again.session_state["desk"].edit.removals == 2

    stranger = reload(YOU, restart)
    assert stranger.session_state["desk"].edit.removals == 0 and "tutorial-ok" in [b.key for b in stranger.button]


def test_choosing_another_photo_replaces_the_edit_a_reload_brings_back(tripod_mask):
    app = explore(ME)
    app.sidebar.button(key="sample-camera.png").click().run()
    paint(app, tripod_mask)
    app.sidebar.button(key="sample-coffee.png").click().run()
    get_workbench().history.saving.flush(30)
    again = reload(ME)
    assert again.session_state["desk"].edit.name == "coffee.png" and again.session_state["desk"].edit.removals == 0
