"""Makes the exports in this folder that were written by the tools themselves, not copied (SOURCES.md says which).

Not run by the tests: it needs CVAT's Datumaro (github.com/cvat-ai/datumaro, the library CVAT's exports call) and
LabelImg's writer (github.com/HumanSignal/labelImg, libs/pascal_voc_io.py), which the project does not install.
Run it again only to refresh the files, in a separate environment:

    python -m venv /tmp/cvatdm && /tmp/cvatdm/bin/pip install ./datumaro-checkout lxml opencv-python-headless
    /tmp/cvatdm/bin/python tests/exports/make_exports.py --labelimg ./labelImg-checkout

The objects are the bundled samples' (assets/samples/masks, camera_tripod_mask.png), each photo at 160 px on its
long side; Datumaro writes the photos too, and they are removed afterwards (the tests make them again from the
samples at the sizes the annotations give, listed in PHOTOS.json).
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parents[1] / "assets" / "samples"
SIDE = 160
LABELS = ["person", "tripod", "cat", "cup", "rocket"]
PHOTOS: dict[str, list] = {}  # export path -> [sample, width, height]


def photo(sample: str) -> np.ndarray:
    image = cv2.imread(str(SAMPLES / sample), cv2.IMREAD_COLOR)
    scale = SIDE / max(image.shape[:2])
    return cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA)[:, :, ::-1]


def mask(path: str, shape) -> np.ndarray:
    picture = cv2.imread(str(SAMPLES / path), cv2.IMREAD_GRAYSCALE)
    return cv2.resize(picture, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 127


def outline(region: np.ndarray) -> list[float]:
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return max(contours, key=cv2.contourArea).reshape(-1).astype(float).tolist()


def cvat_dataset(with_subfolders: bool):
    """A CVAT project as its exports see it: two subsets (train, val) whose frames are named as CVAT names a
    video's (frame_000000, ...), so a name repeats across subsets; objects drawn as masks (the brush), polygons
    and boxes. With `with_subfolders`, the task's images lie in subfolders (ids like "street/coffee")."""
    from datumaro.components.annotation import AnnotationType, Bbox, LabelCategories, Mask, Polygon
    from datumaro.components.dataset import Dataset
    from datumaro.components.extractor import DatasetItem
    from datumaro.components.media import Image

    plan = [  # subset, id, sample, [(kind, mask path, label)]
        ("train", "frame_000000", "camera.png", [("mask", "masks/camera.png", "person"),
                                                ("polygon", "camera_tripod_mask.png", "tripod")]),
        ("train", "frame_000001", "coffee.png", [("polygon", "masks/coffee.png", "cup")]),
        ("val", "frame_000000", "chelsea.png", [("mask", "masks/chelsea.png", "cat")]),
        ("val", "frame_000001", "astronaut.png", [("box", "masks/astronaut.png", "person")]),
    ]
    if with_subfolders:
        plan = [(subset, f"{'studio' if sample in ('camera.png', 'astronaut.png') else 'kitchen'}/"
                         f"{Path(sample).stem}", sample, objects) for subset, _, sample, objects in plan]
    items = []
    for subset, item_id, sample, objects in plan:
        pixels = photo(sample)
        annotations = []
        for number, (kind, path, label) in enumerate(objects, start=1):
            region = mask(path, pixels.shape[:2])
            attributes = {"occluded": False}
            if kind == "mask":
                annotations.append(Mask(region, label=LABELS.index(label), id=number, attributes=attributes))
            elif kind == "polygon":
                annotations.append(Polygon(outline(region), label=LABELS.index(label), id=number,
                                           attributes=attributes))
            else:
                ys, xs = np.nonzero(region)
                annotations.append(Bbox(float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()),
                                        float(ys.max() + 1 - ys.min()), label=LABELS.index(label), id=number,
                                        attributes=attributes))
        items.append(DatasetItem(id=item_id, subset=subset, media=Image(data=pixels), annotations=annotations))
    return Dataset.from_iterable(items, categories={AnnotationType.label: LabelCategories.from_iterable(LABELS)})


def export(dataset, folder: Path, fmt: str, **options) -> None:
    """As CVAT's exporters call Datumaro (cvat/apps/dataset_manager/formats/coco.py, pascal_voc.py, mask.py)."""
    with tempfile.TemporaryDirectory() as temp:
        dataset.export(temp, fmt, save_images=True, **options)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(temp, folder)
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in (".jpg", ".jpeg"):
            pixels = cv2.imread(str(path))[:, :, ::-1]
            PHOTOS[path.relative_to(HERE).as_posix()] = [which_sample(pixels), pixels.shape[1], pixels.shape[0]]
            path.unlink()


def which_sample(pixels: np.ndarray) -> str:
    """The sample a photo Datumaro wrote was made from: the one it looks most like."""
    def difference(sample: str) -> float:
        made = photo(sample)
        return np.inf if made.shape != pixels.shape else float(np.abs(made.astype(float) - pixels).mean())
    return min(("camera.png", "coffee.png", "chelsea.png", "astronaut.png"), key=difference)


def labelimg(checkout: Path, folder: Path) -> None:
    """LabelImg's save with no save folder set: photo.xml beside photo.jpg (labelImg.py, save_labels), boxes as its
    canvas gives them (LabelFile.convert_points_to_bnd_box: whole pixels, at least 1)."""
    sys.path.insert(0, str(checkout))
    from libs.labelFile import LabelFile
    from libs.pascal_voc_io import PascalVocWriter

    shutil.rmtree(folder, ignore_errors=True)
    (folder / "photos").mkdir(parents=True)
    for sample, objects in (("camera.png", [("masks/camera.png", "person"), ("camera_tripod_mask.png", "tripod")]),
                            ("coffee.png", [("masks/coffee.png", "cup")])):
        pixels = photo(sample)
        image = folder / "photos" / f"{Path(sample).stem}.jpg"
        writer = PascalVocWriter("photos", image.name, pixels.shape, local_img_path=f"/home/ana/data/photos/{image.name}")
        for path, label in objects:
            ys, xs = np.nonzero(mask(path, pixels.shape[:2]))
            points = [(xs.min(), ys.min()), (xs.max() + 1, ys.min()), (xs.max() + 1, ys.max() + 1), (xs.min(), ys.max() + 1)]
            writer.add_bnd_box(*LabelFile.convert_points_to_bnd_box([(float(x), float(y)) for x, y in points]), label, 0)
        writer.save(str(image.with_suffix(".xml")))
        PHOTOS[image.relative_to(HERE).as_posix()] = [sample, pixels.shape[1], pixels.shape[0]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--labelimg", type=Path, required=True, help="a checkout of github.com/HumanSignal/labelImg")
    args = parser.parse_args()
    previous = json.loads((HERE / "PHOTOS.json").read_text()) if (HERE / "PHOTOS.json").exists() else {}
    # COCO keeps subsets apart (images/<subset>/, instances_<subset>.json): names repeat across them, as a
    # project's video tasks' frames do. VOC has one folder for all subsets (a repeated name would overwrite
    # another's file in the export itself), so its exports are of the task whose images lie in subfolders.
    export(cvat_dataset(False), HERE / "cvat-coco", "coco_instances", merge_images=False)
    export(cvat_dataset(True), HERE / "cvat-subfolders-coco", "coco_instances", merge_images=False)
    export(cvat_dataset(True), HERE / "cvat-voc", "voc", label_map="source")
    masks = cvat_dataset(True)  # CVAT's "Segmentation mask" export (cvat/apps/dataset_manager/formats/mask.py)
    for transform in ("polygons_to_masks", "boxes_to_masks", "merge_instance_segments"):
        masks.transform(transform)
    export(masks, HERE / "cvat-segmentation-mask", "voc_segmentation", apply_colormap=True, label_map="source")
    labelimg(args.labelimg, HERE / "labelimg")
    made = {path: entry for path, entry in previous.items() if not path.startswith(("cvat", "labelimg"))}
    made.update(PHOTOS)
    (HERE / "PHOTOS.json").write_text(json.dumps(dict(sorted(made.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
