"""Public mode, a busy server, and faults: a full disk, a read-only data folder, a model that fails to load."""

import sqlite3

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ic import compute
from ic.app import get_workbench
from ic.errors import ICError
from ic.history import HistoryStore, open_store
from ic.names import model_title
from ic.settings import history_settings, public_settings

from conftest import ROOT, open_page


def page(**query) -> AppTest:
    return open_page(timeout=120, **query)


def test_public_mode_offers_only_allow_listed_models_and_no_free_timm_names(monkeypatch):
    monkeypatch.setenv("IC_PUBLIC", "1")
    app = page()
    assert not app.exception
    options = app.sidebar.selectbox(key="model").options
    # the allow list's three bundled models, by the names people read, and nothing else
    assert options == [model_title(name) for name in public_settings().models] == [
        "EfficientNet-Lite0", "EfficientNet-Lite1", "EfficientNet-Lite2"]
    assert not [t for t in app.sidebar.text_input if t.key == "other_model"]
    app.sidebar.selectbox(key="inpainter").set_value("lama").run()
    assert not [b for b in app.sidebar.button if b.label.startswith("Download LaMa")]


def test_public_mode_bounds_history_unless_told_otherwise(monkeypatch):
    monkeypatch.setenv("IC_PUBLIC", "1")
    assert (history_settings().max_per_visitor, history_settings().max_age_days) == (100, 7)
    monkeypatch.setenv("IC_HISTORY_MAX_PER_VISITOR", "20")
    assert history_settings().max_per_visitor == 20
    monkeypatch.setenv("IC_PUBLIC_MODELS", "tf_efficientnet_lite1")
    assert public_settings().models == ("tf_efficientnet_lite1",)


def test_settings_file_and_bad_values(tmp_path, monkeypatch):
    config = tmp_path / "settings.toml"
    config.write_text('[history]\nmode = "team"\n[public]\nenabled = true\nmax_queue = 2\n')
    monkeypatch.setenv("IC_CONFIG", str(config))
    assert history_settings().shared and public_settings().enabled and public_settings().max_queue == 2
    monkeypatch.setenv("IC_HISTORY_MODE", "everyone")
    with pytest.raises(ICError, match="visitor or team"):
        history_settings()


def paint(app: AppTest, mask: np.ndarray, flush: bool = True) -> AppTest:
    """What the canvas component sends when a stroke ends: its objects and its layer as a PNG data URL."""
    import base64
    import io

    from PIL import Image

    layer = np.zeros((*mask.shape, 4), np.uint8)
    layer[mask] = (255, 0, 80, 140)
    buffer = io.BytesIO()
    Image.fromarray(layer).save(buffer, format="PNG")
    key = app.session_state["desk"].canvas_key
    app.session_state[key] = {"drawing": {"raw": {"objects": [{"type": "path"}]},
                                          "data": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()},
                              "backgroundFit": None}
    app.run()
    if flush:
        get_workbench().history.saving.flush(30)  # the page queued the save; tests look at the history once it is written
    return app


def test_a_painted_stroke_is_removed_and_kept(tripod_mask):
    app = paint(page(visitor="1" * 32), tripod_mask)
    assert not app.exception and not app.error
    assert app.session_state["desk"].edit.removals == 1
    assert app.table[0].value.iloc[0]["edited %"] < 50  # the tripod is gone
    assert open_store().experiments.count("1" * 32) == 1


def test_a_busy_public_server_turns_a_removal_away_with_a_sentence(monkeypatch, tripod_mask):
    monkeypatch.setenv("IC_PUBLIC", "1")
    monkeypatch.setenv("IC_PUBLIC_MAX_QUEUE", "1")
    monkeypatch.setattr(compute, "queued", lambda: 3)
    app = paint(page(), tripod_mask)
    assert not app.exception
    assert any("busy with other visitors" in w.value for w in app.warning)
    assert app.session_state["desk"].edit.removals == 0


def test_a_full_disk_keeps_the_page_working_and_the_saved_history_intact(monkeypatch, tripod_mask, camera, lite0):
    from ic.experiment import EditSession
    from ic.inpaint import get_inpainter

    store = open_store()
    store.experiments.add(EditSession(camera, "camera.png").apply(tripod_mask, get_inpainter("blur"), lite0), owner="2" * 32)
    before = [row.row() for row in store.experiments.list("2" * 32)]

    def disk_full(db, values):  # as SQLAlchemy hands on the driver's error
        import sqlalchemy

        raise sqlalchemy.exc.OperationalError("INSERT INTO experiments", {}, sqlite3.OperationalError("database or disk is full"))

    from ic.history.experiments import Experiments

    monkeypatch.setattr(Experiments, "_insert_row", staticmethod(disk_full))
    app = paint(page(visitor="2" * 32), tripod_mask)
    assert not app.exception
    assert get_workbench().history.saving.flush(30)  # the write failed for good: nothing waits
    app.run()  # the page's next look shows why
    assert any("History could not be saved" in w.value and "disk is full" in w.value for w in app.warning)
    assert not any("not saved yet" in w.value for w in app.warning)  # a full disk is not queued
    assert app.session_state["desk"].edit.removals == 1  # the removal itself worked
    assert [row.row() for row in store.experiments.list("2" * 32)] == before
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


READ_ONLY_CHILD = """
import json, sys
import numpy as np
from streamlit.testing.v1 import AppTest
sys.path.insert(0, "tests")
from test_public_and_faults import page, paint
from conftest import SAMPLES
from ic.images import decode_mask
app = paint(page(visitor=sys.argv[1]), decode_mask(SAMPLES / "camera_tripod_mask.png", (512, 512)))
explore = {"exception": bool(app.exception), "removals": app.session_state["desk"].edit.removals,
           "warnings": [w.value for w in app.warning]}  # the sidebar's and the main area's
app.switch_page("app_pages/history.py").run()
explore["history_page"] = {"exception": [e.value for e in app.exception],
                           "said": [e.value for e in [*app.error, *app.warning, *app.info]],
                           "rows": len(app.dataframe[0].value) if app.dataframe else 0}
print(json.dumps(explore))
"""


def read_only_command(folder) -> list[str]:
    """Run a command with `folder` really read-only: a read-only bind mount for root (chmod does not
    bind root), file permissions for anyone else."""
    import os
    import shutil

    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return []
    if not shutil.which("unshare"):
        pytest.skip("root without unshare(1): cannot make a folder read-only here")
    return ["unshare", "--mount", "sh", "-c",
            f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"', "sh"]


def test_a_read_only_data_folder_keeps_the_page_working_and_the_saved_history_intact(tmp_path, camera,
                                                                                      tripod_mask, lite0):
    import json
    import subprocess
    import sys

    from ic.experiment import EditSession
    from ic.inpaint import get_inpainter

    from conftest import cli_env

    data = tmp_path / "data"
    store = HistoryStore(data)
    visitor = "3" * 32
    store.experiments.add(EditSession(camera, "camera.png").apply(tripod_mask, get_inpainter("blur"), lite0), owner=visitor)
    before = [row.row() for row in store.experiments.list(visitor)]
    files = lambda: {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file()}
    files_before = files()

    done = subprocess.run([*read_only_command(data), sys.executable, "-c", READ_ONLY_CHILD, visitor], cwd=ROOT,
                          env=cli_env(IC_DATA_DIR=str(data)), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert not shown["exception"] and shown["removals"] == 1  # the removal itself worked
    said = [w for w in shown["warnings"] if "cannot be kept" in w]
    assert len(said) == 1 and "write to" in said[0], shown["warnings"]  # said once, in the sidebar
    history_page = shown["history_page"]
    assert not history_page["exception"], history_page
    assert any("Earlier ones can still be viewed" in said for said in history_page["said"]), history_page
    assert history_page["rows"] == 1  # the experiment saved before is still there to see
    assert files() == files_before  # not a byte of what was saved has changed
    for path in [data, *data.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    assert [row.row() for row in HistoryStore(data).experiments.list(visitor)] == before


def test_the_settings_file_is_read_once_and_again_when_it_changes(tmp_path, monkeypatch):
    """A removal asks for about a dozen settings: the file is read once, not once per key, and a change of the
    file is seen at the next look."""
    import os
    import tomllib

    from ic import settings

    config = tmp_path / "settings.toml"
    config.write_text('[public]\nenabled = true\nmax_queue = 3\n')
    monkeypatch.setenv("IC_CONFIG", str(config))
    reads = []
    real = tomllib.loads
    monkeypatch.setattr(settings.tomllib, "loads", lambda text: (reads.append(text), real(text))[1])
    for _ in range(12):
        assert settings.public_settings().max_queue == 3 and settings.history_settings().max_per_visitor == 100
    assert len(reads) == 1
    config.write_text('[public]\nenabled = true\nmax_queue = 7\n')
    os.utime(config, ns=(config.stat().st_mtime_ns + 10**9,) * 2)  # a new time even where the clock is coarse
    assert settings.public_settings().max_queue == 7 and len(reads) == 2
