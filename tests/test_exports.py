"""Sweeps read what the labelling tools write: genuine exports of CVAT (through CVAT's Datumaro), Datumaro's own
test data, labelme's examples, LabelImg's writer and mmdetection's VOC test data (tests/exports/SOURCES.md), each
swept as a folder and as a ZIP. What each should give is counted here from the annotation files themselves (JSON,
XML and mask pixels read directly, never through ic.sweeps), so a reader that loses or mislabels an object fails."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import cv2
import numpy as np
import pytest
from builders import zip_folder
from PIL import Image
from pycocotools import mask as coco_mask

from ic.errors import ICError
from ic.images import decode_image, decode_mask
from ic.sweeps import ReadOptions, load_folder, load_zip, read_rows
from ic.sweeps.formats import MAX_OBJECTS

from conftest import ROOT, SAMPLES, cli_env

EXPORTS = Path(__file__).resolve().parent / "exports"
PHOTOS = json.loads((EXPORTS / "PHOTOS.json").read_text())
NAMES = sorted({path.split("/")[0] for path in PHOTOS})
# VOC's first colours (the devkit's colour map), as Datumaro and CVAT paint instance k and class k
VOC_COLOURS = {(128, 0, 0): 1, (0, 128, 0): 2, (128, 128, 0): 3, (0, 0, 128): 4, (128, 0, 128): 5, (0, 128, 128): 6,
               (128, 128, 128): 7}
SHARE_TOLERANCE = 0.004  # a box's edges fall on whole pixels: a fraction of a pixel's row or column either way


def materialise(name: str, into: Path) -> Path:
    """The export as the tool wrote it: its annotation files, and its photos made from the samples at the sizes
    PHOTOS.json gives (the sizes the annotations name)."""
    folder = into / name
    shutil.copytree(EXPORTS / name, folder)
    for path, (sample, width, height) in PHOTOS.items():
        if path.startswith(f"{name}/"):
            pixels = cv2.resize(decode_image(SAMPLES / sample), (width, height), interpolation=cv2.INTER_AREA)
            (into / path).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(into / path, quality=92)
    return folder


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    return {name: materialise(name, root) for name in NAMES}


# --- what the files hold, counted without the readers ---------------------------------------------------

def _coco_counted(folder: Path) -> list[dict]:
    objects = []
    for source in sorted((folder / "annotations").glob("instances_*.json")):
        subset = source.stem.removeprefix("instances_")
        document = json.loads(source.read_text())
        names = {c["id"]: c["name"] for c in document["categories"]}
        images = {entry["id"]: entry for entry in document["images"]}
        for annotation in document["annotations"]:
            entry = images[annotation["image_id"]]
            height, width = entry["height"], entry["width"]
            segmentation = annotation["segmentation"]
            if isinstance(segmentation, dict):
                pixels = coco_mask.decode(coco_mask.frPyObjects(segmentation, height, width)).sum()
            elif segmentation:
                pixels = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))).sum()
            else:
                pixels = annotation["bbox"][2] * annotation["bbox"][3]
            objects.append({"photo": f"images/{subset}/{entry['file_name']}", "category": names[annotation["category_id"]],
                            "share": pixels / (height * width), "crowd": bool(annotation["iscrowd"])})
    return objects


def _label_list(folder: Path) -> tuple[list[str], dict[tuple, str]]:
    """(names by index, names by colour) from labelmap.txt (Datumaro, CVAT) or class_names.txt (labelme)."""
    if (folder / "labelmap.txt").exists():
        lines = [line for line in (folder / "labelmap.txt").read_text().splitlines() if line and line[0] != "#"]
        names = [line.split(":")[0] for line in lines]
        return names, {tuple(int(v) for v in line.split(":")[1].split(",")): line.split(":")[0] for line in lines}
    return (folder / "class_names.txt").read_text().splitlines(), {}


def _numbers(path: Path, colours: dict) -> np.ndarray:
    picture = Image.open(path)
    if picture.mode == "P":
        return np.asarray(picture).astype(int)
    pixels = np.asarray(picture.convert("RGB"))
    numbers = np.zeros(pixels.shape[:2], int)
    for colour, number in colours.items():
        numbers[(pixels == colour).all(axis=2)] = number
    return numbers


def _voc_counted(folder: Path) -> list[dict]:
    objects = []
    names, by_colour = _label_list(folder) if any((folder / f).exists() for f in ("labelmap.txt", "class_names.txt")) \
        else ([], {})
    colour_index = {colour: names.index(name) for colour, name in by_colour.items()}
    xmls = sorted(folder.rglob("*.xml"))
    with_xml = set()
    for xml in xmls:
        root = ElementTree.parse(xml).getroot()
        top = next((parent for parent in xml.parents if parent.name == "Annotations"), None)
        beside = xml.with_suffix(".jpg")  # LabelImg's
        photo = beside if top is None else (top.parent / "JPEGImages" / xml.relative_to(top)).with_suffix(".jpg")
        with_xml.add(photo)
        width, height = Image.open(photo).size
        for element in root.findall("object"):
            corners = [element.find("bndbox").findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")]
            x0, y0, x1, y1 = map(float, corners)
            # the devkit's whole pixels count both ends; decimals (labelme, Datumaro) and LabelImg's corners (it
            # writes a <path>, and its reader draws xmin..xmax) are positions
            extra = 0 if "." in "".join(corners) or root.find("path") is not None else 1
            objects.append({"photo": photo.relative_to(folder).as_posix(), "category": element.findtext("name"),
                            "share": (x1 - x0 + extra) * (y1 - y0 + extra) / (width * height), "crowd": False})
    for mask in sorted((folder / "SegmentationObject").rglob("*.png")) if (folder / "SegmentationObject").exists() else []:
        ident = mask.relative_to(folder / "SegmentationObject").with_suffix("")
        photo = (folder / "JPEGImages" / ident).with_suffix(".jpg")
        assert photo not in with_xml or not ElementTree.parse(
            (folder / "Annotations" / ident).with_suffix(".xml")).getroot().findall("object"), \
            "every export here that has masks and XML objects for one photo keeps them apart"
        instances = _numbers(mask, VOC_COLOURS)
        classes = _numbers(folder / "SegmentationClass" / mask.relative_to(folder / "SegmentationObject"), colour_index)
        for number in sorted(set(np.unique(instances)) - {0, 255}):
            values, counts = np.unique(classes[instances == number], return_counts=True)
            objects.append({"photo": photo.relative_to(folder).as_posix(), "category": names[values[np.argmax(counts)]],
                            "share": (instances == number).mean(), "crowd": False})
    return objects


def counted(name: str, folder: Path) -> list[dict]:
    return _coco_counted(folder) if (folder / "annotations").exists() else _voc_counted(folder)


def swept(dataset) -> list[dict]:
    return [{"photo": item.name, "category": item.category, "crowd": item.crowd,
             "share": float(decode_mask(item.mask, decode_image(item.image).shape[:2]).mean())} for item in dataset.items]


def _key(entry: dict) -> tuple:
    return entry["photo"], entry["category"], entry["crowd"], round(entry["share"], 2)


@pytest.mark.parametrize("name", NAMES)
def test_every_object_of_a_genuine_export_is_swept_with_its_category_and_its_mask_as_a_folder_and_as_a_zip(
        exports, name):
    folder = exports[name]
    expected = sorted(counted(name, folder), key=_key)
    for how, dataset in (("folder", load_folder(folder)), ("zip", load_zip(zip_folder(folder)))):
        found = sorted(swept(dataset), key=_key)
        assert len(found) == len(expected), (how, [s for s in dataset.skipped])
        for got, wanted in zip(found, expected):
            assert (got["photo"], got["category"], got["crowd"]) == (wanted["photo"], wanted["category"],
                                                                     wanted["crowd"]), (how, got, wanted)
            assert abs(got["share"] - wanted["share"]) <= SHARE_TOLERANCE, (how, got, wanted)


# --- each problem the tools' files exposed, with its sentence --------------------------------------------

def notes(dataset) -> dict[str, str]:
    return {entry["file"]: entry["reason"] for entry in dataset.skipped}


def test_cvat_brush_masks_exported_as_crowds_are_swept_marked_crowd_or_left_out_on_request(exports):
    dataset = load_folder(exports["cvat-coco"])
    crowds = [item for item in dataset.items if item.crowd]
    assert sorted(item.category for item in crowds) == ["cat", "person"]  # CVAT's two brush masks, iscrowd 1
    assert all(item.mask_from == "rle" for item in crowds)
    without = load_folder(exports["cvat-coco"], options=ReadOptions(crowds=False))
    assert len(without.items) == len(dataset.items) - 2
    said = notes(without)
    assert "1 object marked iscrowd left out (--no-crowds)" in said["annotations/instances_train.json"]


def test_subsets_whose_frames_share_names_pair_each_file_with_its_own_photos(exports):
    """CVAT names every video's frames frame_000000...: the train and val files each find their own."""
    dataset = load_folder(exports["cvat-coco"])
    by_photo = {}
    for item in dataset.items:
        by_photo.setdefault(item.name, set()).add(item.category)
    assert by_photo == {"images/train/frame_000000.jpg": {"person", "tripod"}, "images/train/frame_000001.jpg": {"cup"},
                        "images/val/frame_000000.jpg": {"cat"}, "images/val/frame_000001.jpg": {"person"}}
    assert len({item.uid for item in dataset.items}) == len(dataset.items)
    assert {item.object for item in dataset.items} >= {"train 1", "val 1"}  # ids repeat across the files


def test_coco_annotation_folders_read_instances_once_and_name_every_other_file_once(exports):
    dataset = load_folder(exports["datumaro-coco"])
    instances = [json.loads(p.read_text()) for p in (exports["datumaro-coco"] / "annotations").glob("instances_*.json")]
    assert len(dataset.items) == sum(len(d["annotations"]) for d in instances) == 3  # not 5: keypoints repeat them
    said = notes(dataset)
    others = sorted(p.name for p in (exports["datumaro-coco"] / "annotations").glob("*.json")
                    if not p.name.startswith("instances_"))
    assert sorted(Path(file).name for file in said) == others  # one line each, no line per caption
    assert "COCO keypoints" in said["annotations/person_keypoints_val.json"]
    assert "COCO captions" in said["annotations/captions_val.json"]


def test_labelimg_xml_beside_its_photo_and_cvat_xml_in_subfolders_are_read(exports):
    labelimg = load_folder(exports["labelimg"])
    assert labelimg.format == "voc" and len(labelimg.items) == 3
    assert {item.name for item in labelimg.items} == {"photos/camera.jpg", "photos/coffee.jpg"}
    cvat = load_folder(exports["cvat-voc"])
    assert {item.name for item in cvat.items} == {"JPEGImages/studio/camera.jpg", "JPEGImages/studio/astronaut.jpg",
                                                  "JPEGImages/kitchen/chelsea.jpg"}
    # CVAT's VOC export drops polygons (Datumaro writes boxes and masks only): the photo left is said, not hidden
    assert "names no object" in notes(cvat)["Annotations/kitchen/coffee.xml"]


def test_a_voc_xml_is_paired_with_its_photo_by_its_name_and_says_when_its_filename_disagrees(exports):
    dataset = load_zip(zip_folder(exports["mmdetection-voc"]))
    assert [(item.name, item.category) for item in dataset.items] == [("VOCdevkit/VOC2012/JPEGImages/000001.jpg", "train")]
    said = notes(dataset)["VOCdevkit/VOC2012/Annotations/000001.xml"]
    assert "000002.jpg" in said and "JPEGImages/000001.jpg, which is used" in said


def test_rgb_instance_masks_give_each_object_its_own_pixels(exports):
    dataset = load_folder(exports["cvat-segmentation-mask"])
    camera = {item.category: item for item in dataset.items if item.name.endswith("camera.jpg")}
    assert set(camera) == {"person", "tripod"} and {item.mask_from for item in camera.values()} == {"segmentation"}
    shape = decode_image(camera["person"].image).shape[:2]
    person, tripod = (decode_mask(camera[c].mask, shape) for c in ("person", "tripod"))
    assert not (person & tripod).any()  # instance 1 and instance 2, not brightness 38 and 75
    pixels = np.asarray(Image.open(exports["cvat-segmentation-mask"] / "SegmentationObject/studio/camera.png"))
    assert person.sum() == (pixels == (128, 0, 0)).all(axis=2).sum()
    assert tripod.sum() == (pixels == (0, 128, 0)).all(axis=2).sum()


def test_an_rgb_mask_with_a_colour_voc_does_not_have_is_a_sentence_not_a_silent_box(exports, tmp_path):
    folder = tmp_path / "voc"
    shutil.copytree(exports["cvat-segmentation-mask"], folder)
    mask = folder / "SegmentationObject/studio/camera.png"
    pixels = np.asarray(Image.open(mask).convert("RGB")).copy()
    pixels[:4, :4] = (1, 2, 3)
    Image.fromarray(pixels).save(mask)
    dataset = load_folder(folder)
    assert "is none of VOC's colours" in notes(dataset)["SegmentationObject/studio/camera.png"]
    assert not any(item.name.endswith("camera.jpg") for item in dataset.items)


def test_labelmes_instance_export_without_xml_gives_one_object_per_instance(exports):
    dataset = load_zip(zip_folder(exports["labelme-voc"]))
    assert dataset.format == "voc"
    assert sorted(item.category for item in dataset.items if item.name.endswith("2011_000006.jpg")) == \
        ["chair", "person", "person", "person", "person", "sofa"]
    assert not dataset.skipped  # the Visualization folders' JPEGs are not photos to sweep, nor a reason to say so


def test_labelme_and_datumaro_float_boxes_are_not_widened_by_a_pixel(exports):
    dataset = load_folder(exports["labelme-voc-boxes"])
    first = next(item for item in dataset.items if item.name.endswith("2011_000003.jpg") and item.object == "2")
    # <xmin>365.0</xmin><ymin>83.0</ymin><xmax>500.0</xmax><ymax>333.0</ymax> on a 500x338 photo: 135 x 250 pixels
    assert decode_mask(first.mask, (338, 500)).sum() == 135 * 250


def test_the_object_limit_counts_what_will_be_swept_after_min_area(tmp_path):
    """The guide's own example (docs/sweeps.md: --categories person,dog --min-area 0.01 on val2017's 11,000 persons) is the
    shape of this: many objects, few above the least size."""
    folder = tmp_path / "many"
    (folder / "images").mkdir(parents=True)
    pixels = cv2.resize(decode_image(SAMPLES / "coffee.png"), (200, 150))
    Image.fromarray(pixels).save(folder / "images/coffee.jpg")
    tiny = [{"id": n, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [n % 190, (n // 190) % 140, 2, 2],
             "segmentation": [], "area": 4} for n in range(1, MAX_OBJECTS + 200)]
    large = [{"id": 90_000 + n, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [10 * n, 10, 60, 60],
              "segmentation": [], "area": 3600} for n in range(3)]
    document = {"images": [{"id": 1, "file_name": "coffee.jpg", "width": 200, "height": 150}],
                "categories": [{"id": 1, "name": "cup"}], "annotations": tiny + large}
    (folder / "annotations.json").write_text(json.dumps(document))
    dataset = load_folder(folder, options=ReadOptions(min_area=0.01))
    assert len(dataset.items) == 3
    assert f"{MAX_OBJECTS + 199} objects under --min-area 0.01 of the image left out" in notes(dataset)["annotations.json"]
    with pytest.raises(ICError, match="--min-area"):
        load_folder(folder)


def test_the_command_line_sweeps_a_cvat_export_zip_with_crowds_as_a_slice(exports, tmp_path):
    archive = tmp_path / "cvat.zip"
    archive.write_bytes(zip_folder(exports["cvat-coco"]))
    out = tmp_path / "rows.parquet"
    run = subprocess.run([sys.executable, "-m", "ic", "sweep", str(archive), "--models", "tf_efficientnet_lite0",
                          "--inpainters", "telea", "--out", str(out)], cwd=ROOT, env=cli_env(), capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    assert "4 images, 5 objects (coco), 5 rows" in run.stdout
    assert "Single objects and crowd regions" in run.stdout and "crowd regions" in run.stdout
    rows = read_rows(out)
    assert sorted(row["category"] for row in rows if row["crowd"]) == ["cat", "person"]
    helped = subprocess.run([sys.executable, "-m", "ic", "sweep", "--help"], cwd=ROOT, env=cli_env(),
                            capture_output=True, text=True, timeout=120).stdout
    assert all(word in helped for word in ("CVAT", "LabelImg", "SegmentationObject", "--no-crowds"))


def test_a_ray_sweep_keeps_which_objects_are_crowd_regions(exports, tmp_path):
    ray = pytest.importorskip("ray")
    from ic.sweeps import Engine, Plan, runtime_env, sweep

    dataset = load_folder(exports["cvat-coco"])
    plan = Plan(("tf_efficientnet_lite0",), ("telea",))
    local = sweep(dataset, plan, out=tmp_path / "local.parquet")
    ray.init(num_cpus=2, runtime_env=runtime_env(), include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    try:
        remote = sweep(dataset, plan, out=tmp_path / "ray.parquet", engine=Engine("ray"))
    finally:
        ray.shutdown()
    crowds = lambda result: sorted((row["image"], row["object"]) for row in result.rows if row["crowd"])  # noqa: E731
    assert crowds(remote) == crowds(local) == [("images/train/frame_000000.jpg", "train 1"),
                                               ("images/val/frame_000000.jpg", "val 1")]
    assert [entry for entry in remote.slices if entry["by"] == "crowd"] == \
        [entry for entry in local.slices if entry["by"] == "crowd"]
