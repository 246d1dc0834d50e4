"""Benchmark (not a test): sweep throughput, local against Ray, on this machine.

    python scripts/bench_sweep.py [--images 100] [--models A,B,C] [--inpainter telea] [--workers N]
    python scripts/bench_sweep.py --nodes 1,2 [--images 60]

Builds a dataset of `--images` photos from the bundled samples (mirrored, cropped and scaled variants, each
with the bundled object mask treated the same way), then sweeps it with the local engine and with Ray Data on
a local cluster of this machine's cores. Ray's start-up (cluster, actors, model loading, up to its first rows)
is timed apart from its steady throughput. Prints one JSON document.

With `--nodes`, it sweeps instead on Ray clusters built with `ray.cluster_utils.Cluster` (what `--ray-address`
reaches): N nodes of one CPU each, and one node of N CPUs beside them (the same cores without the extra
nodes' own raylet and object store), each through its address, with the local engine as the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from ic.images import decode_image, encode_png  # noqa: E402

SAMPLES = ROOT / "assets" / "samples"


def build(folder: Path, count: int) -> None:
    names = sorted(p.stem for p in (SAMPLES / "masks").glob("*.png"))
    photos = {name: decode_image(next(SAMPLES.glob(f"{name}.*"))) for name in names}
    masks = {name: decode_image(SAMPLES / "masks" / f"{name}.png")[..., 0] for name in names}
    (folder / "masks").mkdir(parents=True)
    for number in range(count):
        name = names[number % len(names)]
        image, mask = photos[name], masks[name]
        variant = number // len(names)
        if variant % 2:
            image, mask = image[:, ::-1], mask[:, ::-1]
        trim = 0.02 * (variant % 5)  # a little cropped: other pixels, the same object
        height, width = mask.shape
        top, left = int(height * trim), int(width * trim)
        image, mask = image[top:height - top, left:width - left], mask[top:height - top, left:width - left]
        side = 256 + 32 * (variant % 8)
        scale = side / max(mask.shape)
        size = (round(mask.shape[1] * scale), round(mask.shape[0] * scale))
        image = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(np.ascontiguousarray(mask), size, interpolation=cv2.INTER_NEAREST)
        (folder / f"{name}-{number:03d}.png").write_bytes(encode_png(image))
        (folder / "masks" / f"{name}-{number:03d}.png").write_bytes(encode_png(mask))


def on_cluster(dataset, plan, nodes: int, cpus: int) -> dict:
    """A sweep through --ray-address on a cluster of `nodes` nodes with `cpus` CPUs each, one actor a CPU."""
    from ray.cluster_utils import Cluster

    from ic import sweeps

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": cpus, "include_dashboard": False})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=cpus)
        cluster.wait_for_nodes()
        result = sweeps.sweep(dataset, plan, engine=sweeps.Engine("ray", cluster.address, nodes * cpus))
    finally:
        cluster.shutdown()
    steady, images = result.timings["steady"], result.timings.get("steady_images", 0)
    return {"nodes": nodes, "cpus_per_node": cpus, "startup_s": round(result.timings["startup"], 2),
            "steady_s": round(steady, 2), "steady_images": images,
            "steady_images_per_s": round(images / steady, 2) if steady > 0 else None,
            "images_per_s_overall": round(len(dataset.items) / result.timings["total"], 2)}


def by_nodes(dataset, plan, counts: list[int], local_rate: float) -> dict:
    runs = [on_cluster(dataset, plan, count, 1) for count in counts]
    runs += [on_cluster(dataset, plan, 1, count) for count in counts if count > 1]
    return {"clusters": runs, "local_images_per_s": local_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--models", default="tf_efficientnet_lite0,tf_efficientnet_lite1,tf_efficientnet_lite2")
    parser.add_argument("--inpainter", default="telea")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--nodes", default=None, help="comma-separated node counts of clusters to compare, e.g. 1,2")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from ic import sweeps
    from ic.classifiers import forget_loaded, get_classifier

    plan = sweeps.Plan(tuple(args.models.split(",")), (args.inpainter,))
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder) / "set", args.images)
        dataset = sweeps.load_folder(Path(folder) / "set")
        assert len(dataset.items) == args.images, dataset.skipped

        forget_loaded()
        start = time.perf_counter()
        for name in plan.models:
            get_classifier(name)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        local = sweeps.sweep(dataset, plan)
        local_s = time.perf_counter() - start
        if args.nodes:
            found = by_nodes(dataset, plan, [int(n) for n in args.nodes.split(",")], round(args.images / local_s, 2))
            print(json.dumps({"images": args.images, "models": list(plan.models), "cores": os.cpu_count(), **found},
                             indent=2))
            return

        remote = sweeps.sweep(dataset, plan, engine=sweeps.Engine("ray", workers=args.workers))
        startup, steady = remote.timings["startup"], remote.timings["steady"]
        steady_images = remote.timings.get("steady_images", 0)
    same = max(abs(a[k] - b[k]) for a, b in zip(sorted(local.rows, key=sweeps.results.row_key),
                                                 sorted(remote.rows, key=sweeps.results.row_key))
               for k in ("top1_before_prob", "top1_after_prob", "drop"))
    result = {
        "images": args.images, "models": list(plan.models), "inpainter": args.inpainter, "cores": os.cpu_count(),
        "local": {"model_loading_s": round(load_s, 2), "sweep_s": round(local_s, 2),
                  "images_per_s": round(args.images / local_s, 2)},
        "ray": {"startup_s": round(startup, 2), "steady_s": round(steady, 2), "total_s": round(remote.timings["total"], 2),
                "steady_images": steady_images,
                "steady_images_per_s": round(steady_images / steady, 2) if steady > 0 else None,
                "images_per_s_overall": round(args.images / remote.timings["total"], 2)},
        "largest_probability_difference": same,
    }
    # above 1: Ray's steady throughput beats this process's; the issue asks that it stay within 1.5x of it
    result["ray_steady_over_local"] = round(result["ray"]["steady_images_per_s"] / result["local"]["images_per_s"], 2) \
        if result["ray"]["steady_images_per_s"] else None
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
