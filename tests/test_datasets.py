"""Sweeps over datasets as researchers keep them (ic/sweeps/formats.py): COCO instances, Pascal VOC, class
folders and box CSVs, built here from the bundled samples' objects with the bad entries real ones have; rows
per object, what was skipped and why, slices that add up to the whole, through `python -m ic sweep`; and a
sweep on a Ray cluster of two nodes through --ray-address."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from builders import SAMPLE_OBJECTS, build_box_csv, build_class_folders, build_coco, build_voc, sample_mask, small_sample
from PIL import Image

from ic.errors import ICError
from ic.images import decode_mask
from ic.sweeps import Plan, ReadOptions, load_folder, load_zip, read_rows, sweep

from conftest import ROOT, cli_env

MODEL = "tf_efficientnet_lite0"


def ic_sweep(*args):
    return subprocess.run([sys.executable, "-m", "ic", "sweep", *map(str, args)], cwd=ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=900)


def reasons(dataset) -> dict[str, str]:
    return {entry["file"]: entry["reason"] for entry in dataset.skipped}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    build_coco(root / "coco")
    build_voc(root / "voc")
    build_class_folders(root / "folders")
    build_box_csv(root / "boxes")
    return root


def test_coco_gives_one_item_per_object_from_polygons_and_rle_and_says_what_it_skipped(built):
    dataset = load_folder(built / "coco")
    assert dataset.format == "coco" and len(dataset.items) == len(SAMPLE_OBJECTS) == 7
    by_object = {(Path(item.name).stem, item.category): item for item in dataset.items}
    assert by_object["chelsea", "cat"].mask_from == "rle" and by_object["coffee", "cup"].mask_from == "polygon"
    # camera.jpg holds two objects: two items on one photo, each with its own mask
    person, tripod = by_object["camera", "person"], by_object["camera", "tripod"]
    assert person.sha == tripod.sha and person.object != tripod.object
    shape = small_sample("camera.png").shape[:2]
    # the polygon outlines the object it was drawn from (the tripod's legs are two pixels wide at this size,
    # where a polygon's rasterising moves an edge by a pixel)
    for item, source, least in ((person, "masks/camera.png", 0.9), (tripod, "camera_tripod_mask.png", 0.65)):
        decoded, wanted = decode_mask(item.mask, shape), sample_mask(source, shape)
        overlap = (decoded & wanted).sum() / (decoded | wanted).sum()
        assert overlap > least, (item.category, overlap)
    skipped = reasons(dataset)
    assert "the image is not in the dataset" in skipped["annotations/instances.json: gone.jpg"]
    assert "image_id 12345 is not among the images" in skipped["annotations/instances.json: annotation 102"]
    # a crowd region is swept like any object (tests/test_exports.py): this one's RLE is for another size
    assert "its RLE is 4x4" in skipped["annotations/instances.json: annotation 100"]


def test_coco_categories_and_least_area_choose_the_objects(built):
    people = load_folder(built / "coco", options=ReadOptions(categories=("Person",)))
    assert {item.category for item in people.items} == {"person"} and len(people.items) == 3
    assert any("4 objects of other categories left out" in e["reason"] for e in people.skipped)
    shares = {item.object: (np.asarray(Image.open(io.BytesIO(item.mask))) > 127).mean()  # at the image's own size
              for item in load_folder(built / "coco").items}
    large = load_folder(built / "coco", options=ReadOptions(min_area=0.2))
    assert {item.object for item in large.items} == {key for key, share in shares.items() if share >= 0.2}
    assert 0 < len(large.items) < 7
    with pytest.raises(ICError, match="share of the image from 0 to 1"):
        ReadOptions(min_area=5).check()


def test_voc_uses_instance_masks_where_present_and_boxes_elsewhere(built):
    dataset = load_folder(built / "voc")
    assert dataset.format == "voc" and len(dataset.items) == 7
    how = {(Path(item.name).stem, item.category): item.mask_from for item in dataset.items}
    assert how["chelsea", "cat"] == how["camera", "person"] == how["camera", "tripod"] == "segmentation"
    assert how["astronaut", "person"] == how["coffee", "cup"] == "box"
    assert "not an XML file we can read" in reasons(dataset)["Annotations/broken.xml"]
    cat = next(item for item in dataset.items if item.category == "cat")
    shape = small_sample("chelsea.png").shape[:2]
    assert (decode_mask(cat.mask, shape) & sample_mask("masks/chelsea.png", shape)).sum() > 0.8 * cat_area(shape)
    cup = next(item for item in dataset.items if item.category == "cup")
    box = decode_mask(cup.mask, small_sample("coffee.png").shape[:2])
    rows, columns = np.nonzero(box)
    assert box[rows.min():rows.max() + 1, columns.min():columns.max() + 1].all()  # a box is removed whole


def cat_area(shape) -> int:
    return int(sample_mask("masks/chelsea.png", shape).sum())


def test_box_csv_reads_pixels_and_shares_and_refuses_a_box_outside_its_image(built):
    dataset = load_folder(built / "boxes")
    assert dataset.format == "boxes" and len(dataset.items) == 7
    skipped = reasons(dataset)
    assert "lies outside the 256x171 image" in skipped["boxes.csv:9"]
    assert "nowhere.png is not in the dataset" in skipped["boxes.csv:10"]
    assert "four numbers" in skipped["boxes.csv:11"]
    cup = next(item for item in dataset.items if item.category == "cup")  # given as shares of the image
    mask = decode_mask(cup.mask, small_sample("coffee.png").shape[:2])
    wanted = sample_mask("masks/coffee.png", mask.shape)
    rows, columns = np.nonzero(wanted)
    assert abs(mask.sum() - (np.ptp(rows) + 1) * (np.ptp(columns) + 1)) < 0.03 * mask.sum()
    grabbed = load_folder(built / "boxes", options=ReadOptions(box_to_mask="grabcut"))
    assert {item.mask_from for item in grabbed.items} == {"grabcut"} and all(i.mask is None for i in grabbed.items)


def test_every_format_sweeps_from_the_command_line_with_slices_that_add_up(built, tmp_path):
    for name in ("coco", "voc", "boxes"):
        out = tmp_path / f"{name}.parquet"
        done = ic_sweep(built / name, "--models", MODEL, "--inpainters", "telea", "--out", out, "--json")
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        assert document["format"] == name and document["objects"] == 7 and document["images"] == 6
        assert document["rows"] == 7 and len(document["results"]) == 7
        assert {row["category"] for row in document["results"]} == {c for _, _, c in SAMPLE_OBJECTS}
        assert all(0 < row["object_share"] < 0.9 for row in document["results"])
        [whole] = document["summary"]
        for by in ("category", "size"):
            part = [entry for entry in document["slices"] if entry["by"] == by]
            assert sum(entry["n"] for entry in part) == whole["n"] == 7
            assert sum(entry["flipped"] for entry in part) == whole["flipped"]
            for entry in part:
                assert entry["flip_ci"][0] <= entry["flip_rate"] <= entry["flip_ci"][1]
                assert entry["mean_drop_ci"] is None  # under ten objects a slice gets no bootstrap interval
        persons = next(e for e in document["slices"] if e["by"] == "category" and e["value"] == "person")
        assert persons["n"] == 3
        rows = read_rows(out)  # the Parquet rows carry the object and its category too
        assert len({(r["image_sha"], r["object"]) for r in rows}) == 7
        assert {r["mask_from"] for r in rows} <= {"polygon", "rle", "segmentation", "box"}
    text = ic_sweep(built / "coco", "--models", MODEL, "--inpainters", "telea", "--out", tmp_path / "coco.parquet")
    assert text.returncode == 0, text.stderr
    assert "6 images, 7 objects (coco), 7 rows (0 computed, 7 resumed)" in text.stdout  # resumed by object
    assert "By category" in text.stdout and "By object size" in text.stdout
    assert "has no class 'person' (3 objects)" in text.stdout


def test_class_folders_map_names_and_wordnet_ids_and_list_the_unmatched(built, tmp_path):
    dataset = load_folder(built / "folders")
    assert dataset.format == "folders" and len(dataset.items) == 6
    assert {item.label for item in dataset.items} == {"n02123045", "espresso", "photographer"}
    result = sweep(dataset, Plan((MODEL,), ("telea",)))
    expected = {row["expected_label"]: row for row in result.rows}
    assert expected["n02123045"]["expected_index"] == 281  # tabby, by its WordNet id
    assert expected["espresso"]["expected_index"] == 967 and expected["espresso"]["match_before"] is True
    assert result.unmatched == [{"label": "photographer", "model": MODEL, "objects": 2}]
    assert {entry["value"] for entry in result.slices if entry["by"] == "category"} == \
        {"n02123045", "espresso", "photographer"}


def test_a_zip_of_a_coco_dataset_is_read_within_the_zip_limits(built, tmp_path):
    archive = tmp_path / "coco.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted((built / "coco").rglob("*")):
            if path.is_file():
                zipped.write(path, "coco/" + path.relative_to(built / "coco").as_posix())
    dataset = load_zip(archive.read_bytes())
    assert dataset.format == "coco" and len(dataset.items) == 7
    assert {Path(item.name).parts[0] for item in dataset.items} == {"coco"}  # images found beside the JSON's folder
    wrong = load_zip(archive.read_bytes(), fmt="voc")  # told the wrong format: said, not a crash
    assert not wrong.items and "no voc annotation file found" in reasons(wrong)["(dataset)"]
    with zipfile.ZipFile(archive, "a") as zipped:
        zipped.writestr("../outside.json", "{}")
    with pytest.raises(ICError, match="a path outside its folders"):  # today's ZIP limits hold for every format
        load_zip(archive.read_bytes())


def test_a_bad_format_or_area_is_refused_before_any_work(built, tmp_path):
    out = tmp_path / "never.parquet"
    for args, words in ((("--min-area", "2"), "share of the image from 0 to 1"),
                        (("--format", "yolo"), "invalid choice: 'yolo'"),
                        (("--box-to-mask", "sam"), "invalid choice: 'sam'")):
        done = ic_sweep(built / "coco", "--models", MODEL, "--out", out, *args)
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert not out.exists()


def test_the_same_photo_under_two_names_is_swept_once(built, tmp_path):
    folder = tmp_path / "boxes"
    build_box_csv(folder)
    (folder / "images" / "copy.png").write_bytes((folder / "images" / "coffee.png").read_bytes())
    with open(folder / "boxes.csv", "a") as csv:
        csv.write("copy.png,cup,10,10,100,100\n")
    dataset = load_folder(folder)
    assert "the same photo as images/coffee.png; swept once" in reasons(dataset)["images/copy.png"]
    assert len(dataset.items) == 7


def test_a_ray_cluster_of_two_nodes_gives_the_local_rows(built, tmp_path):
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    local = tmp_path / "local.parquet"
    assert ic_sweep(built / "voc", "--models", MODEL, "--inpainters", "telea", "--out", local).returncode == 0
    # Two nodes of one CPU each on this machine, on its own address (a driver given 127.0.0.1 is sent there by
    # Ray, which takes a loopback address for "this machine" and swaps in its address for others to reach).
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        remote = tmp_path / "ray.parquet"
        done = ic_sweep(built / "voc", "--models", MODEL, "--inpainters", "telea", "--out", remote, "--engine", "ray",
                        "--ray-address", cluster.address, "--workers", "2", "--json")
        assert done.returncode == 0, done.stderr[-3000:]
        assert len([node for node in cluster.list_all_nodes()]) == 2
    finally:
        cluster.shutdown()
    key = lambda row: (row["image_sha"], row["object"], row["model"], row["inpainter"], row["mode"])  # noqa: E731
    a, b = sorted(read_rows(local), key=key), sorted(read_rows(remote), key=key)
    assert len(a) == len(b) == 7
    for x, y in zip(a, b):
        assert key(x) == key(y) and x["category"] == y["category"] and x["object_share"] == y["object_share"]
        assert x["top1_before_index"] == y["top1_before_index"] and x["top1_after_index"] == y["top1_after_index"]
        assert abs(x["drop"] - y["drop"]) < 1e-4
