"""Annotation files written to hurt (#35): each is read in a child process, so that a crash of pycocotools' C
code (it died with SIGSEGV on a NaN) fails the test instead of the suite, and must end as a sentence for the
object while every good object is still read."""

import json
import math
import subprocess
import sys

import pytest
from builders import SAMPLE_OBJECTS, build_box_csv, build_coco, build_voc

from conftest import ROOT, cli_env

READ = """
import json, sys
from ic.sweeps import load_folder
dataset = load_folder(sys.argv[1])
print(json.dumps({"items": len(dataset.items), "skipped": [entry["reason"] for entry in dataset.skipped]}))
"""

HOSTILE = {  # segmentation -> what the sentence says
    "nan": ([[0, 0, math.nan, 0, 10, 10]], "not a number"),
    "far": ([[0, 0, 1e8, 0, 1e8, 1e8]], "far outside"),
    "points": ([[1.0, 2.0] * 50_001], "points"),
    "odd": ([[0, 0, 10, 0, 10]], "an x and a y"),
    "text": ([["0", "0", "10", "0", "10", "10"]], "list of numbers"),
    "huge-counts": ({"size": None, "counts": [10**12, 5]}, "do not add up"),
    "short-string": ({"size": None, "counts": "PP"}, "cut short"),
    "bad-string": ({"size": None, "counts": "\x01\x02"}, "character"),
    "few-counts": ({"size": None, "counts": [3, 4]}, "do not add up"),
}


def test_hostile_segmentations_are_sentences_and_the_good_objects_are_still_read(tmp_path):
    folder = tmp_path / "coco"
    build_coco(folder)
    path = folder / "annotations" / "instances.json"
    document = json.loads(path.read_text())
    image = document["images"][0]
    for number, (segmentation, _) in enumerate(HOSTILE.values(), start=1000):
        if isinstance(segmentation, dict):
            segmentation = dict(segmentation, size=[image["height"], image["width"]])
        document["annotations"].append({"id": number, "image_id": image["id"], "category_id": 1, "iscrowd": 0,
                                        "segmentation": segmentation, "area": 100, "bbox": [0, 0, 10, 10]})
    path.write_text(json.dumps(document))  # NaN is written as NaN, which Python's json (and the reader) accept
    done = subprocess.run([sys.executable, "-c", READ, str(folder)], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["items"] == len(SAMPLE_OBJECTS)  # every good object is still read
    said = "\n".join(found["skipped"])
    for name, (_, sentence) in HOSTILE.items():
        assert sentence in said, (name, said)


def test_compressed_rle_strings_read_in_python_agree_with_pycocotools():
    """The check decodes COCO's RLE strings itself: on real masks its counts are pycocotools' own."""
    import numpy as np
    from pycocotools import mask as coco_mask

    from ic.sweeps.formats import _string_counts

    rng = np.random.default_rng(7)
    for height, width in ((37, 53), (480, 640)):
        mask = np.asfortranarray(rng.random((height, width)) < 0.3, dtype=np.uint8)
        rle = coco_mask.encode(mask)
        counts = _string_counts(rle["counts"].decode())
        assert sum(counts) == height * width
        again = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
        assert again["counts"] == rle["counts"]  # the counts read here, encoded by pycocotools, are its string


MEASURE = """
import json, resource, sys
from ic.sweeps import load_folder
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
dataset = load_folder(sys.argv[1])
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"items": len(dataset.items), "grown_mb": grown, "skipped": [e["reason"] for e in dataset.skipped]}))
"""


def test_a_coco_file_padded_with_millions_of_objects_is_read_within_a_small_memory_budget(tmp_path):
    """A valid COCO file with an extra key of 4 million small objects (40 MB, each with a string): json.loads of
    it took about a gigabyte; streamed, only the images, categories and annotations are built. (The samples' RLE
    string holds the letters NaN, which once sent the whole file through a re.sub of a piece per string.)"""
    folder = tmp_path / "coco"
    build_coco(folder)
    path = folder / "annotations" / "instances.json"
    padding = b'{"extra": [' + b'{"k":"v"},' * 4_000_000 + b'{}], '
    path.write_bytes(padding + path.read_bytes().lstrip()[1:])
    done = subprocess.run([sys.executable, "-c", MEASURE, str(folder)], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["items"] == len(SAMPLE_OBJECTS)
    assert found["grown_mb"] < 250, found  # the file itself is 40 MB; its objects are never built


def test_malformed_entries_are_sentences_naming_them(tmp_path):
    """Ids and file names that are lists or objects, a repeated image id, iscrowd written as text, categories
    that are not a list: each entry said, the good objects read."""
    folder = tmp_path / "coco"
    build_coco(folder)
    path = folder / "annotations" / "instances.json"
    document = json.loads(path.read_text())
    first = document["images"][0]
    document["images"] += [{"id": [1, 2], "file_name": "x.jpg"}, {"id": 77, "file_name": {"a": 1}},
                           dict(first, file_name="elsewhere.jpg"), {"id": 78, "file_name": "y.jpg", "width": 1e9}]
    document["annotations"] += [dict(document["annotations"][0], id=900, iscrowd="0"),
                                dict(document["annotations"][0], id=901, image_id={"x": 1}),
                                dict(document["annotations"][0], id=902, iscrowd="maybe")]
    document["categories"] = 7
    path.write_text(json.dumps(document))
    done = subprocess.run([sys.executable, "-c", READ, str(folder)], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    said = "\n".join(found["skipped"])
    assert found["items"] == len(SAMPLE_OBJECTS) + 1  # iscrowd "0" is no crowd: annotation 900 is an object too
    for sentence in ("it has no id", "its file_name is not a file name", "was given to", "not sizes in pixels",
                     "is not a plain number", "categories are not a list"):
        assert sentence in said, (sentence, said)


@pytest.mark.parametrize(("width", "height", "sentence"), [("0", "0", "no image's size"), ("inf", "inf", "no image's size"),
                                                          ("1e9", "1e9", "no image's size"),
                                                          ("abc", "12", "not a width and height"),
                                                          ("100", "900", "another shape")])
def test_a_voc_size_that_is_no_image_size_is_a_sentence(tmp_path, width, height, sentence):
    folder = build_voc(tmp_path / "voc", with_instances=())
    xml = folder / "Annotations" / "coffee.xml"
    text = xml.read_text()
    start, end = text.index("<size>"), text.index("</size>") + len("</size>")
    xml.write_text(text[:start] + f"<size><width>{width}</width><height>{height}</height></size>" + text[end:])
    done = subprocess.run([sys.executable, "-c", READ, str(folder)], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert sentence in "\n".join(found["skipped"])
    assert found["items"] == len(SAMPLE_OBJECTS) - 1  # the coffee's cup alone is left out, said


def test_a_box_csv_over_the_object_limit_is_refused_as_its_rows_are_read(tmp_path):
    """100,000 rows: refused when row 5,001 is read, not after every row was turned into an object (5,001 rows
    took 13 s before, 100,000 ran for over 10 minutes)."""
    folder = build_box_csv(tmp_path / "boxes")
    rows = "".join(f"camera.png,person,{i % 50},{i % 40},{i % 50 + 60},{i % 40 + 80}\n" for i in range(100_000))
    (folder / "boxes.csv").write_text("image,label,x0,y0,x1,y1\n" + rows)
    done = subprocess.run([sys.executable, "-m", "ic", "sweep", str(folder), "--models", "tf_efficientnet_lite0",
                           "--inpainters", "telea", "--out", str(tmp_path / "rows.parquet")], cwd=ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "more than 5000 boxes to sweep" in done.stderr + done.stdout
    assert not (tmp_path / "rows.parquet").exists()
