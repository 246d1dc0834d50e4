"""The Sweeps page through AppTest: a ZIP in, a sweep in the workbench's worker, its summary, kept in History;
and off in public mode."""

import io
import zipfile

import pytest
from builders import build_dataset
from streamlit.testing.v1 import AppTest
from waiting import until

from conftest import ids_shown, open_page, percents_off_rule


def small_zip(tmp_path, keep=("coffee", "chelsea", "rocket")) -> bytes:
    folder = build_dataset(tmp_path / "set")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            stem = path.stem.removesuffix("_mask")
            if path.is_file() and (stem in keep or path.name in ("broken.jpg", "labels.csv")):
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def open_sweeps(visitor: str = "a" * 32) -> AppTest:
    app = open_page("sweeps", timeout=180, visitor=visitor)
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> str:
    return " ".join(e.value for e in [*app.markdown, *app.caption, *app.success, *app.info, *app.warning,
                                      *app.subheader, *app.header] if isinstance(e.value, str))


def test_a_zip_is_swept_in_the_background_and_kept_in_history(tmp_path):
    app = open_sweeps()
    app.file_uploader(key="sweep-zip").upload("three.zip", small_zip(tmp_path), "application/zip").run()
    app.multiselect(key="sweep-models").set_value(["tf_efficientnet_lite0"]).run()
    app.multiselect(key="sweep-inpainters").set_value(["telea", "blur"]).run()
    next(b for b in app.button if b.label == "Run the sweep").click().run()
    assert not app.exception, app.exception
    finished(app, "three")  # the worker thread runs beside the page; the page looks again when run
    assert "Last sweep: three" in texts(app), texts(app)
    assert "3 images, 6 rows" in texts(app) and "1 file skipped or noted" in texts(app)
    summary = app.dataframe[0].value
    # one name per model and inpainter on every page (ui/names.py)
    assert list(summary["classifier"]) == ["EfficientNet-Lite0"] * 2
    assert set(summary["inpainter"]) == {"OpenCV Telea", "Gaussian blur"}, set(summary["inpainter"])
    assert all(summary["objects"] == 3) and all((summary["95% CI low"] <= summary["flip rate"])
                                               & (summary["flip rate"] <= summary["95% CI high"]))
    assert [b.label for b in app.get("download_button")] == ["Rows as CSV", "Rows as Parquet"]
    assert ids_shown(app) == []  # one name per model and inpainter, as on Explore, Compare and History
    assert percents_off_rule(app) == []  # one decimal for every percentage (ic.numbers)
    assert summary["flip rate"].between(0, 100).all()  # percentages of 3 objects: 0, 33.3, 66.7 or 100
    assert (((summary["flip rate"] * 3 / 100).round(6) % 1) == 0).all()

    app.switch_page("app_pages/history.py").run()
    assert not app.exception, app.exception
    assert "Sweeps (1)" in texts(app)
    assert any("three · 3 images · EfficientNet-Lite0 × OpenCV Telea, Gaussian blur" in e.label for e in app.expander)


def test_sweeps_are_off_in_public_mode(monkeypatch):
    monkeypatch.setenv("IC_PUBLIC", "1")
    app = open_sweeps()
    assert "Sweeps are off on this public demo" in texts(app)
    assert not app.get("file_uploader")


def test_a_server_folder_only_under_the_root_in_team_mode_and_cancel_stops_the_worker(tmp_path, monkeypatch):
    from ic.app import Source, Workbench
    from ic.errors import ICError

    root = tmp_path / "datasets"
    build_dataset(root / "set")
    monkeypatch.setenv("IC_SWEEP_ROOT", str(root))
    bench = Workbench(tmp_path / "data")
    assert bench.policy.sweep_root() is None  # visitor mode: no server folders, whatever the setting
    monkeypatch.setenv("IC_HISTORY_MODE", "team")
    assert bench.policy.sweep_root() == root
    with pytest.raises(ICError, match="outside"):
        bench.jobs.start_sweep("alice", source=Source("x", folder="../.."), models=["tf_efficientnet_lite0"], inpainters=["telea"])
    job = bench.jobs.start_sweep("alice", source=Source("set", folder="set"), models=["tf_efficientnet_lite0"], inpainters=["telea"],
                            flip=True)  # slow enough to be stopped half way
    with pytest.raises(ICError, match="still running"):
        bench.jobs.start_sweep("alice", source=Source("set", folder="set"), models=["tf_efficientnet_lite0"], inpainters=["telea"])
    bench.jobs.cancel_sweep("alice")
    job.thread.join(120)
    assert not job.running and job.result is None
    assert job.problem.startswith("The sweep was cancelled after") and "nothing was kept" in job.problem
    bench.history.saving.flush(10)
    assert bench.history.store.sweeps.list("alice") == []


def coco_zip(tmp_path) -> bytes:
    from builders import build_coco, zip_folder

    return zip_folder(build_coco(tmp_path / "coco"))


def finished(app: AppTest, name: str) -> AppTest:
    """The page once the sweep `name` has ended (the page looks again at each run)."""
    def ended() -> bool:
        if f"Last sweep: {name}" in texts(app):
            return True
        app.run()
        return False

    until(ended, 120, f"the sweep {name} ending", every_s=0.5)
    return app


def test_a_coco_sweep_is_sliced_filtered_and_a_row_opens_on_explore(tmp_path):
    visitor = "c" * 32
    app = open_sweeps(visitor)
    app.file_uploader(key="sweep-zip").upload("objects.zip", coco_zip(tmp_path), "application/zip").run()
    app.multiselect(key="sweep-models").set_value(["tf_efficientnet_lite0"]).run()
    app.multiselect(key="sweep-inpainters").set_value(["telea"]).run()
    app.text_input(key="sweep-categories").input("person, tripod, cup").run()
    next(b for b in app.button if b.label == "Run the sweep").click().run()
    finished(app, "objects")
    assert not app.exception, app.exception
    assert "6 images, 5 rows" not in texts(app)  # counted by object, where a photo holds several
    assert any("no class of the classifier" in e.value for e in app.info)  # "person" is no ImageNet class
    assert ids_shown(app) == []  # that notice named tf_efficientnet_lite0 where the page says EfficientNet-Lite0
    sliced = next(frame.value for frame in app.dataframe if "value" in frame.value.columns)
    assert dict(zip(sliced["value"], sliced["objects"])) == {"cup": 1, "person": 3, "tripod": 1}  # 5 objects
    assert app.radio(key="sweep-slices-by").value == "category"
    rows = lambda: next(frame.value for frame in app.dataframe if "mask from" in frame.value.columns)  # noqa: E731
    assert len(rows()) == 5 and set(rows()["mask from"]) == {"polygon"}

    app.multiselect(key="sweep-slices-filter-category").set_value(["person"]).run()  # as a click on its bar does
    assert set(rows()["category"]) == {"person"} and len(rows()) == 3
    assert "3 of 5 rows in person" in texts(app)
    app.radio(key="sweep-slices-by").set_value("size").run()
    sizes = next(frame.value for frame in app.dataframe if "value" in frame.value.columns)
    assert sizes["objects"].sum() == 5 and len(rows()) == 5  # another axis: its own filter, empty
    assert "share of the image" in texts(app)
    app.text_input(key="sweep-slices-search").input("Astronaut").run()
    assert list(rows()["image"]) == ["images/astronaut.jpg"]
    app.text_input(key="sweep-slices-search").input("").run()
    app.radio(key="sweep-slices-by").set_value("category").run()
    app.multiselect(key="sweep-slices-filter-category").set_value(["tripod"]).run()
    assert list(rows()["category"]) == ["tripod"]

    assert app.selectbox(key="sweep-slices-open-row").options == [
        "images/camera.jpg (3, tripod) · EfficientNet-Lite0 · OpenCV Telea: tripod → "
        + rows()["after"].iloc[0]]  # the filtered rows alone
    next(b for b in app.button if b.label == "Open on Explore").click().run()
    assert not app.exception, app.exception
    # Explore: the photo the row was judged on, its object removed by the row's inpainter, the notice saying so
    notices = " ".join(e.value for e in app.caption).replace("\\", "")  # as shown, without the markdown escapes
    assert "From the sweep: images/camera.jpg, object 3, its tripod removed with OpenCV Telea" in notices, notices
    assert "judged by EfficientNet-Lite0" in notices
    assert any("Last removal (#1)" in c.value for c in app.caption), [c.value for c in app.caption]
    # the sidebar's samples highlight none (camera stayed highlighted over the sweep's row), and camera picked
    # there is camera afresh, not a click that did nothing
    app.switch_page("app_pages/explore.py").run()  # AppTest's next runs are Explore's (st.switch_page took it there)
    assert any("From the sweep" in c.value for c in app.caption)
    samples = [b for b in app.button if b.key and b.key.startswith("sample-")]
    assert samples and [b.key for b in samples if b.proto.type == "primary"] == []
    next(b for b in samples if b.key == "sample-camera.png").click().run()
    assert not app.exception, app.exception
    assert [b.key for b in app.button if b.key and b.key.startswith("sample-") and b.proto.type == "primary"] \
        == ["sample-camera.png"]
    assert not any("From the sweep" in c.value for c in app.caption)

    app.switch_page("app_pages/history.py").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="history-sweep").value
    kept = next(frame.value for frame in app.dataframe if "value" in frame.value.columns)
    assert kept["objects"].sum() == 5
    # the header counts photos and objects, the table below objects (it said "4 images" above a table of 5)
    assert any("4 images, 5 objects" in e.label for e in app.expander), [e.label for e in app.expander]
    assert all(frame.value["objects"].sum() == 5 for frame in app.dataframe if "flip rate" in frame.value.columns
               and "objects" in frame.value.columns and "value" not in frame.value.columns)
    assert any(b.label == "Open on Explore" for b in app.button)  # this server still holds the sweep's photos


def test_a_cvat_export_sweeps_its_brush_masks_as_crowd_regions_with_a_slice_of_their_own(tmp_path):
    """CVAT's COCO export (tests/exports/cvat-coco): two subsets with the same frame names, brush masks as iscrowd."""
    from builders import zip_folder
    from test_exports import materialise

    archive = zip_folder(materialise("cvat-coco", tmp_path))
    app = open_sweeps("e" * 32)
    app.file_uploader(key="sweep-zip").upload("cvat.zip", archive, "application/zip").run()
    app.multiselect(key="sweep-models").set_value(["tf_efficientnet_lite0"]).run()
    app.multiselect(key="sweep-inpainters").set_value(["telea"]).run()
    next(b for b in app.button if b.label == "Run the sweep").click().run()
    finished(app, "cvat")
    assert not app.exception, app.exception
    assert "4 images, 5 objects (COCO instances), 5 rows" in texts(app), texts(app)
    assert "Crowd regions" in app.radio(key="sweep-slices-by").options
    app.radio(key="sweep-slices-by").set_value("crowd").run()
    sliced = next(frame.value for frame in app.dataframe if "value" in frame.value.columns)
    assert dict(zip(sliced["value"], sliced["objects"])) == {"single objects": 3, "crowd regions": 2}
    rows = next(frame.value for frame in app.dataframe if "mask from" in frame.value.columns)
    assert sorted(rows.loc[rows["crowd"] == "crowd", "category"]) == ["cat", "person"]

    app.checkbox(key="sweep-crowds").uncheck().run()  # the same export, its crowd regions left out
    next(b for b in app.button if b.label == "Run the sweep").click().run()
    until(lambda: "3 images, 3 rows" in texts(app) or app.run() is None, 120, "the sweep without crowds ending",
          every_s=0.5)  # three photos hold the three other objects
    assert "Crowd regions" not in app.radio(key="sweep-slices-by").options
